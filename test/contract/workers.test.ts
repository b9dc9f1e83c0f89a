// docs/operations.md#lifecycle, workers > 1: a primary supervises the workers, passes on SIGHUP,
// serves one aggregated /metrics, and runs the active health checks once per server.
import { describe, expect, it } from 'vitest'
import { closeAfterEach } from '../helpers/scope.js'
import { writeFileSync } from 'node:fs'
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js'
import { oneUpstream } from '../helpers/config.js'
import { request, sleep } from '../helpers/client.js'
import { scrape, seriesValue, status } from '../helpers/metrics.js'
import { needTool } from '../helpers/tools.js'
import { freePort, promtoolCheckMetrics } from '../helpers/prometheus.js'
import { execFileSync } from 'node:child_process'

const { backend, daemon } = closeAfterEach()
const workerPids = (d: RunningDaemon): number[] => d.logs.filter((l) => l.msg === 'worker ready').map((l) => Number(l.worker_pid))

describe('workers', () => {
  it('serves from two workers with one aggregated /metrics that promtool accepts', async (ctx) => {
    needTool(ctx, 'promtool', 'prometheus')
    const [a, b] = [await backend('a'), await backend('b')]
    const d = await daemon(oneUpstream([a.url, b.url], '', 'workers: 2'))
    expect(new Set(workerPids(d)).size).toBe(2)
    await d.waitForLog(() => d.logs.filter((l) => l.msg === 'listening').length === 2)
    const listening = d.logs.filter((l) => l.msg === 'listening')
    expect(listening).toHaveLength(2)
    expect(new Set(listening.map((l) => l.pid)).size).toBe(2) // each worker listens, on the shared port
    for (let i = 0; i < 10; i++) expect((await request(d.url('/'))).status).toBe(200)

    const text = await scrape(d.adminUrl())
    const total = ['a', 'b'].reduce((n, x) => n + (seriesValue(text, 'switchyard_requests_total', {
      upstream: 'app', server: `127.0.0.1:${(x === 'a' ? a : b).port}`, method: 'GET', code: '200',
    }) ?? 0), 0)
    expect(total).toBe(10) // summed over the workers, each request once
    expect(seriesValue(text, 'switchyard_server_up', { upstream: 'app', server: `127.0.0.1:${a.port}` })).toBe(1) // min, not a sum
    expect(seriesValue(text, 'switchyard_config_reloads_total', { result: 'success' })).toBe(0)
    const check = await promtoolCheckMetrics(text)
    expect(check.code, check.stderr).toBe(0)
    const doc = await status(d.adminUrl())
    expect(doc.upstreams.app!.servers.map((s) => s.state)).toEqual(['healthy', 'healthy'])
  })

  it('runs the active health checks once per server, not once per worker, and shares the result', async () => {
    const probes: number[] = []
    let healthy = true
    const a = await backend('a', (req, res) => {
      if (req.url === '/health') {
        probes.push(Date.now())
        res.writeHead(healthy ? 200 : 500).end()
      } else res.end('a')
    })
    const b = await backend('b')
    const d = await daemon(oneUpstream([a.url, b.url], 'health_check: { interval: 200ms, timeout: 150ms, unhealthy_threshold: 1 }', 'workers: 2'))
    const t0 = probes.length
    await sleep(1100)
    const n = probes.length - t0
    expect(n).toBeGreaterThanOrEqual(4)
    expect(n).toBeLessThanOrEqual(7) // ~5 at one per 200 ms; two workers probing would make ~10

    healthy = false
    await sleep(500)
    // Both workers took a out of rotation: every request lands on b, whichever worker takes it.
    for (let i = 0; i < 8; i++) expect((await request(d.url('/'))).body).toBe('b')
    expect((await status(d.adminUrl())).upstreams.app!.servers[0]!.state).toBe('unhealthy')
    const text = await scrape(d.adminUrl())
    expect(seriesValue(text, 'switchyard_server_up', { upstream: 'app', server: `127.0.0.1:${a.port}` })).toBe(0)
    expect(seriesValue(text, 'switchyard_health_checks_total', { upstream: 'app', server: `127.0.0.1:${a.port}`, result: 'failure' })).toBeGreaterThanOrEqual(1)
  })

  it('an admin purge reaches every worker\'s memory cache', async () => {
    let hits = 0
    const a = await backend('a', (_req, res) => {
      hits++
      res.writeHead(200, { 'cache-control': 'public, max-age=60' })
      res.end('page')
    })
    const d = await daemon(oneUpstream([a.url], '', 'workers: 2\ncaches: { pages: {} }\nroutes: [{ upstream: app, cache: pages }]'))
    // New connections go to the workers in turn; each worker's memory store misses once.
    const results = async (): Promise<string[]> => {
      const out: string[] = []
      for (let i = 0; i < 8; i++) out.push(String((await request(d.url('/page'))).headers['x-cache']))
      return out
    }
    expect((await results()).filter((r) => r === 'MISS')).toHaveLength(2)
    expect(hits).toBe(2)
    const url = encodeURIComponent(`http://127.0.0.1:${d.port()}/page`)
    expect((await request(d.adminUrl(`/cache/purge?url=${url}`), { method: 'POST' })).status).toBe(200)
    // Had one worker kept its copy, only one of them would miss now.
    expect((await results()).filter((r) => r === 'MISS')).toHaveLength(2)
    expect(hits).toBe(4)
  })

  it('passes SIGHUP on to every worker', async () => {
    const [a, b] = [await backend('a'), await backend('b')]
    const d = await daemon(oneUpstream([a.url], '', 'workers: 2'))
    writeFileSync(d.file, oneUpstream([b.url], '', 'workers: 2'))
    d.proc.kill('SIGHUP')
    await d.waitForLog((l) => l.msg === 'config reloaded')
    await sleep(200)
    for (let i = 0; i < 8; i++) expect((await request(d.url('/'))).body).toBe('b') // new connections reach both workers
    expect(seriesValue(await scrape(d.adminUrl()), 'switchyard_config_reloads_total', { result: 'success' })).toBe(1)
  })

  it('restarts a worker that dies, with a log line', async () => {
    const a = await backend('a')
    const d = await daemon(oneUpstream([a.url], '', 'workers: 2'))
    const [victim] = workerPids(d)
    process.kill(victim!, 'SIGKILL')
    const died = await d.waitForLog((l) => l.msg === 'worker died: restarting it')
    expect(died).toMatchObject({ worker_pid: victim, signal: 'SIGKILL' })
    await d.waitForLog((l) => l.msg === 'worker ready' && l.worker === died.worker && l.worker_pid !== victim)
    for (let i = 0; i < 6; i++) expect((await request(d.url('/'))).body).toBe('a')
  })

  it('SIGTERM drains every worker, then the primary exits 0', async () => {
    const slow = await backend('slow', (_req, res) => { setTimeout(() => res.end('done'), 500) })
    const d = await startDaemon(oneUpstream([slow.url], '', 'workers: 2'))
    const inFlight = request(d.url('/'))
    await sleep(150)
    d.proc.kill('SIGTERM')
    await sleep(50)
    expect((await request(d.adminUrl('/readyz'))).status).toBe(503)
    expect((await inFlight).body).toBe('done')
    expect(await d.exited).toBe(0)
  })
  it('reuse_port: each worker binds the port itself, and the kernel spreads connections over both', async () => {
    const a = await backend('a')
    const port = await freePort()
    const listenerPids = (): number[] => [...execFileSync('ss', ['-Hltnp', `sport = :${port}`], { encoding: 'utf8' }).matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]))
    const d = await daemon(`
workers: 2
listeners: [{address: 127.0.0.1, port: ${port}, reuse_port: true}]
admin: {port: 0}
log: {level: info, access_log: true}
upstreams: {app: {servers: [{url: "${a.url}"}]}}
`)
    await d.waitForLog(() => d.logs.filter((l) => l.msg === 'listening').length === 2)
    expect(new Set(listenerPids())).toEqual(new Set(workerPids(d))) // two sockets, one per worker; none in the primary
    for (let i = 0; i < 40; i++) expect((await request(d.url(`/r${i}`))).status).toBe(200) // a new connection each
    await d.waitForLog(() => d.logs.filter((l) => l.msg === 'request').length === 40)
    expect(new Set(d.logs.filter((l) => l.msg === 'request').map((l) => l.pid)).size).toBe(2)
    // What the primary read of net.ipv4.tcp_migrate_req (core/reuse-port.ts): a warning unless 1.
    const note = d.logs.find((l) => l.sysctl === 'net.ipv4.tcp_migrate_req')
    expect(note?.listeners).toEqual(['listener-0'])
    expect(note?.level).toBe(note?.value === '1' ? 'info' : 'warn')
  })

  it('without reuse_port the primary holds the one listening socket', async () => {
    const a = await backend('a')
    const port = await freePort()
    const d = await daemon(`
workers: 2
listeners: [{address: 127.0.0.1, port: ${port}}]
admin: {port: 0}
upstreams: {app: {servers: [{url: "${a.url}"}]}}
`)
    await d.waitForLog(() => d.logs.filter((l) => l.msg === 'listening').length === 2)
    const pids = [...execFileSync('ss', ['-Hltnp', `sport = :${port}`], { encoding: 'utf8' }).matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]))
    expect(new Set(pids).size).toBe(1)
    expect(workerPids(d)).not.toContain(pids[0])
  })
})
