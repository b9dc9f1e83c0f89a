// The Redis store in-process against a real redis-server (started here on a free port): a
// response makes the round trip whole (a body of every byte value), variants and their
// replacement, the key's expiry at its variants' latest deleteAt (read back with PTTL),
// delete, clear within the key prefix only, max_entry_size, and Redis killed: lookups
// answer undefined, the store goes down and counts errors, writes nothing, and comes back
// up on its own once Redis is restarted on the same port.
// (Redis is restarted at once, before the client's next reconnect attempt could fail and
// flush what it holds: a write wrongly queued while down would land then.)
// A put is not awaited (the store writes after the response went out); the store's next
// command goes on the same connection, so an awaited get after a put sees it.
import type { ChildProcess } from 'node:child_process'
import { Writable } from 'node:stream'
import { Redis } from 'iovalkey'
import { pino } from 'pino'
import { afterAll, describe, expect, it, type TestContext } from 'vitest'
import type { CachedResponse } from '../../src/core/cached-response.js'
import { RedisStore } from '../../src/shell/cache/redis-store.js'
import { freePort } from '../helpers/prometheus.js'
import { startRedis, stopRedis } from '../helpers/redis-server.js'
import { needTool } from '../helpers/tools.js'

const HOUR = 3_600_000

function response(body: Buffer | string, vary: CachedResponse['vary'] = [], deleteAt = Date.now() + HOUR): CachedResponse {
  const now = Date.now()
  return {
    status: 200,
    headers: ['content-type', 'application/octet-stream', 'etag', '"é"'],
    body: Buffer.from(body),
    requestTime: now - 5,
    responseTime: now,
    vary,
    policy: { lifetimeMs: 60_000, initialAgeMs: 1200, noCache: false, mustRevalidate: true, staleWhileRevalidateMs: 0, staleIfErrorMs: 30_000, sharedWithAuthorization: true, etag: '"é"', lastModified: null },
    deleteAt,
  }
}

interface Harness {
  store: RedisStore
  errors: () => number
  logs: { level: number; msg: string }[]
}

const open: { close(): Promise<unknown> }[] = []
afterAll(async () => {
  for (const x of open.splice(0).reverse()) await x.close()
})

let shared: Promise<number> | undefined
/** The port of the redis-server the tests share (started by the first test that asks). */
async function sharedRedis(ctx: TestContext): Promise<number> {
  needTool(ctx, 'redis-server', 'redis-server')
  shared ??= (async () => {
    const port = await freePort()
    const proc = await startRedis(port)
    open.push({ close: () => stopRedis(proc) })
    return port
  })()
  return shared
}

function harness(port: number, keyPrefix: string, maxEntrySize = 1 << 20): Harness {
  const logs: Harness['logs'] = []
  const sink = new Writable({ write: (line: Buffer, _enc, done) => { logs.push(JSON.parse(line.toString()) as Harness['logs'][number]); done() } })
  let errors = 0
  const store = new RedisStore({ url: `redis://127.0.0.1:${port}`, keyPrefix, timeoutMs: 500 }, maxEntrySize, pino({ level: 'info' }, sink), () => { errors++ })
  open.push(store)
  return { store, errors: () => errors, logs }
}

