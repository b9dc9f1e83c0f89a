// Issue #16 items 2, 6, 7 through the real daemon: a server on a Unix socket (proxying, its
// probes over the socket, a missing socket is a 502 and never a crash), probes with the Host
// and headers an app with an allowed-hosts list accepts, and per-route timeouts (an SSE-like
// route idles past the upstream's idle timeout while another route is cut).
import { describe, expect, it } from 'vitest'
import http from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { closeAfterEach } from '../helpers/scope.js'
import { oneUpstream } from '../helpers/config.js'
import { request, until } from '../helpers/client.js'
import { scrape, seriesValue, status } from '../helpers/metrics.js'
import type { RunningDaemon } from '../helpers/daemon.js'

const { backend, daemon, defer } = closeAfterEach()

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-sock-'))
  defer({ close: async () => rmSync(dir, { recursive: true, force: true }) })
  return dir
}

interface SocketBackend {
  readonly server: http.Server
  readonly seen: { url: string; host: string | undefined }[]
  listen(): Promise<void>
  close(): Promise<void>
}

/** A node:http server on a Unix socket: answers `sock <url>`; its /health answers 200. */
function socketBackend(path: string): SocketBackend {
  const seen: SocketBackend['seen'] = []
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', host: req.headers.host })
    res.end(`sock ${req.url}`)
  })
  const b: SocketBackend = {
    server,
    seen,
    listen: () => new Promise<void>((resolve) => server.listen(path, resolve)),
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      if (!server.listening) return resolve()
      server.close(() => resolve()) // removes the socket file
    }),
  }
  defer(b)
  return b
}


const stateOf = async (d: RunningDaemon, url: string): Promise<string | undefined> =>
  (await status(d.adminUrl())).upstreams.app?.servers.find((s) => s.url === url)?.state

describe('Unix-socket servers', () => {
  it('proxies over the socket with the client\'s Host; /status and the server label say unix:/path', async () => {
    const path = join(tempDir(), 'app.sock')
    const b = socketBackend(path)
    await b.listen()
    const d = await daemon(oneUpstream([`unix:${path}`]))
    const r = await request(d.url('/x?y=1'), { headers: { host: 'shop.example.com' } })
    expect(r.status).toBe(200)
    expect(r.body).toBe('sock /x?y=1')
    expect(b.seen.at(-1)).toEqual({ url: '/x?y=1', host: 'shop.example.com' })
    expect((await status(d.adminUrl())).upstreams.app?.servers).toEqual([{
      url: `unix:${path}`, id: `unix:${path}`, weight: 1, config_weight: 1, state: 'healthy', admin_state: 'active', drained: false, active_requests: 0, websockets: 0,
    }])
    const text = await scrape(d.adminUrl())
    expect(seriesValue(text, 'switchyard_requests_total', { upstream: 'app', server: `unix:${path}`, method: 'GET', code: '200' })).toBe(1)
  })

  it('a missing socket is a connect refusal: 502, counted, passive ejection, the daemon keeps serving', async () => {
    const path = join(tempDir(), 'nobody.sock')
    const other = await backend('tcp')
    const d = await daemon(oneUpstream([`unix:${path}`, other.url], 'retries: 0\npassive_health: { consecutive_failures: 1, eject_duration: 1m }'))
    const codes = [(await request(d.url('/'))).status, (await request(d.url('/'))).status]
    expect(codes.sort()).toEqual([200, 502]) // round robin: one to each; the socket's is refused
    const text = await scrape(d.adminUrl())
    expect(seriesValue(text, 'switchyard_upstream_errors_total', { upstream: 'app', server: `unix:${path}`, reason: 'connect_refused' })).toBe(1)
    expect(await stateOf(d, `unix:${path}`)).toBe('ejected')
    for (let i = 0; i < 3; i++) expect((await request(d.url('/'))).body).toBe('tcp')
    expect(d.proc.exitCode).toBeNull()
  })

  it('probes go over the socket: the server goes down when its socket is closed, and up when it listens again', async () => {
    const path = join(tempDir(), 'app.sock')
    const b = socketBackend(path)
    await b.listen()
    const d = await daemon(oneUpstream([`unix:${path}`], 'health_check: { interval: 100ms, timeout: 500ms, healthy_threshold: 1, unhealthy_threshold: 1 }'))
    await until('a probe over the socket', () => b.seen.filter((s) => s.url === '/health'), (s) => s.length > 0)
    expect(b.seen.find((s) => s.url === '/health')?.host).toBe('localhost') // a socket has no host:port
    await b.close()
    await until('unhealthy', () => stateOf(d, `unix:${path}`), (s) => s === 'unhealthy')
    expect((await request(d.url('/'))).status).toBe(503)
    await b.listen()
    await until('healthy again', () => stateOf(d, `unix:${path}`), (s) => s === 'healthy')
    expect((await request(d.url('/'))).body).toBe('sock /')
    const down = await d.waitForLog((l) => l.msg === 'server state changed' && l.to === 'unhealthy')
    expect(down.reason).toMatch(/connect refused/) // ENOENT: no socket file
  })
})

