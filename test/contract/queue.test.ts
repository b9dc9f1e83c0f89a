// Per-server concurrency caps and the queue (issue #16 item 3) through the real daemon: a
// backend that holds every request until the test lets it go, and counts how many it holds
// at once. What an operator relies on: a server never gets more than its max_requests; the
// request beyond waits and goes to the first server that frees up; a full queue or a
// queue.timeout answers 503 with Retry-After (and counts the timeout); a client that leaves
// while queued leaves the queue and never reaches a server; a buffered response frees its
// server's slot for the queue before its slow client has read it. Waiting is on events (a
// request arriving, a response) or bounded polling of /metrics, never a fixed sleep.
import { describe, expect, it } from 'vitest'
import http from 'node:http'
import net from 'node:net'
import { closeAfterEach } from '../helpers/scope.js'
import type { Backend } from '../helpers/backends.js'
import { request, sleep, type Reply } from '../helpers/client.js'
import { scrape, seriesValue } from '../helpers/metrics.js'
import type { RunningDaemon, LogLine } from '../helpers/daemon.js'

const scope = closeAfterEach()

interface Held {
  readonly backend: Backend
  /** Requests in progress now, and the most ever at once. */
  readonly active: () => number
  readonly max: () => number
  /** Paths received, in order. */
  readonly paths: string[]
  /** Resolves once `n` requests have arrived in all. */
  arrived(n: number): Promise<void>
  /** Answers the oldest held request (200 `done <path>`), or a given path. */
  release(path?: string): void
}

/** A backend that holds every request until release(); `body` bytes per answer (default a short text). */
async function heldBackend(name: string, bodyBytes = 0): Promise<Held> {
  const held: { path: string; res: http.ServerResponse }[] = []
  const paths: string[] = []
  const waiters: { n: number; resolve: () => void }[] = []
  let active = 0
  let max = 0
  const backend = await scope.backend(name, (req, res) => {
    active++
    max = Math.max(max, active)
    res.once('close', () => active--)
    paths.push(req.url ?? '')
    held.push({ path: req.url ?? '', res })
    for (const w of waiters.splice(0)) if (paths.length >= w.n) w.resolve(); else waiters.push(w)
  })
  return {
    backend,
    active: () => active,
    max: () => max,
    paths,
    arrived: (n) => paths.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve })),
    release(path) {
      const i = path === undefined ? 0 : held.findIndex((h) => h.path === path)
      const h = held.splice(i, 1)[0]
      if (h === undefined) throw new Error(`nothing held${path === undefined ? '' : ` for ${path}`}`)
      const body = bodyBytes > 0 ? Buffer.alloc(bodyBytes, 'x') : Buffer.from(`done ${h.path} on ${name}`)
      h.res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length })
      h.res.end(body)
    },
  }
}

function config(servers: readonly { url: string; max?: number }[], extra = ''): string {
  return `
listeners: [{ name: public, address: 127.0.0.1, port: 0 }]
admin: { port: 0 }
shutdown_timeout: 1s
upstreams:
  app:
    balance: least_connections
    servers: [${servers.map((s) => `{ url: "${s.url}"${s.max === undefined ? '' : `, max_requests: ${s.max}`} }`).join(', ')}]
${extra.split('\n').map((l) => `    ${l}`).join('\n')}
`
}

/** Polls /metrics until the series has `value` (at most 5 s). */
async function metricIs(d: RunningDaemon, name: string, labels: Record<string, string>, value: number): Promise<void> {
  let last: number | undefined
  for (let i = 0; i < 250; i++) {
    last = seriesValue(await scrape(d.adminUrl()), name, labels)
    if (last === value) return
    await sleep(20)
  }
  throw new Error(`${name} ${JSON.stringify(labels)} stayed ${last}, expected ${value}`)
}

const queued = (d: RunningDaemon, n: number): Promise<void> => metricIs(d, 'switchyard_queue_length', { upstream: 'app' }, n)
const accessLine = (d: RunningDaemon, path: string): Promise<LogLine> => d.waitForLog((l) => l.msg === 'request' && l.path === path)

