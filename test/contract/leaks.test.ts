// No leaks: 10,000 HTTP requests aborted by the client mid-response, 10,000 WebSocket
// connects dropped without a close frame, and a 5,000-request burst at a dead upstream
// leave the daemon's open file descriptors at their baseline and its memory flat.
// Memory: the daemon runs with a 64 MiB old-space limit, so V8 must collect as it goes; a
// leak of these thousands of exchanges would exhaust it and crash the daemon. And its JS
// heap plus Buffer (external) memory, from its own /metrics, must not grow from the first
// half of a phase to the second. RSS is not the measure: measured, it climbs to a plateau
// (~250 MiB) while heap and external memory stay flat: the allocator keeps freed pages.
import { describe, expect, it } from 'vitest'
import http from 'node:http'
import { readdirSync, readFileSync } from 'node:fs'
import { WebSocket, WebSocketServer } from 'ws'
import type { AddressInfo } from 'node:net'
import { closeAfterEach } from '../helpers/scope.js'
import { refusedPort } from '../helpers/backends.js'
import { sleep } from '../helpers/client.js'
import { scrape, seriesValue } from '../helpers/metrics.js'
import type { RunningDaemon } from '../helpers/daemon.js'

const { backend, daemon: startDaemon, defer } = closeAfterEach()
const daemon = (yaml: string) => startDaemon(yaml, { NODE_OPTIONS: '--max-old-space-size=64' })
const CONCURRENCY = 100

const fds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length
const rssMiB = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024

/** The daemon's JS heap used plus Buffer memory, MiB, from its own /metrics. */
async function liveMiB(d: RunningDaemon): Promise<number> {
  await sleep(500)
  const text = await scrape(d.adminUrl())
  return ((seriesValue(text, 'nodejs_heap_size_used_bytes', {}) ?? NaN) + (seriesValue(text, 'nodejs_external_memory_bytes', {}) ?? NaN)) / 2 ** 20
}

/** Runs `task` n times, CONCURRENCY at a time. */
async function times(n: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < n) await task(next++)
  }))
}

/** Waits (bounded) for the daemon's FD count to come back to `baseline` (+ a few for timers/pools). */
async function fdsSettle(pid: number, baseline: number): Promise<number> {
  let n = fds(pid)
  for (let i = 0; i < 100 && n > baseline + 4; i++) {
    await sleep(100)
    n = fds(pid)
  }
  return n
}

/** Reads the first chunk of the response, then destroys the connection. */
function abortMidResponse(port: number): Promise<void> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/stream', agent: false }, (res) => {
      res.once('data', () => { req.destroy(); resolve() })
      res.on('error', () => {})
    })
    req.on('error', () => resolve())
  })
}

function getStatus(port: number): Promise<number> {
  return new Promise((resolve) => {
    http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)) })
      .on('error', () => resolve(0))
  })
}