describe('health_check.host and headers', () => {
  /** An app with an allowed-hosts list (Django ALLOWED_HOSTS): 400 unless Host is app.local. */
  const allowedHosts = (): ReturnType<typeof backend> => backend('django', (req, res) => {
    if (req.headers.host !== 'app.local') res.writeHead(400).end('DisallowedHost')
    else res.end(`ok ${req.headers['x-probe'] ?? ''}`)
  })
  const hc = 'interval: 100ms, timeout: 500ms, healthy_threshold: 1, unhealthy_threshold: 1'

  it('with host: app.local and headers, the probes are accepted and the server stays up', async () => {
    const b = await allowedHosts()
    const d = await daemon(oneUpstream([b.url], `health_check: { ${hc}, host: app.local, headers: { X-Probe: "1" } }`))
    await until('three probes', () => b.seen.filter((s) => s.url === '/health').length, (n) => n >= 3)
    const probe = b.seen.find((s) => s.url === '/health')!
    const headers = Object.fromEntries(probe.rawHeaders.flatMap((v, i, all) => (i % 2 === 0 ? [[v.toLowerCase(), all[i + 1]]] : [])))
    expect(headers).toMatchObject({ host: 'app.local', 'x-probe': '1', 'user-agent': 'switchyard-health-check' })
    expect(await stateOf(d, b.url)).toBe('healthy')
    expect(d.logs.filter((l) => l.msg === 'server state changed')).toEqual([])
    expect((await request(d.url('/'), { headers: { host: 'app.local' } })).body).toBe('ok ')
  })

  it('without host, the probes send host:port, the app answers 400, the server goes down', async () => {
    const b = await allowedHosts()
    const d = await daemon(oneUpstream([b.url], `health_check: { ${hc} }`))
    await until('unhealthy', () => stateOf(d, b.url), (s) => s === 'unhealthy')
    expect(b.seen.find((s) => s.url === '/health')?.rawHeaders).toContain(`127.0.0.1:${b.port}`)
    expect((await d.waitForLog((l) => l.msg === 'server state changed')).reason).toMatch(/status 400/)
  })
})

describe('routes[].timeouts', () => {
  it('an SSE-like route idles past the upstream\'s idle timeout; the route without an override is cut', async () => {
    // Each response: a head, an event, a 1.2 s pause, the last event. (undici checks its
    // response timeouts on a ~0.5 s tick: a 300 ms timeout fires within a second.)
    const b = await backend('sse', (req, res) => {
      if (req.url === '/events/slow-head' || req.url === '/api/slow-head') {
        setTimeout(() => res.end('late head'), 1200)
        return
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write('data: 1\n\n')
      const t = setTimeout(() => res.end('data: 2\n\n'), 1200)
      res.once('close', () => clearTimeout(t))
    })
    const d = await daemon(`${oneUpstream([b.url], 'retries: 0\ntimeouts: { response_headers: 300ms, idle: 300ms }')}
routes:
  - name: events
    match: { path_prefix: /events }
    upstream: app
    timeouts: { response_headers: 5s, idle: 1h }
  - upstream: app
`)
    const [events, api, lateEvents, lateApi] = await Promise.all([
      request(d.url('/events/stream')),
      request(d.url('/api/stream')).then(() => 'complete', (err: NodeJS.ErrnoException) => err.code),
      request(d.url('/events/slow-head')),
      request(d.url('/api/slow-head')),
    ])
    expect(events.body).toBe('data: 1\n\ndata: 2\n\n')
    expect(api).toBe('ECONNRESET') // the head was out: the body is cut, never made to look complete
    expect([lateEvents.status, lateEvents.body]).toEqual([200, 'late head'])
    expect(lateApi.status).toBe(504)
    // The access log names each request's route.
    const routeOf = (path: string): unknown => d.logs.find((l) => l.kind === 'access' && l.path === path)?.route
    await until('access lines', () => d.logs.filter((l) => l.kind === 'access').length, (n) => n >= 4)
    expect([routeOf('/events/stream'), routeOf('/api/stream'), routeOf('/events/slow-head'), routeOf('/api/slow-head')])
      .toEqual(['events', 'route-1', 'events', 'route-1'])
  })
})
