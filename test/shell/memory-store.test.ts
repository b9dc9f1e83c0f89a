// The memory store in-process: LRU order, the byte and entry bounds (evicting just enough,
// variant by variant), max_entry_size, Vary variants replaced by their values, expiry at
// deleteAt, and the bytes/entries gauges, exact after every kind of change. The responses
// are built by hand: what to store is cache-rules.ts's business, not the store's.
import { describe, expect, it } from 'vitest'
import type { CachedResponse } from '../../src/core/cached-response.js'
import { ENTRY_OVERHEAD, MemoryStore } from '../../src/shell/cache/memory-store.js'

const BIG = 1 << 30
const HOUR = 3_600_000

function response(body: string, vary: CachedResponse['vary'] = [], deleteAt = Date.now() + HOUR, headers: string[] = ['content-type', 'text/plain']): CachedResponse {
  const now = Date.now()
  return {
    status: 200,
    headers,
    body: Buffer.from(body),
    requestTime: now,
    responseTime: now,
    vary,
    policy: { lifetimeMs: 60_000, initialAgeMs: 0, noCache: false, mustRevalidate: false, staleWhileRevalidateMs: 0, staleIfErrorMs: 0, sharedWithAuthorization: false, etag: null, lastModified: null },
    deleteAt,
  }
}

/** The bytes the store counts for `r` under `key`, worked out by hand. */
function size(key: string, r: CachedResponse): number {
  return ENTRY_OVERHEAD + key.length + r.body.length + r.headers.reduce((n, h) => n + h.length, 0)
}

