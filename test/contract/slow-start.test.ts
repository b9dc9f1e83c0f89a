// docs/affinity.md#slow-start through the real daemon: a server that joins (back from an
// active health check failure, back from a passive ejection, or added by a reload) gets
// few requests at first and its full share once `slow_start` is over; at startup there is
// no ramp. The bound on its share is computed from the time that has passed, so a slow
// machine does not make the test flaky.
import { describe, expect, it } from 'vitest'
import { writeFileSync } from 'node:fs'
import { closeAfterEach } from '../helpers/scope.js'
import { oneUpstream } from '../helpers/config.js'
import { request } from '../helpers/client.js'
import type { Backend } from '../helpers/backends.js'
import type { RunningDaemon } from '../helpers/daemon.js'

const { backend, daemon } = closeAfterEach()
const SLOW_START_MS = 4000

/** A backend whose /health answers `health.status` and whose other paths reset the connection while `broken`. */
async function flakyBackend(name: string): Promise<Backend & { health: { status: number; broken: boolean } }> {
  const health = { status: 200, broken: false }
  const b = await backend(name, (req, res) => {
    if (req.url === '/health') res.writeHead(health.status).end()
    else if (health.broken) req.socket.destroy()
    else res.end(name)
  })
  return Object.assign(b, { health })
}

async function count(d: RunningDaemon, n: number): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  for (let i = 0; i < n; i++) {
    const r = await request(d.url('/'))
    expect(r.status).toBe(200)
    out.set(r.body, (out.get(r.body) ?? 0) + 1)
  }
  return out
}

/** The most requests of `n` the joining server may get when at most `elapsedMs` of the ramp have passed (weight 1 next to weight 1). */
function bound(n: number, elapsedMs: number): number {
  const w = Math.min(1, elapsedMs / SLOW_START_MS)
  return Math.ceil((n * w) / (1 + w)) + 2
}

const logged = (d: RunningDaemon, msg: string, server: string) => d.waitForLog((l) => l.msg === msg && l.server === server, SLOW_START_MS + 3000)

describe('slow_start', () => {
  it.each(['round_robin', 'least_connections', 'random_two'])('%s: a server back from failing health checks ramps up, then gets its full share', async (balance) => {
    const a = await flakyBackend('a')
    const b = await flakyBackend('b')
    const d = await daemon(oneUpstream([a.url, b.url], `balance: ${balance}
slow_start: ${SLOW_START_MS}ms
health_check: { path: /health, interval: 100ms, timeout: 100ms, healthy_threshold: 1, unhealthy_threshold: 1 }`))
    const B = `127.0.0.1:${b.port}`
    b.health.status = 500
    await d.waitForLog((l) => l.msg === 'server state changed' && l.server === B && l.to === 'unhealthy')
    expect((await count(d, 4)).get('b')).toBeUndefined()
    const back = Date.now()
    b.health.status = 200
    await logged(d, 'server slow start', B)
    const early = await count(d, 40)
    const elapsed = Date.now() - back
    expect(early.get('b') ?? 0).toBeLessThanOrEqual(bound(40, elapsed)) // without slow start: 20
    await logged(d, 'server slow start done', B)
    const later = await count(d, 40)
    if (balance === 'random_two') expect(later.get('b') ?? 0).toBeGreaterThanOrEqual(10) // random: about 20
    else expect(later.get('b')).toBe(20)
  })

  it('a server back from a passive ejection ramps up after its trial request succeeds', async () => {
    const a = await flakyBackend('a')
    const b = await flakyBackend('b')
    const d = await daemon(oneUpstream([a.url, b.url], `slow_start: ${SLOW_START_MS}ms
passive_health: { consecutive_failures: 1, eject_duration: 200ms }`))
    const B = `127.0.0.1:${b.port}`
    b.health.broken = true
    await count(d, 2) // one of them reaches b: reset, retried on a; b is ejected
    await d.waitForLog((l) => l.msg === 'server state changed' && l.server === B && l.to === 'ejected')
    b.health.broken = false
    const back = Date.now()
    // After the ejection the trial request reaches b; its success starts the ramp.
    for (let i = 0; i < 200 && !d.logs.some((l) => l.msg === 'server slow start' && l.server === B); i++) await count(d, 1)
    await logged(d, 'server slow start', B)
    const early = await count(d, 40)
    expect(early.get('b') ?? 0).toBeLessThanOrEqual(bound(40, Date.now() - back))
  })

  it('a server added by a reload ramps up; at startup nothing ramps', async () => {
    const a = await flakyBackend('a')
    const b = await flakyBackend('b')
    const c = await flakyBackend('c')
    const d = await daemon(oneUpstream([a.url, b.url], `slow_start: ${SLOW_START_MS}ms`))
    expect(await count(d, 4)).toEqual(new Map([['a', 2], ['b', 2]])) // no ramp for the servers of the first config
    expect(d.logs.some((l) => l.msg === 'server slow start')).toBe(false)
    // c joins b in a reload (a leaves, so c's share is against b alone).
    writeFileSync(d.file, oneUpstream([b.url, c.url], `slow_start: ${SLOW_START_MS}ms`))
    const t0 = Date.now()
    d.proc.kill('SIGHUP')
    await d.waitForLog((l) => l.msg === 'config reloaded')
    await logged(d, 'server slow start', `127.0.0.1:${c.port}`)
    const early = await count(d, 40)
    expect(early.get('c') ?? 0).toBeLessThanOrEqual(bound(40, Date.now() - t0))
    expect(early.get('a')).toBeUndefined()
    expect(d.logs.some((l) => l.msg === 'server slow start' && l.server === `127.0.0.1:${b.port}`)).toBe(false) // b was kept: no ramp
  })
})
