// docs/configuration.md (health_check, passive_health) through the real daemon: servers
// leave and rejoin the rotation; /status and switchyard_server_up agree at every step.
import { describe, expect, it } from 'vitest'
import { closeAfterEach } from '../helpers/scope.js'
import http from 'node:http'
import { startBackend, type Backend } from '../helpers/backends.js'
import type { RunningDaemon } from '../helpers/daemon.js'
import { oneUpstream } from '../helpers/config.js'
import { request, sleep, until } from '../helpers/client.js'
import { scrape, serverStates, seriesValue } from '../helpers/metrics.js'

const { daemon, defer } = closeAfterEach()

/** A backend whose /health answers `health.status`; other paths answer its name. */
async function checkedBackend(name: string): Promise<Backend & { health: { status: number } }> {
  const health = { status: 200 }
  const b = await startBackend(name, (req, res) => {
    if (req.url === '/health') res.writeHead(health.status).end()
    else res.end(name)
  })
  defer(b)
  return Object.assign(b, { health })
}


const stateChanges = (d: RunningDaemon, server: string) => d.logs.filter((l) => l.msg === 'server state changed' && l.server === server)

describe('active health checks', () => {
  it('a server whose /health turns 500 leaves within interval x unhealthy_threshold + 1 s, and comes back', async () => {
    const a = await checkedBackend('a')
    const b = await checkedBackend('b')
    const d = await daemon(oneUpstream([a.url, b.url], `
health_check: { path: /health, interval: 200ms, timeout: 150ms, healthy_threshold: 2, unhealthy_threshold: 2 }`))
    const A = `127.0.0.1:${a.port}`
    const B = `127.0.0.1:${b.port}`
    expect(await serverStates(d.adminUrl())).toEqual({ [A]: 'healthy', [B]: 'healthy' })

    a.health.status = 500
    const t0 = Date.now()
    await until('a unhealthy', () => serverStates(d.adminUrl()), (s) => s[A] === 'unhealthy', 3000)
    expect(Date.now() - t0).toBeLessThan(2 * 200 * 1.1 + 1000)
    expect((await serverStates(d.adminUrl()))[B]).toBe('healthy')
    const names = []
    for (let i = 0; i < 6; i++) names.push((await request(d.url('/'))).body)
    expect(names).toEqual(['b', 'b', 'b', 'b', 'b', 'b'])

    a.health.status = 200
    await until('a healthy again', () => serverStates(d.adminUrl()), (s) => s[A] === 'healthy', 3000)
    const back = []
    for (let i = 0; i < 4; i++) back.push((await request(d.url('/'))).body)
    expect(back.sort()).toEqual(['a', 'a', 'b', 'b'])

    // Each change logged exactly once, with its reason (log lines are flushed every 250 ms).
    await d.waitForLog((l) => l.msg === 'server state changed' && l.server === A && l.to === 'healthy')
    await sleep(300)
    const changes = stateChanges(d, A)
    expect(changes.map((l) => [l.from, l.to])).toEqual([['healthy', 'unhealthy'], ['unhealthy', 'healthy']])
    expect(changes[0]!.reason).toBe('2 consecutive probe failures: status 500')
    expect(changes[1]!.reason).toBe('2 consecutive probe successes')
    expect(stateChanges(d, B)).toEqual([])
    const text = await scrape(d.adminUrl())
    expect(seriesValue(text, 'switchyard_health_checks_total', { upstream: 'app', server: A, result: 'failure' })).toBeGreaterThanOrEqual(2)
    expect(seriesValue(text, 'switchyard_health_checks_total', { upstream: 'app', server: B, result: 'success' })).toBeGreaterThanOrEqual(2)
  })

  it('one failed probe does not take a server out (hysteresis)', async () => {
    const a = await checkedBackend('a')
    let flaky = 0
    a.server.removeAllListeners('request')
    a.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      if (req.url === '/health') res.writeHead(++flaky % 2 === 0 ? 500 : 200).end() // fail every other probe
      else res.end('a')
    })
    const d = await daemon(oneUpstream([a.url], 'health_check: { interval: 100ms, timeout: 80ms, unhealthy_threshold: 2 }'))
    await until('several probes', async () => flaky, (n) => n >= 8, 3000)
    await sleep(300) // log lines are flushed every 250 ms
    expect(stateChanges(d, `127.0.0.1:${a.port}`)).toEqual([])
  })

  it('no server left: 503 with Retry-After and the request id', async () => {
    const a = await checkedBackend('a')
    a.health.status = 503
    const d = await daemon(oneUpstream([a.url], 'health_check: { interval: 100ms, timeout: 80ms, unhealthy_threshold: 1 }'))
    await until('a unhealthy', () => serverStates(d.adminUrl()), (s) => s[`127.0.0.1:${a.port}`] === 'unhealthy', 3000)
    const r = await request(d.url('/x'))
    expect(r.status).toBe(503)
    expect(r.headers['retry-after']).toBe('1')
    expect(r.headers['x-request-id']).toMatch(/\S/)
    expect(r.body).toBe('no healthy server\n')
    expect(a.seen.filter((s) => s.url === '/x')).toEqual([])
    const text = await scrape(d.adminUrl())
    expect(seriesValue(text, 'switchyard_requests_total', { upstream: 'app', server: '', method: 'GET', code: '503' })).toBe(1)
  })

  it('probes use their own connection, not a slot of the data pool', async () => {
    let releaseHold: () => void = () => {}
    const probesDuringHold: number[] = []
    let holding = false
    const a = await startBackend('a', (req, res) => {
      if (req.url === '/health') {
        if (holding) probesDuringHold.push(Date.now())
        expect(req.headers['user-agent']).toBe('switchyard-health-check')
        res.end('ok')
      } else if (req.url === '/hold') {
        holding = true
        releaseHold = () => { holding = false; res.end('held') }
      } else res.end('a')
    })
    defer(a)
    const d = await daemon(oneUpstream([a.url], `
max_connections_per_server: 1
health_check: { interval: 100ms, timeout: 80ms, unhealthy_threshold: 1 }`))
    const held = request(d.url('/hold'))
    await sleep(800) // the only data connection is busy all this time
    releaseHold()
    expect((await held).body).toBe('held')
    expect(probesDuringHold.length).toBeGreaterThanOrEqual(4)
    await sleep(300) // log lines are flushed every 250 ms
    expect(stateChanges(d, `127.0.0.1:${a.port}`)).toEqual([])
  })

  it('spreads the probes of many servers over the interval (jitter)', async () => {
    const firstProbe = new Map<string, number>()
    const t0 = Date.now()
    const servers: Backend[] = []
    for (let i = 0; i < 10; i++) {
      const b = await startBackend(`s${i}`, (req, res, self) => {
        if (!firstProbe.has(self.name)) firstProbe.set(self.name, Date.now() - t0)
        res.end('ok')
      })
      defer(b)
      servers.push(b)
    }
    await daemon(oneUpstream(servers.map((s) => s.url), 'health_check: { path: /, interval: 1s, timeout: 500ms }'))
    await until('every server probed', async () => firstProbe.size, (n) => n === 10, 5000)
    const times = [...firstProbe.values()]
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThan(200)
  })
})

