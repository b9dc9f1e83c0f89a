// docs/operations.md#admin-port: GET /metrics on the admin port passes `promtool check metrics`, and a
// real Prometheus server scraping it sees the required metrics with exactly the required
// labels. Needs Debian's `prometheus` package (promtool + prometheus): skipped with the
// reason on a machine without it, a failure in CI (.ci/run installs it).
import { describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { RunningDaemon } from '../helpers/daemon.js'
import { closeAfterEach } from '../helpers/scope.js'
import { oneUpstream } from '../helpers/config.js'
import { request } from '../helpers/client.js'
import { needTool } from '../helpers/tools.js'
import {
  parseExposition, promtoolCheckMetrics, startPrometheus, sumSamples,
  type ExpositionSample, type PromSample, type RunningPrometheus,
} from '../helpers/prometheus.js'

const { backend, daemon, defer } = closeAfterEach()
async function prometheus(d: RunningDaemon): Promise<RunningPrometheus> {
  const p = await startPrometheus({ targetPort: d.adminPort() })
  defer({ close: () => p.stop() })
  return p
}

const REQUIRED: [name: string, type: string][] = [
  ['switchyard_requests_total', 'counter'],
  ['switchyard_request_duration_seconds', 'histogram'],
  ['switchyard_server_up', 'gauge'],
  ['switchyard_server_active_requests', 'gauge'],
  ['switchyard_health_checks_total', 'counter'],
  ['switchyard_upstream_errors_total', 'counter'],
  ['switchyard_retries_total', 'counter'],
  ['switchyard_config_reloads_total', 'counter'],
  ['switchyard_websocket_connections', 'gauge'],
]

async function scrape(d: RunningDaemon): Promise<{ text: string; samples: ExpositionSample[] }> {
  const r = await request(d.adminUrl('/metrics'))
  expect(r.status, `GET /metrics answered ${r.status}: ${r.body.slice(0, 200)}`).toBe(200)
  expect(r.headers['content-type']).toMatch(/^text\/plain/)
  return { text: r.body, samples: parseExposition(r.body) }
}

/** Scrapes until `ok(samples)` holds (the counters are bumped as each response ends), bounded. */
async function scrapeUntil(d: RunningDaemon, ok: (s: ExpositionSample[]) => boolean, timeoutMs = 5000): Promise<{ text: string; samples: ExpositionSample[] }> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const s = await scrape(d)
    if (ok(s.samples) || Date.now() > until) return s
    await new Promise((r) => setTimeout(r, 100))
  }
}

const total = (r: PromSample[]): number => r.reduce((n, s) => n + s.value, 0)

describe('GET /metrics', () => {
  it('passes `promtool check metrics` after traffic, with the required metrics and labels', async (ctx) => {
    needTool(ctx, 'promtool', 'prometheus')
    const a = await backend('a')
    const d = await daemon(oneUpstream([a.url], '', 'routes:\n  - { match: { path_prefix: /app }, upstream: app }'))
    const server = `127.0.0.1:${a.port}`

    for (let i = 0; i < 3; i++) expect((await request(d.url(`/app/${i}`))).status).toBe(200)
    expect((await request(d.url('/nowhere'))).status).toBe(404)
    expect((await request(d.url('/app/purge'), { method: 'PURGE' })).status).toBe(200)

    const { text, samples } = await scrapeUntil(d, (s) => sumSamples(s, 'switchyard_requests_total') >= 5)

    const check = await promtoolCheckMetrics(text)
    expect({ code: check.code, complaints: (check.stdout + check.stderr).trim() }).toEqual({ code: 0, complaints: '' })

    for (const [name, type] of REQUIRED) expect(text, `# TYPE ${name} ${type}`).toContain(`# TYPE ${name} ${type}\n`)
    // The contract's labels, exactly.
    const labelSets = new Set(samples.filter((s) => s.name === 'switchyard_requests_total').map((s) => Object.keys(s.labels).sort().join(',')))
    expect([...labelSets]).toEqual(['code,method,server,upstream'])

    const requests = (m: Record<string, string>): number => sumSamples(samples, 'switchyard_requests_total', m)
    expect(requests({ upstream: 'app', server, method: 'GET', code: '200' })).toBe(3)
    expect(requests({ upstream: '', server: '', method: 'GET', code: '404' })).toBe(1)
    expect(requests({ upstream: 'app', server, method: 'OTHER', code: '200' })).toBe(1)
    expect(samples.filter((s) => s.labels.method === 'PURGE')).toEqual([])
    expect(sumSamples(samples, 'switchyard_request_duration_seconds_count', { upstream: 'app', server })).toBe(4)
    expect(sumSamples(samples, 'switchyard_server_up', { upstream: 'app', server })).toBe(1)
  }, 30_000)
})

