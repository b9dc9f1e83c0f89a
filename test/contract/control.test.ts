// The process controller (shell/process/control.ts with signals.ts, single.ts, primary.ts,
// worker.ts) from outside: the real daemon as a child process, real signals, in both modes
// (workers: 1 and workers: 2). What it must keep: a SIGHUP or SIGTERM sent during startup is
// acted on, never Node's default action; /readyz answers 200 only once every public port
// accepts; SIGHUPs that pile up fold into one more reload; a second stop signal exits at
// once and leaves no worker behind; the primary holds no Redis connection.
// The daemons are spawned without waiting for 'ready' (helpers/spawned-daemon.ts) and
// SIGKILLed, workers included, after each test.
import { once } from 'node:events'
import { readFileSync, writeFileSync } from 'node:fs'
import type { ChildProcess } from 'node:child_process'
import { afterEach, describe, expect, it } from 'vitest'
import { closeAfterEach } from '../helpers/scope.js'
import { writeConfig } from '../helpers/daemon.js'
import { request, sleep } from '../helpers/client.js'
import { scrape, seriesValue } from '../helpers/metrics.js'
import { freePort } from '../helpers/prometheus.js'
import { needTool } from '../helpers/tools.js'
import { processRuns, spawnDaemon, type SpawnedDaemon } from '../helpers/spawned-daemon.js'
import { tcpConnectionsTo } from '../helpers/proc-net.js'
import { startRedis, stopRedis } from '../helpers/redis-server.js'

const scope = closeAfterEach()

function spawned(file: string): SpawnedDaemon {
  const d = spawnDaemon(file)
  scope.defer(d)
  return d
}

/** One upstream `app` over `servers`; listeners on `ports` (0: any). */
function config(workers: number, servers: string[], extra = '', ports: number[] = [0]): string {
  return `
workers: ${workers}
listeners:
${ports.map((p, i) => `  - { name: l${i}, address: 127.0.0.1, port: ${p} }`).join('\n')}
admin: { address: 127.0.0.1, port: 0 }
upstreams:
  app: { servers: [${servers.map((u) => `{ url: "${u}" }`).join(', ')}] }
${extra}
`
}

/** Polls `check` every `everyMs` until it is true; throws after `timeoutMs`. */
async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5_000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`timed out (${timeoutMs} ms) waiting for ${what}`)
    await sleep(everyMs)
  }
}

/** `<status> <body>` of a GET, or the error's message. */
const get = (url: string): Promise<string> => request(url).then((r) => `${r.status} ${r.body}`, (e: Error) => e.message)

/** The daemon is ready and at least one listener line is out (with workers, they may follow 'ready'). */
async function ready(d: SpawnedDaemon): Promise<{ admin: string; url: string }> {
  await d.waitForLog((l) => l.msg === 'ready')
  await d.waitForLog((l) => l.msg === 'listening')
  return { admin: `http://127.0.0.1:${await d.adminPort()}`, url: `http://127.0.0.1:${d.listenerPorts()[0]}/` }
}

const successfulReloads = async (admin: string): Promise<number> =>
  seriesValue(await scrape(admin), 'switchyard_config_reloads_total', { result: 'success' }) ?? Number.NaN

/**
 * Resolves once `pid` catches SIGHUP (bit 1 of SigCgt in /proc/<pid>/status): the first
 * moment JavaScript can hold it. Before that, Node is still starting (~30 ms on an idle
 * machine) and the kernel's default action applies to any program.
 */
async function catchesSighup(pid: number): Promise<void> {
  const deadline = Date.now() + 10_000
  for (let i = 0; i < 20_000 && Date.now() < deadline; i++) {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const caught = /^SigCgt:\s*([0-9a-f]+)$/m.exec(status)?.[1]
    if (caught !== undefined && (BigInt(`0x${caught}`) & 1n) === 1n) return
    await new Promise((r) => setImmediate(r))
  }
  throw new Error(`pid ${pid} never caught SIGHUP`)
}