describe('passive health', () => {
  it('a killed server is ejected after consecutive_failures and readmitted after eject_duration', async () => {
    const a = await checkedBackend('a')
    const b = await checkedBackend('b')
    const port = a.port
    const A = `127.0.0.1:${port}`
    const d = await daemon(oneUpstream([a.url, b.url], 'passive_health: { consecutive_failures: 2, eject_duration: 600ms }'))
    await a.close()

    // Clients never see the dead server: its attempts are retried on b.
    for (let i = 0; i < 6; i++) expect((await request(d.url('/'))).body).toBe('b')
    expect((await serverStates(d.adminUrl()))[A]).toBe('ejected')
    await d.waitForLog((l) => l.msg === 'server state changed' && l.server === A)
    expect(stateChanges(d, A).map((l) => l.reason)).toEqual(['connect refused x2'])
    expect(seriesValue(await scrape(d.adminUrl()), 'switchyard_upstream_errors_total', { upstream: 'app', server: A, reason: 'connect_refused' })).toBe(2)

    // Still dead when the ejection ends: the one trial request fails, the ejection doubles.
    await d.waitForLog((l) => l.msg === 'server health' && l.server === A && /ejection over/.test(String(l.reason)), 3000)
    expect((await request(d.url('/'))).body).toBe('b')
    await request(d.url('/'))
    const again = await d.waitForLog((l) => l.msg === 'server health' && l.server === A && /trial request failed/.test(String(l.reason)), 3000)
    expect(again.reason).toBe('trial request failed: connect refused; ejected for 1.2s')

    // Back on its port: after the (doubled) ejection one trial request succeeds and it rejoins.
    const revived = http.createServer((_req, res) => res.end('a'))
    await new Promise<void>((r) => revived.listen(port, '127.0.0.1', r))
    defer({ close: () => new Promise((r) => { revived.closeAllConnections(); revived.close(r) }) })
    await until('a readmitted', async () => {
      await request(d.url('/'))
      return (await serverStates(d.adminUrl()))[A]
    }, (s) => s === 'healthy', 5000)
    const names = []
    for (let i = 0; i < 4; i++) names.push((await request(d.url('/'))).body)
    expect(names.sort()).toEqual(['a', 'a', 'b', 'b'])
    await d.waitForLog((l) => l.msg === 'server state changed' && l.server === A && l.to === 'healthy')
    await sleep(300)
    expect(stateChanges(d, A).map((l) => [l.from, l.to])).toEqual([['healthy', 'ejected'], ['ejected', 'healthy']])
  })
})