function store(maxSize = BIG, maxEntries = 1_000_000, maxEntrySize = BIG): MemoryStore {
  return new MemoryStore({ maxSize, maxEntries, maxEntrySize })
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe('MemoryStore', () => {
  it('get answers synchronously with the stored array itself, the same one each time', () => {
    const s = store()
    const r = response('hello')
    expect(s.get('http://a/x')).toBeUndefined()
    s.put('http://a/x', r)
    const got = s.get('http://a/x')
    expect(got).not.toBeInstanceOf(Promise)
    expect(got).toEqual([r])
    expect(got?.[0]).toBe(r)
    expect(s.get('http://a/x')).toBe(got)
    expect(s.get('http://a/x?q=1')).toBeUndefined()
  })

  it('counts body + header text + key + ENTRY_OVERHEAD per entry', () => {
    const s = store()
    const a = response('0123456789', [], undefined, ['content-type', 'text/plain', 'etag', '"v1"'])
    const b = response('', [], undefined, [])
    s.put('http://a/x', a)
    s.put('http://a/y', b)
    expect(s.bytes).toBe(256 + 10 + 10 + (12 + 10 + 4 + 4) + 256 + 10)
    expect(s.bytes).toBe(size('http://a/x', a) + size('http://a/y', b))
    expect(s.entries).toBe(2)
  })

  it('keeps one entry per Vary variant and replaces the variant with the same values (in any order of names)', () => {
    const s = store()
    const key = 'http://a/v'
    const gz = response('gzip body', [['accept-encoding', 'gzip'], ['accept-language', 'en']])
    const br = response('br body', [['accept-encoding', 'br'], ['accept-language', 'en']])
    const none = response('plain', [['accept-encoding', null], ['accept-language', 'en']])
    s.put(key, gz)
    s.put(key, br)
    s.put(key, none)
    expect(s.get(key)).toEqual([gz, br, none])
    expect(s.entries).toBe(3)
    const gz2 = response('gzip body, longer', [['accept-language', 'en'], ['accept-encoding', 'gzip']])
    s.put(key, gz2)
    expect(s.get(key)).toEqual([br, none, gz2])
    expect(s.entries).toBe(3)
    expect(s.bytes).toBe(size(key, br) + size(key, none) + size(key, gz2))
  })

  it('a put does not change an array get returned before', () => {
    const s = store()
    const a = response('a', [['accept', 'x']])
    s.put('http://a/', a)
    const before = s.get('http://a/')
    s.put('http://a/', response('b', [['accept', 'y']]))
    s.put('http://a/', response('a2', [['accept', 'x']]))
    expect(before).toEqual([a])
    expect(s.get('http://a/')).toHaveLength(2)
  })

  it('evicts the least recently used URL when max_entries is crossed, only that one', () => {
    const s = store(BIG, 3)
    for (const k of ['a', 'b', 'c']) s.put(`http://h/${k}`, response(k))
    s.get('http://h/a') // a is now the most recently used: b is the least
    s.put('http://h/d', response('d'))
    expect(['a', 'b', 'c', 'd'].map((k) => s.get(`http://h/${k}`) !== undefined)).toEqual([true, false, true, true])
    expect(s.entries).toBe(3)
  })

  it('gives every read URL a second chance, then evicts the front one: all read, one goes', () => {
    const s = store(BIG, 3)
    for (const k of ['a', 'b', 'c']) s.put(`http://h/${k}`, response(k))
    for (const k of ['a', 'b', 'c']) s.get(`http://h/${k}`)
    s.put('http://h/d', response('d')) // a, b, c passed over (marks cleared): a is at the front again
    expect(['a', 'b', 'c', 'd'].map((k) => s.get(`http://h/${k}`) !== undefined)).toEqual([false, true, true, true])
    s.put('http://h/e', response('e')) // b, c, d were read again just above: b goes after one round
    expect(['b', 'c', 'd', 'e'].map((k) => s.get(`http://h/${k}`) !== undefined)).toEqual([false, true, true, true])
    expect(s.entries).toBe(3)
  })

  it('evicts by bytes just enough: one LRU entry for a same-sized one, two for a larger one', () => {
    const key = (k: string): string => `http://h/${k}`
    const one = size(key('a'), response('x'.repeat(100)))
    const s = store(3 * one)
    for (const k of ['a', 'b', 'c']) s.put(key(k), response('x'.repeat(100)))
    expect(s.bytes).toBe(3 * one)
    s.put(key('d'), response('x'.repeat(100)))
    expect(['a', 'b', 'c', 'd'].map((k) => s.get(key(k)) !== undefined)).toEqual([false, true, true, true])
    expect(s.bytes).toBe(3 * one)
    // b, c, d are there (b least recently used); e needs the room of one and a bit.
    const e = response('x'.repeat(150))
    s.put(key('e'), e)
    expect(['b', 'c', 'd', 'e'].map((k) => s.get(key(k)) !== undefined)).toEqual([false, false, true, true])
    expect(s.entries).toBe(2)
    expect(s.bytes).toBe(one + size(key('e'), e))
  })

  it('evicts the oldest variant of the LRU URL, not all its variants', () => {
    const s = store(BIG, 3)
    const v1 = response('1', [['accept', '1']])
    const v2 = response('2', [['accept', '2']])
    s.put('http://h/old', v1)
    s.put('http://h/old', v2)
    s.put('http://h/new', response('n'))
    s.put('http://h/newer', response('n'))
    expect(s.get('http://h/old')).toEqual([v2])
    expect(s.entries).toBe(3)
  })

  it('when only the URL just written is left, drops its oldest variants and keeps the new one', () => {
    const s = store(BIG, 2)
    const vs = ['1', '2', '3'].map((v) => response(v, [['accept', v]]))
    for (const v of vs) s.put('http://h/', v)
    expect(s.get('http://h/')).toEqual([vs[1], vs[2]])
    expect(s.entries).toBe(2)
  })

  it('does not store an entry over max_entry_size (or over max_size), and evicts nothing for it', () => {
    const key = 'http://h/big'
    const limit = size(key, response('x'.repeat(1000)))
    const s = store(BIG, 100, limit)
    s.put('http://h/small', response('s'))
    s.put(key, response('x'.repeat(1001)))
    expect(s.get(key)).toBeUndefined()
    s.put(key, response('x'.repeat(1000)))
    expect(s.get(key)).toHaveLength(1)
    const t = store(limit - 1, 100, BIG)
    t.put('http://h/small', response('s'))
    t.put(key, response('x'.repeat(1000)))
    expect(t.get(key)).toBeUndefined()
    expect(t.get('http://h/small')).toHaveLength(1)
    expect(t.entries).toBe(1)
  })

  it('drops variants past deleteAt when get meets them; does not store one already past it', async () => {
    const s = store()
    const short = response('short', [['accept', 'a']], Date.now() + 30)
    const long = response('long', [['accept', 'b']])
    s.put('http://h/', short)
    s.put('http://h/', long)
    s.put('http://h/only', response('only', [], Date.now() + 30))
    s.put('http://h/past', response('past', [], Date.now() - 1))
    expect(s.entries).toBe(3)
    expect(s.get('http://h/past')).toBeUndefined()
    await sleep(50)
    expect(s.get('http://h/')).toEqual([long])
    expect(s.entries).toBe(2)
    expect(s.get('http://h/only')).toBeUndefined()
    expect(s.entries).toBe(1)
    expect(s.bytes).toBe(size('http://h/', long))
  })

  it('delete drops every variant of one URL; clear drops everything; the gauges follow', async () => {
    const s = store()
    s.put('http://h/a', response('1', [['accept', '1']]))
    s.put('http://h/a', response('2', [['accept', '2']]))
    const b = response('b')
    s.put('http://h/b', b)
    await s.delete('http://h/a')
    await s.delete('http://h/none')
    expect(s.get('http://h/a')).toBeUndefined()
    expect(s.entries).toBe(1)
    expect(s.bytes).toBe(size('http://h/b', b))
    await s.clear()
    expect(s.get('http://h/b')).toBeUndefined()
    expect([s.entries, s.bytes]).toEqual([0, 0])
  })
})