describe('no leaks', () => {
  it('10,000 requests aborted by the client mid-response', async () => {
    const b = await backend('stream', (req, res) => {
      // A big first chunk, then more every 10 ms until the proxy lets go of us.
      res.writeHead(200, { 'content-type': 'application/octet-stream' })
      res.write(Buffer.alloc(64 * 1024, 1))
      const t = setInterval(() => res.write(Buffer.alloc(16 * 1024, 2)), 10)
      res.on('close', () => clearInterval(t))
    })
    const d = await daemon(`
listeners: [{ address: 127.0.0.1, port: 0 }]
admin: { port: 0 }
log: { access_log: false }
upstreams: { app: { servers: [{ url: ${b.url} }] } }
`)
    const pid = d.proc.pid!
    await times(200, () => abortMidResponse(d.port())) // warm up: JIT, pools
    const baseline = await fdsSettle(pid, fds(pid))
    await times(5_000, () => abortMidResponse(d.port()))
    expect(await fdsSettle(pid, baseline)).toBeLessThanOrEqual(baseline + 4)
    const half = await liveMiB(d)
    await times(5_000, () => abortMidResponse(d.port()))
    expect(await fdsSettle(pid, baseline)).toBeLessThanOrEqual(baseline + 4)
    const end = await liveMiB(d)
    console.log(`aborted requests: heap+external ${half.toFixed(1)} -> ${end.toFixed(1)} MiB; rss ${rssMiB(pid).toFixed(0)} MiB`)
    expect(end - half).toBeLessThan(16)
    // Every upstream request was cancelled: the backend holds no open response.
    await sleep(200)
    const open = await new Promise<number>((r) => b.server.getConnections((_e, n) => r(n ?? 0)))
    expect(open).toBeLessThanOrEqual(128) // at most the pool's idle keep-alive connections
    expect(d.proc.exitCode).toBeNull()
  }, 120_000)

  it('10,000 WebSocket connects dropped without a close frame', async () => {
    const server = http.createServer()
    const wss = new WebSocketServer({ server })
    let serverSide = 0
    wss.on('connection', (ws) => { serverSide++; ws.on('close', () => { serverSide-- }); ws.on('error', () => {}) })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    defer({ close: () => new Promise<void>((r) => { wss.close(); server.closeAllConnections(); server.close(() => r()) }) })
    const d = await daemon(`
listeners: [{ address: 127.0.0.1, port: 0 }]
admin: { port: 0 }
log: { access_log: false }
upstreams: { app: { servers: [{ url: "http://127.0.0.1:${(server.address() as AddressInfo).port}" }] } }
`)
    const pid = d.proc.pid!
    const drop = (): Promise<void> => new Promise((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${d.port()}/`)
      ws.once('open', () => { ws.terminate(); resolve() }) // TCP close, no close frame
      ws.once('error', () => resolve())
    })
    await times(200, drop)
    const baseline = await fdsSettle(pid, fds(pid))
    await times(5_000, drop)
    expect(await fdsSettle(pid, baseline)).toBeLessThanOrEqual(baseline + 4)
    const half = await liveMiB(d)
    await times(5_000, drop)
    expect(await fdsSettle(pid, baseline)).toBeLessThanOrEqual(baseline + 4)
    const end = await liveMiB(d)
    console.log(`dropped WebSockets: heap+external ${half.toFixed(1)} -> ${end.toFixed(1)} MiB; rss ${rssMiB(pid).toFixed(0)} MiB`)
    expect(end - half).toBeLessThan(16)
    for (let i = 0; i < 50 && serverSide > 0; i++) await sleep(100)
    expect(serverSide).toBe(0) // every server side was closed too
    const text = await (await fetch(d.adminUrl('/metrics'))).text()
    expect(text).toMatch(/^switchyard_websocket_connections\{upstream="app"\} 0$/m)
  }, 120_000)

  it('a burst of 5,000 requests at a dead upstream: 502s, no crash, no leak', async () => {
    const d = await daemon(`
listeners: [{ address: 127.0.0.1, port: 0 }]
admin: { port: 0 }
log: { access_log: false }
upstreams: { app: { servers: [{ url: "http://127.0.0.1:${await refusedPort()}" }] } }
`)
    const pid = d.proc.pid!
    await times(100, () => getStatus(d.port()))
    const baseline = await fdsSettle(pid, fds(pid))
    const statuses = new Map<number, number>()
    await times(5_000, async () => {
      const s = await getStatus(d.port())
      statuses.set(s, (statuses.get(s) ?? 0) + 1)
    })
    // 502 while the server is tried; 503 once passive health has ejected it.
    expect([...statuses.keys()].every((s) => s === 502 || s === 503)).toBe(true)
    expect([...statuses.values()].reduce((a, b) => a + b)).toBe(5_000)
    expect(await fdsSettle(pid, baseline)).toBeLessThanOrEqual(baseline + 4)
    expect(d.proc.exitCode).toBeNull()
  }, 120_000)
})