describe.each([1, 2])('process control, workers: %i', (workers) => {
  it.each(['as soon as it is caught', 150, 500])('a SIGHUP %s (ms after spawn) is kept: the daemon starts, then serves the new file', async (when) => {
    const [a, b] = [await scope.backend('A'), await scope.backend('B')]
    const file = writeConfig(config(workers, [a.url]))
    const d = spawned(file)
    if (typeof when === 'number') await sleep(when)
    else await catchesSighup(d.pid)
    writeFileSync(file, config(workers, [b.url]))
    const sentAt = Date.now()
    d.proc.kill('SIGHUP')

    const { admin, url } = await ready(d)
    // Caught from the first module on, long before the listeners are bound: the signal was
    // sent before the daemon was ready (pino's `time` is the same clock's epoch ms).
    if (typeof when !== 'number') expect(Number(d.logs.find((l) => l.msg === 'ready')!.time)).toBeGreaterThan(sentAt)
    await until('the public port to answer B', async () => (await get(url)) === '200 B')
    expect(await successfulReloads(admin)).toBeGreaterThanOrEqual(1)
    expect(d.logs.some((l) => l.msg?.startsWith('reload refused') === true)).toBe(false)
    expect(await d.stop('SIGTERM')).toEqual({ code: 0, signal: null })
  })

  it('/readyz answers 503 "starting" until every public port accepts, then 200 (3 startups)', async () => {
    const a = await scope.backend('A')
    for (let round = 0; round < 3; round++) {
      const ports = [await freePort(), await freePort()]
      while (ports[1] === ports[0]) ports[1] = await freePort()
      const d = spawned(writeConfig(config(workers, [a.url], '', ports)))
      const readyz = `http://127.0.0.1:${await d.adminPort()}/readyz`
      const before = new Set<string>()
      let became = false
      for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
        const r = await request(readyz)
        if (r.status === 200) {
          became = true
          break
        }
        before.add(`${r.status} ${r.body}`)
        await sleep(5)
      }
      expect(became, `round ${round}: /readyz never answered 200; it answered ${[...before].join(', ')}`).toBe(true)
      // At once: the first 200 must mean both public ports serve.
      const answers = await Promise.all(ports.map((p) => get(`http://127.0.0.1:${p}/`)))
      expect(answers, `round ${round}: the public ports as /readyz first said 200`).toEqual(['200 A', '200 A'])
      expect([...before].filter((x) => x !== '503 starting\n'), `round ${round}: /readyz before ready`).toEqual([])
      expect(await d.stop('SIGTERM')).toEqual({ code: 0, signal: null })
    }
  })

  it('five SIGHUPs at once: one reload, at most one folded extra', async () => {
    const [a, b] = [await scope.backend('A'), await scope.backend('B')]
    const file = writeConfig(config(workers, [a.url]))
    const d = spawned(file)
    const { admin, url } = await ready(d)
    expect(await get(url)).toBe('200 A')
    const before = await successfulReloads(admin)

    writeFileSync(file, config(workers, [b.url]))
    for (let i = 0; i < 5; i++) d.proc.kill('SIGHUP')

    // Settled: above the count before, and unchanged for 500 ms.
    let last = before
    let since = Date.now()
    await until('the reload count to settle', async () => {
      const now = await successfulReloads(admin)
      if (now !== last) {
        last = now
        since = Date.now()
      }
      return now > before && Date.now() - since >= 500
    }, 10_000, 50)
    expect(last - before).toBeGreaterThanOrEqual(1)
    expect(last - before).toBeLessThanOrEqual(2)
    await until('the public port to answer B', async () => (await get(url)) === '200 B', 2_000)
    for (let i = 0; i < 4; i++) expect(await get(url)).toBe('200 B') // every worker has it
    expect(d.logs.filter((l) => l.msg?.startsWith('reload refused') === true)).toEqual([])
    expect(await d.stop('SIGTERM')).toEqual({ code: 0, signal: null })
  })

  it('a second SIGTERM during the drain exits at once, non-zero, and leaves no worker', async () => {
    const stuck = await scope.backend('stuck', () => { /* never answers */ })
    const d = spawned(writeConfig(config(workers, [stuck.url], 'shutdown_timeout: 30s')))
    const { admin, url } = await ready(d)
    const pids = d.workerPids()
    expect(pids).toHaveLength(workers === 1 ? 0 : workers)

    const arrived = once(stuck.server, 'request')
    const pending = request(url).then((r) => `${r.status}`, (e: Error) => e.message)
    await arrived
    d.proc.kill('SIGTERM')
    await d.waitForLog((l) => l.msg === 'shutting down: draining in-flight requests')
    const readyz = await request(`${admin}/readyz`)
    expect(`${readyz.status} ${readyz.body}`).toBe('503 draining\n')
    await Promise.race([d.exited, sleep(300)])
    expect(d.alive(), 'the drain waits for the held request').toBe(true)

    const t0 = Date.now()
    d.proc.kill('SIGTERM')
    const exit = await Promise.race([d.exited, sleep(2_000).then(() => null)])
    expect(exit, `still running 2 s after the second SIGTERM; logs: ${JSON.stringify(d.logs.slice(-5))}`).not.toBeNull()
    expect(Date.now() - t0).toBeLessThan(2_000)
    expect(exit!.code === 0 && exit!.signal === null, `exit ${JSON.stringify(exit)}`).toBe(false)
    await until(`no worker left (pids ${pids.join(', ')})`, () => pids.every((p) => !processRuns(p)), 3_000)
    expect(await pending).toMatch(/socket hang up|ECONNRESET|^5\d\d$/)
  })

  it('a SIGTERM at once after spawn: the process ends within 10 s, without a crash', async () => {
    const a = await scope.backend('A')
    const d = spawned(writeConfig(config(workers, [a.url])))
    d.proc.kill('SIGTERM')
    const exit = await Promise.race([d.exited, sleep(10_000).then(() => null)])
    expect(exit, 'still running 10 s after SIGTERM').not.toBeNull()
    expect(d.stderr.join('\n')).not.toMatch(/^\s+at |fatal|Error/m)
    // Either the daemon stopped itself (exit 0, 'stopped'), or the signal came before Node
    // had run a line of it (its default action; nothing was started, nothing logged).
    const stoppedCleanly = exit!.code === 0 && d.logs.some((l) => l.msg === 'stopped')
    const beforeAnyCode = exit!.signal === 'SIGTERM' && d.logs.length === 0
    expect(stoppedCleanly || beforeAnyCode, `exit ${JSON.stringify(exit)}; logs ${JSON.stringify(d.logs)}`).toBe(true)
  })

  it('a SIGTERM after the "starting" line: stops once started, exit 0, "stopped", no worker left', async () => {
    const a = await scope.backend('A')
    const d = spawned(writeConfig(config(workers, [a.url])))
    await d.waitForLog((l) => l.msg === 'starting')
    d.proc.kill('SIGTERM')
    const exit = await Promise.race([d.exited, sleep(10_000).then(() => null)])
    expect(exit, 'still running 10 s after SIGTERM').toEqual({ code: 0, signal: null })
    expect(d.logs.some((l) => l.msg === 'stopped'), JSON.stringify(d.logs)).toBe(true)
    expect(d.stderr).toEqual([])
    const pids = d.workerPids()
    await until(`no worker left (pids ${pids.join(', ')})`, () => pids.every((p) => !processRuns(p)), 3_000)
  })
})