describe('max_requests and the queue', () => {
  it('a server with max_requests 1 never sees 2 requests at once; the queued ones are served in order as it frees up', async () => {
    const a = await heldBackend('a')
    const d = await scope.daemon(config([{ url: a.backend.url, max: 1 }], 'queue: { size: 10, timeout: 10s }'))
    const first = request(d.url('/1'))
    await a.arrived(1)
    const second = request(d.url('/2'))
    const third = request(d.url('/3'))
    await queued(d, 2)
    expect(a.active()).toBe(1)
    a.release()
    await a.arrived(2)
    expect((await first).body).toBe('done /1 on a')
    a.release()
    await a.arrived(3)
    expect((await second).body).toBe('done /2 on a')
    a.release()
    expect((await third).body).toBe('done /3 on a')
    expect(a.paths).toEqual(['/1', '/2', '/3'])
    expect(a.max()).toBe(1)
    await queued(d, 0)
  })

  it('with two capped servers, the queued request goes to the first one that frees up', async () => {
    const a = await heldBackend('a')
    const b = await heldBackend('b')
    const d = await scope.daemon(config([{ url: a.backend.url, max: 1 }, { url: b.backend.url, max: 1 }], 'queue: { size: 10, timeout: 10s }'))
    const one = request(d.url('/one'))
    const two = request(d.url('/two'))
    await Promise.all([a.arrived(1), b.arrived(1)])
    const waiting = request(d.url('/waiting'))
    await queued(d, 1)
    b.release() // b frees up first
    await b.arrived(2)
    expect(b.paths[1]).toBe('/waiting')
    expect(a.paths).toHaveLength(1)
    b.release()
    a.release()
    expect((await waiting).body).toBe('done /waiting on b')
    await Promise.all([one, two])
    expect(a.max()).toBe(1)
    expect(b.max()).toBe(1)
  })

  it('queue full: 503 at once, with Retry-After and SY_QUEUE_FULL in the access log', async () => {
    const a = await heldBackend('a')
    const d = await scope.daemon(config([{ url: a.backend.url, max: 1 }], 'queue: { size: 1, timeout: 10s }'))
    const first = request(d.url('/1'))
    await a.arrived(1)
    const second = request(d.url('/2'))
    await queued(d, 1)
    const refused = await request(d.url('/3'))
    expect(refused.status).toBe(503)
    expect(refused.headers['retry-after']).toBe('1')
    expect(refused.headers['x-request-id']).toMatch(/\S/)
    expect(await accessLine(d, '/3')).toMatchObject({ status: 503, error: 'SY_QUEUE_FULL', server: '' })
    a.release()
    await a.arrived(2)
    a.release()
    expect((await first).status).toBe(200)
    expect((await second).status).toBe(200)
    expect(a.paths).toEqual(['/1', '/2'])
  })

  it('no queue: every server full answers 503 at once (SY_SERVERS_FULL)', async () => {
    const a = await heldBackend('a')
    const d = await scope.daemon(config([{ url: a.backend.url, max: 1 }]))
    const first = request(d.url('/1'))
    await a.arrived(1)
    const refused = await request(d.url('/2'))
    expect(refused.status).toBe(503)
    expect(refused.headers['retry-after']).toBe('1')
    expect(await accessLine(d, '/2')).toMatchObject({ status: 503, error: 'SY_SERVERS_FULL' })
    a.release()
    expect((await first).status).toBe(200)
    expect(a.paths).toEqual(['/1'])
  })

  it('queue.timeout: 503 with Retry-After, counted in switchyard_queue_timeouts_total; the backend never sees it', async () => {
    const a = await heldBackend('a')
    const d = await scope.daemon(config([{ url: a.backend.url, max: 1 }], 'queue: { size: 5, timeout: 300ms }'))
    await metricIs(d, 'switchyard_queue_timeouts_total', { upstream: 'app' }, 0)
    const first = request(d.url('/1'))
    await a.arrived(1)
    const t0 = Date.now()
    const late = await request(d.url('/2'))
    expect(late.status).toBe(503)
    expect(late.headers['retry-after']).toBe('1')
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250)
    expect(await accessLine(d, '/2')).toMatchObject({ status: 503, error: 'SY_QUEUE_TIMEOUT' })
    await metricIs(d, 'switchyard_queue_timeouts_total', { upstream: 'app' }, 1)
    await queued(d, 0)
    a.release()
    expect((await first).status).toBe(200)
    expect(a.paths).toEqual(['/1'])
  })

  it('a client that leaves while queued leaves the queue: never dispatched, the next one is', async () => {
    const a = await heldBackend('a')
    const d = await scope.daemon(config([{ url: a.backend.url, max: 1 }], 'queue: { size: 5, timeout: 10s }'))
    const first = request(d.url('/1'))
    await a.arrived(1)
    const gone = http.get(d.url('/gone'), { agent: false })
    gone.on('error', () => {})
    await queued(d, 1)
    gone.destroy()
    await queued(d, 0)
    expect(await accessLine(d, '/gone')).toMatchObject({ status: 499 })
    const next = request(d.url('/next'))
    await queued(d, 1)
    a.release()
    await a.arrived(2)
    a.release()
    expect((await first).status).toBe(200)
    expect((await next).body).toBe('done /next on a')
    expect(a.paths).toEqual(['/1', '/next'])
  })

  it('buffering.response: a slow client\'s response frees the server\'s slot for the queue once the server is done', async () => {
    const a = await heldBackend('a', 8 * 1024 * 1024)
    const d = await scope.daemon(config([{ url: a.backend.url, max: 1 }], 'queue: { size: 5, timeout: 10s }\nbuffering: { response: true, memory: 64k }'))
    // A client that sends its request and reads nothing.
    const slow = net.connect(d.port(), '127.0.0.1')
    scope.defer({ close: async () => { slow.destroy() } })
    slow.pause()
    slow.write('GET /big HTTP/1.1\r\nHost: x\r\n\r\n')
    await a.arrived(1)
    const next = request(d.url('/next'))
    await queued(d, 1)
    a.release() // 8 MiB: far more than the sockets hold; the rest is spooled
    await a.arrived(2)
    expect(a.paths).toEqual(['/big', '/next'])
    a.release()
    const r: Reply = await next
    expect(r.status).toBe(200)
    expect(r.body.length).toBe(8 * 1024 * 1024)
    expect(a.max()).toBe(1)
    expect(slow.readableLength + slow.bytesRead).toBeLessThan(8 * 1024 * 1024) // the slow client still has not got it all
  })
})