describe('GET /metrics with a cache and a static route', () => {
  it('passes `promtool check metrics` with the cache series and the static route\'s requests', async (ctx) => {
    needTool(ctx, 'promtool', 'prometheus')
    const root = mkdtempSync(join(tmpdir(), 'switchyard-prom-static-'))
    defer({ close: async () => rmSync(root, { recursive: true, force: true }) })
    writeFileSync(join(root, 'a.txt'), 'static\n')
    const a = await backend('a', (_req, res) => {
      res.writeHead(200, { 'cache-control': 'public, max-age=60', 'content-type': 'text/plain' })
      res.end('cached\n')
    })
    const d = await daemon(oneUpstream([a.url], '', `caches:\n  pages: {}\nroutes:\n  - { match: { path_prefix: /static }, static: { root: ${root} } }\n  - { upstream: app, cache: pages }`))
    expect((await request(d.url('/page'))).headers['x-cache']).toBe('MISS')
    expect((await request(d.url('/page'))).headers['x-cache']).toBe('HIT')
    expect((await request(d.url('/static/a.txt'))).body).toBe('static\n')

    const { text, samples } = await scrapeUntil(d, (s) => sumSamples(s, 'switchyard_cache_requests_total') >= 2 && sumSamples(s, 'switchyard_requests_total', { upstream: 'static' }) >= 1)
    const check = await promtoolCheckMetrics(text)
    expect({ code: check.code, complaints: (check.stdout + check.stderr).trim() }).toEqual({ code: 0, complaints: '' })
    for (const [name, type] of [['switchyard_cache_requests_total', 'counter'], ['switchyard_cache_size_bytes', 'gauge'], ['switchyard_cache_entries', 'gauge']]) {
      expect(text, `# TYPE ${name} ${type}`).toContain(`# TYPE ${name} ${type}\n`)
    }
    expect(sumSamples(samples, 'switchyard_cache_requests_total', { upstream: 'app', result: 'hit' })).toBe(1)
    expect(sumSamples(samples, 'switchyard_cache_requests_total', { upstream: 'app', result: 'miss' })).toBe(1)
    expect(sumSamples(samples, 'switchyard_cache_entries', { cache: 'pages' })).toBe(1)
    expect(sumSamples(samples, 'switchyard_requests_total', { upstream: 'static', server: root, code: '200' })).toBe(1)
  })
})

describe('a real Prometheus server scraping the admin port', () => {
  it('sees exactly the requests sent, server_up for every server, and PURGE as method="OTHER"', async (ctx) => {
    needTool(ctx, 'prometheus', 'prometheus')
    const a = await backend('a')
    const b = await backend('b')
    const d = await daemon(oneUpstream([a.url, b.url]))
    const servers = [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`].sort()
    const p = await prometheus(d)
    await p.waitForTargetUp(15_000)

    for (let i = 0; i < 5; i++) expect((await request(d.url(`/r${i}`))).status).toBe(200)

    const got = await p.waitFor('sum(switchyard_requests_total{upstream="app",code="200",method="GET"})', (r) => total(r) >= 5, 15_000)
    expect(total(got)).toBe(5)
    // Counted against the server that answered, labelled host:port.
    const byServer = await p.query('sum by (server) (switchyard_requests_total{upstream="app",code="200",method="GET"})')
    expect(Object.fromEntries(byServer.map((s) => [s.metric.server, s.value])))
      .toEqual(Object.fromEntries([a, b].filter((x) => x.seen.length > 0).map((x) => [`127.0.0.1:${x.port}`, x.seen.length])))
    expect(total(await p.query('sum(switchyard_request_duration_seconds_count{upstream="app"})'))).toBe(5)

    const up = await p.query('switchyard_server_up{upstream="app"}')
    expect(up.map((s) => s.metric.server).sort()).toEqual(servers)
    expect(up.map((s) => s.value)).toEqual([1, 1])

    expect((await request(d.url('/purge-me'), { method: 'PURGE' })).status).toBe(200)
    const other = await p.waitFor('sum(switchyard_requests_total{method="OTHER"})', (r) => total(r) >= 1, 15_000)
    expect(total(other)).toBe(1)
    expect(await p.query('switchyard_requests_total{method="PURGE"}')).toEqual([])
    expect(total(await p.query('sum(switchyard_requests_total{upstream="app",code="200",method="GET"})'))).toBe(5)
  }, 60_000)
})