describe('workers: 2 with a Redis cache', () => {
  const redises: ChildProcess[] = []
  afterEach(async () => {
    for (const r of redises.splice(0)) await stopRedis(r)
  })

  it('the primary holds no Redis connection; a worker does', async (ctx) => {
    needTool(ctx, 'redis-server', 'redis-server')
    const redisPort = await freePort()
    redises.push(await startRedis(redisPort))
    const app = await scope.backend('app', (req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60' })
      res.end(`body of ${req.url}`)
    })
    const d = spawned(writeConfig(config(2, [app.url], `
caches:
  c: { store: redis, redis: { url: "redis://127.0.0.1:${redisPort}" } }
routes: [{ upstream: app, cache: c }]
`)))
    const { url } = await ready(d)
    // New connections go to the workers in turn: each worker serves some of these.
    for (let i = 0; i < 6; i++) expect(await get(`${url}page-${i % 2}`)).toBe(`200 body of /page-${i % 2}`)
    const pids = d.workerPids()
    expect(pids).toHaveLength(2)
    await until('a worker connected to Redis', () => pids.some((p) => tcpConnectionsTo(p, redisPort) > 0))
    expect(tcpConnectionsTo(d.pid, redisPort), 'TCP connections of the primary to Redis').toBe(0)
  })
})
