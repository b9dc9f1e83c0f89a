// docs/operations.md#admin-port: the admin port and the metrics' labels.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { refusedPort, startBackend, type Backend } from '../helpers/backends.js'
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js'
import { rawExchange, request, sleep } from '../helpers/client.js'
import { scrape, seriesSum, seriesValue, status } from '../helpers/metrics.js'

/** A server in service with nothing in flight, as /status shows it (besides its url). */
const idle = (id: string, weight: number): Record<string, unknown> => ({
  id, weight, config_weight: weight, state: 'healthy', admin_state: 'active', drained: false, active_requests: 0, websockets: 0,
})

describe('admin port and metrics', () => {
  let a: Backend
  let dead: number
  let d: RunningDaemon
  const held: { end(body: string): void }[] = []

  beforeAll(async () => {
    a = await startBackend('a', (req, res) => {
      if (req.url === '/weird') res.writeHead(299).end()
      else if (req.url === '/slow') held.push(res)
      else res.end(`a ${req.url}`)
    })
    dead = await refusedPort()
    d = await startDaemon(`
listeners: [{ address: 127.0.0.1, port: 0 }]
admin: { port: 0 }
upstreams:
  app: { servers: [{ url: ${a.url}, weight: 2 }] }
  broken: { servers: [{ url: "http://127.0.0.1:${dead}" }], retries: 1 }
routes:
  - { match: { path_prefix: / }, upstream: app }
  - { match: { path_prefix: /broken }, upstream: broken }
  - { match: { host: nothing.example, path_prefix: /only }, upstream: app }
`)
  })
  afterAll(async () => {
    await d.stop()
    await a.close()
  })

  it('answers /healthz, /readyz, /status, the page at /, and 404/405 for anything else', async () => {
    expect(await request(d.adminUrl('/healthz'))).toMatchObject({ status: 200, body: 'ok\n' })
    expect(await request(d.adminUrl('/readyz'))).toMatchObject({ status: 200 })
    expect((await request(d.adminUrl('/nope'))).status).toBe(404)
    expect((await request(d.adminUrl('/'))).status).toBe(200) // the status page (status-page.test.ts)
    expect((await request(d.adminUrl('/metrics'), { method: 'POST' })).status).toBe(405)
    expect((await request(d.adminUrl('/metrics'), { method: 'HEAD' })).status).toBe(200)
    const doc = await status(d.adminUrl())
    expect(doc).toEqual({
      upstreams: {
        app: { balance: 'round_robin', servers: [{ url: a.url, ...idle(`127.0.0.1:${a.port}`, 2) }] },
        broken: { balance: 'round_robin', servers: [{ url: `http://127.0.0.1:${dead}`, ...idle(`127.0.0.1:${dead}`, 1) }] },
      },
    })
  })

  it('the admin port listens on 127.0.0.1 only by default', () => {
    expect(d.logs.find((l) => l.msg === 'admin listening')).toMatchObject({ address: '127.0.0.1' })
  })

  it('the data listener never answers admin paths: they go to the upstream', async () => {
    for (const path of ['/metrics', '/healthz', '/readyz', '/status']) {
      expect((await request(d.url(path))).body).toBe(`a ${path}`)
    }
  })

  it('labels are bounded: unknown methods count as OTHER; codes as sent', async () => {
    await request(d.url('/m'), { method: 'PURGE' })
    await request(d.url('/m'), { method: 'DELETE' })
    await request(d.url('/weird'))
    const text = await scrape(d.adminUrl())
    const A = `127.0.0.1:${a.port}`
    expect(seriesValue(text, 'switchyard_requests_total', { upstream: 'app', server: A, method: 'OTHER', code: '200' })).toBe(1)
    expect(seriesValue(text, 'switchyard_requests_total', { upstream: 'app', server: A, method: 'DELETE', code: '200' })).toBe(1)
    expect(seriesValue(text, 'switchyard_requests_total', { upstream: 'app', server: A, method: 'GET', code: '299' })).toBe(1)
    expect(text).not.toMatch(/method="PURGE"/)
  })

  it('a request no route matches counts with upstream="" and server=""', async () => {
    const before = seriesValue(await scrape(d.adminUrl()), 'switchyard_requests_total', { upstream: '', server: '', method: 'GET', code: '404' }) ?? 0
    // Only routes with a host match /only; with another host nothing matches... but "/" catches it.
    // A 404 needs a target no route takes: an absolute-form target is refused (400) before routing.
    const raw = await rawExchange(d.port(), 'GET http://x/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    expect(raw).toMatch(/^HTTP\/1\.1 400/)
    const text = await scrape(d.adminUrl())
    expect(seriesValue(text, 'switchyard_requests_total', { upstream: '', server: '', method: 'GET', code: '400' })).toBe(1)
    expect(seriesValue(text, 'switchyard_requests_total', { upstream: '', server: '', method: 'GET', code: '404' }) ?? 0).toBe(before)
  })

  it('counts upstream errors by reason and retries by upstream', async () => {
    const r = await request(d.url('/broken'))
    expect(r.status).toBe(502)
    const text = await scrape(d.adminUrl())
    const S = `127.0.0.1:${dead}`
    expect(seriesValue(text, 'switchyard_upstream_errors_total', { upstream: 'broken', server: S, reason: 'connect_refused' })).toBe(2)
    expect(seriesValue(text, 'switchyard_upstream_errors_total', { upstream: 'broken', server: S, reason: 'reset' })).toBe(0)
    expect(seriesSum(text, 'switchyard_retries_total', { upstream: 'broken' })).toBe(1)
    expect(seriesSum(text, 'switchyard_retries_total', { upstream: 'app' })).toBe(0)
    expect(seriesValue(text, 'switchyard_requests_total', { upstream: 'broken', server: S, method: 'GET', code: '502' })).toBe(1)
  })

  it('exports the state gauges, the reload series and histogram buckets from 1 ms to 30 s', async () => {
    const text = await scrape(d.adminUrl())
    const A = `127.0.0.1:${a.port}`
    expect(seriesValue(text, 'switchyard_server_up', { upstream: 'app', server: A })).toBe(1)
    expect(seriesValue(text, 'switchyard_server_active_requests', { upstream: 'app', server: A })).toBe(0)
    expect(seriesValue(text, 'switchyard_websocket_connections', { upstream: 'app' })).toBe(0)
    expect(seriesValue(text, 'switchyard_config_reloads_total', { result: 'success' })).toBe(0)
    expect(seriesValue(text, 'switchyard_config_reloads_total', { result: 'failure' })).toBe(0)
    const loaded = seriesValue(text, 'switchyard_config_last_reload_success_timestamp_seconds', {})!
    expect(Math.abs(loaded - Date.now() / 1000)).toBeLessThan(120)
    expect(seriesValue(text, 'switchyard_request_duration_seconds_bucket', { upstream: 'app', server: A, le: '0.001' })).toBeTypeOf('number')
    expect(seriesValue(text, 'switchyard_request_duration_seconds_bucket', { upstream: 'app', server: A, le: '30' })).toBeTypeOf('number')
    expect(text).toMatch(/^process_cpu_seconds_total /m)
    expect(text).toMatch(/^nodejs_heap_size_used_bytes /m)
    expect(text).not.toMatch(/nodejs_active_handles_total/)
  })

  it('switchyard_server_active_requests counts requests in flight', async () => {
    const pending = request(d.url('/slow'))
    await sleep(200)
    const A = `127.0.0.1:${a.port}`
    expect(seriesValue(await scrape(d.adminUrl()), 'switchyard_server_active_requests', { upstream: 'app', server: A })).toBe(1)
    expect((await status(d.adminUrl())).upstreams.app!.servers[0]!.active_requests).toBe(1)
    held.shift()!.end('slow')
    expect((await pending).body).toBe('slow')
    expect(seriesValue(await scrape(d.adminUrl()), 'switchyard_server_active_requests', { upstream: 'app', server: A })).toBe(0)
  })
})

describe('readiness during shutdown', () => {
  it('/readyz turns 503 at once on SIGTERM while in-flight requests finish', async () => {
    const slow = await startBackend('slow', (_req, res) => { setTimeout(() => res.end('done'), 800) })
    const d = await startDaemon(`
listeners: [{ address: 127.0.0.1, port: 0 }]
admin: { port: 0 }
upstreams: { app: { servers: [{ url: ${slow.url} }] } }
`)
    try {
      const inFlight = request(d.url('/'))
      await sleep(150)
      d.proc.kill('SIGTERM')
      await sleep(100)
      expect((await request(d.adminUrl('/readyz'))).status).toBe(503)
      expect((await request(d.adminUrl('/healthz'))).status).toBe(200)
      expect((await inFlight).body).toBe('done')
      expect(await d.exited).toBe(0)
    } finally {
      await slow.close()
    }
  })
})

describe('admin.request_metrics: false', () => {
  it('records no per-request series, keeps the rest', async () => {
    const a = await startBackend('a')
    const d = await startDaemon(`
listeners: [{ address: 127.0.0.1, port: 0 }]
admin: { port: 0, request_metrics: false }
upstreams: { app: { servers: [{ url: ${a.url} }] } }
`)
    try {
      for (let i = 0; i < 3; i++) expect((await request(d.url('/'))).status).toBe(200)
      const text = await scrape(d.adminUrl())
      expect(text).not.toMatch(/^switchyard_requests_total\{/m)
      expect(text).not.toMatch(/^switchyard_request_duration_seconds_count\{/m)
      expect(seriesValue(text, 'switchyard_server_up', { upstream: 'app', server: `127.0.0.1:${a.port}` })).toBe(1)
      await d.waitForLog((l) => l.msg === 'request') // the access log is separate and still on
    } finally {
      await d.stop()
      await a.close()
    }
  })
})