function client(port: number): Redis {
  const c = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0 })
  open.push({ close: () => c.quit() })
  return c
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe('RedisStore', () => {
  it('a response makes the round trip whole: metadata, headers, vary, and a body of all 256 byte values', async (ctx) => {
    const port = await sharedRedis(ctx)
    const { store, errors } = harness(port, 'rt:')
    const body = Buffer.alloc(256 * 4)
    for (let i = 0; i < body.length; i++) body[i] = i % 256
    const r = response(body, [['accept-encoding', 'gzip'], ['cookie', null]])
    expect(await store.get('http://h/x')).toBeUndefined()
    store.put('http://h/x', r)
    const got = await store.get('http://h/x')
    expect(got).toHaveLength(1)
    const [g] = got as readonly CachedResponse[]
    expect(Buffer.isBuffer(g?.body)).toBe(true)
    expect(g?.body.equals(body)).toBe(true)
    expect({ ...g, body: null }).toEqual({ ...r, body: null })
    expect(await client(port).type('rt:http://h/x')).toBe('hash')
    expect(errors()).toBe(0)
    expect(store.up).toBe(true)
  })

  it('keeps one field per variant and replaces the variant with the same vary values', async (ctx) => {
    const port = await sharedRedis(ctx)
    const { store } = harness(port, 'var:')
    const key = 'http://h/v'
    store.put(key, response('gzip', [['accept-encoding', 'gzip'], ['accept-language', 'en']]))
    store.put(key, response('br', [['accept-encoding', 'br'], ['accept-language', 'en']]))
    expect((await store.get(key))?.map((r) => r.body.toString()).sort()).toEqual(['br', 'gzip'])
    store.put(key, response('gzip 2', [['accept-language', 'en'], ['accept-encoding', 'gzip']]))
    expect((await store.get(key))?.map((r) => r.body.toString()).sort()).toEqual(['br', 'gzip 2'])
    expect(await client(port).hlen(`var:${key}`)).toBe(2)
  })

  it('expires the key at the latest deleteAt of its variants (PEXPIREAT) and skips variants past theirs', async (ctx) => {
    const port = await sharedRedis(ctx)
    const { store } = harness(port, 'exp:')
    const c = client(port)
    const key = 'http://h/e'
    const pttl = async (): Promise<number> => { await store.get(key); return c.pttl(`exp:${key}`) }
    store.put(key, response('a', [['accept', 'a']], Date.now() + 60_000))
    expect(await pttl()).toBeGreaterThan(58_000)
    expect(await pttl()).toBeLessThanOrEqual(60_000)
    store.put(key, response('b', [['accept', 'b']], Date.now() + 120_000))
    expect(await pttl()).toBeGreaterThan(118_000)
    store.put(key, response('c', [['accept', 'c']], Date.now() + 30_000))
    expect(await pttl()).toBeGreaterThan(118_000) // never moved earlier: b lives that long
    store.put(key, response('d', [['accept', 'd']], Date.now() + 100))
    store.put('http://h/short', response('s', [], Date.now() + 100))
    store.put('http://h/past', response('p', [], Date.now() - 1)) // not written: PEXPIREAT in the past would delete the key
    expect(await store.get(key)).toHaveLength(4)
    expect(await c.exists('exp:http://h/past')).toBe(0)
    await sleep(200)
    expect((await store.get(key))?.map((r) => r.body.toString()).sort()).toEqual(['a', 'b', 'c'])
    expect(await store.get('http://h/short')).toBeUndefined()
    expect(await c.pttl('exp:http://h/short')).toBe(-2) // Redis dropped it
  })

  it('delete drops every variant of one URL and nothing else', async (ctx) => {
    const port = await sharedRedis(ctx)
    const { store } = harness(port, 'del:')
    store.put('http://h/a', response('1', [['accept', '1']]))
    store.put('http://h/a', response('2', [['accept', '2']]))
    store.put('http://h/b', response('b'))
    await store.delete('http://h/a')
    expect(await store.get('http://h/a')).toBeUndefined()
    expect(await store.get('http://h/b')).toHaveLength(1)
    expect(await client(port).exists('del:http://h/a')).toBe(0)
  })

  it('clear removes every key of its prefix (in batches) and only those', async (ctx) => {
    const port = await sharedRedis(ctx)
    const mine = harness(port, 'clr:')
    const theirs = harness(port, 'clr2:')
    const c = client(port)
    await c.set('other:clr:x', 'kept')
    await c.set('clr', 'kept')
    for (let i = 0; i < 1200; i++) mine.store.put(`http://h/${i}`, response(String(i)))
    theirs.store.put('http://h/0', response('theirs'))
    expect(await mine.store.get('http://h/1199')).toHaveLength(1)
    expect(await theirs.store.get('http://h/0')).toHaveLength(1)
    await mine.store.clear()
    expect(await c.keys('clr:*')).toEqual([])
    expect(await mine.store.get('http://h/0')).toBeUndefined()
    expect(await theirs.store.get('http://h/0')).toHaveLength(1)
    expect(await c.get('other:clr:x')).toBe('kept')
    expect(await c.get('clr')).toBe('kept')
    expect(mine.errors()).toBe(0)
  })

  it('does not write a value over max_entry_size', async (ctx) => {
    const port = await sharedRedis(ctx)
    const { store } = harness(port, 'max:', 1000)
    store.put('http://h/big', response('x'.repeat(1000))) // the body fits, not with its metadata
    store.put('http://h/small', response('x'.repeat(500)))
    expect(await store.get('http://h/small')).toHaveLength(1)
    expect(await store.get('http://h/big')).toBeUndefined()
    expect(await client(port).exists('max:http://h/big')).toBe(0)
  })

  it('Redis killed: get answers undefined, the store goes down and writes nothing; a restarted Redis brings it back up', async (ctx) => {
    needTool(ctx, 'redis-server', 'redis-server')
    const port = await freePort()
    let proc: ChildProcess = await startRedis(port)
    open.push({ close: () => stopRedis(proc) })
    const { store, errors, logs } = harness(port, 'down:')
    store.put('http://h/a', response('a'))
    expect(await store.get('http://h/a')).toHaveLength(1)
    await stopRedis(proc, 'SIGKILL')

    expect(await store.get('http://h/a')).toBeUndefined()
    expect(store.up).toBe(false)
    expect(errors()).toBe(1)
    await store.delete('http://h/a') // a purge is still tried, and its failure counts
    expect(errors()).toBe(2)
    // While down nothing is written, nor queued to be sent once Redis is back (as the
    // client's offline queue would, if Redis returns before its next failed reconnect).
    store.put('http://h/b', response('b'))
    expect(await store.get('http://h/a')).toBeUndefined() // bypassed: not even tried
    expect(errors()).toBe(2)
    proc = await startRedis(port) // empty: no persistence
    const deadline = Date.now() + 10_000
    while (!store.up && Date.now() < deadline) await sleep(50)
    expect(store.up).toBe(true)
    expect(await client(port).exists('down:http://h/b')).toBe(0)
    store.put('http://h/c', response('c'))
    expect(await store.get('http://h/c')).toHaveLength(1)
    const lines = logs.map((l) => l.msg)
    expect(lines.filter((m) => m.startsWith('cache store down'))).toHaveLength(1)
    expect(lines.filter((m) => m.startsWith('cache store up'))).toHaveLength(1)
    expect(logs.find((l) => l.msg.startsWith('cache store down'))?.level).toBe(40) // warn
  })
})
