// `npm run bench`: every scenario in bench/scenarios against the backend directly, switchyard
// (with and without access log + request metrics), nginx and haproxy (when installed), and on
// request node-http-proxy and @fastify/reply-from; interleaved round by round; medians, ratios,
// CPU per request, peak RSS of each target's whole process tree. Markdown tables on stdout,
// progress on stderr, everything in RUN_DIR. Proxies run alone on CPU 1; backends and the load
// generators share CPU 0 (a scenario with `pin: false` unpins everything).
//
// Scenario file format, target list and knobs: bench/README.md. Knobs:
//   DURATION=3 (s per run) REPS=3 WARMUP=1 (s per target) SCENARIOS=<all files, in DEFAULT_ORDER>
//   TARGETS=direct,switchyard,nginx,haproxy,node-hello,pool-dispatch (+ what a scenario adds: node-memory in cache-hit-c50)
//   COMPARE=1 (adds node-http-proxy,reply-from)
//   TLS scenarios (`tls: true`: tls-c50, tls-newconn-c50, h2-c50) compare switchyard and nginx only; h2-c50 needs h2load (nghttp2-client)
//   RATE=5000 (open-loop req/s) IDLE_CONNS=10000 PORT_BASE=9400  RUN_DIR=/tmp/switchyard-bench/<time>
// Needs wrk (apt-get install wrk). Optional: apt-get install nginx haproxy.
import { openSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { performance } from 'node:perf_hooks'
import { stop, waitForPort, cpuSeconds, cpuBusySeconds, rssMiB, hasCommand, assertFree } from './proc.mjs'
import { wrk } from './load/wrk.mjs'
import { h2load } from './load/h2load.mjs'
import { openLoop, wsLoad, holdIdle } from './load/children.mjs'
import { BACKEND_PORTS, FIRST_TARGET_PORT, TARGETS, DEFAULT_TARGETS, COMPARE_KINDS, SCENARIO_ONLY_KINDS, missing, startBackends, startTarget } from './targets.mjs'
import { ensureCompareDeps } from './compare.mjs'
import { render } from './render.mjs'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const env = process.env
const WANT_FDS = 65536

// 10,000 idle connections need that many descriptors in the holder and in each proxy: raise the
// soft limit (the hard one too when root) by re-running under `ulimit -n`, once.
const fdLimit = () => Number(/Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? 1024)
if (fdLimit() < WANT_FDS && !env.BENCH_ULIMIT_TRIED) {
  const r = spawnSync('sh', ['-c', `ulimit -n ${WANT_FDS} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"`, process.execPath, ...process.argv.slice(1)],
    { stdio: 'inherit', env: { ...env, BENCH_ULIMIT_TRIED: '1' } })
  process.exit(r.status ?? 1)
}

const DURATION = Number(env.DURATION ?? 3)
const REPS = Number(env.REPS ?? 3)
const WARMUP = Number(env.WARMUP ?? 1)
const RATE = Number(env.RATE ?? 5000)
const IDLE_CONNS = Math.min(Number(env.IDLE_CONNS ?? 10_000), fdLimit() - 2000)
const DEFAULT_ORDER = ['small-c50', 'small-c256', '64k-c50', 'upload-1m-c16', 'newconn-c50', 'log-cost-c50', 'ws-echo-c50', 'openloop-5k', 'idle-10k', 'multicore']
const files = readdirSync(path.join(HERE, 'scenarios')).map((f) => f.replace(/\.mjs$/, ''))
// Run only when named in SCENARIOS: the default run must stay under 10 minutes.
const OPT_IN = ['semispace-c256']
const SCENARIOS = env.SCENARIOS ? env.SCENARIOS.split(',') : [...DEFAULT_ORDER.filter((s) => files.includes(s)), ...files.filter((f) => !DEFAULT_ORDER.includes(f) && !OPT_IN.includes(f))]
const RUN = env.RUN_DIR ?? `/tmp/switchyard-bench/${new Date().toISOString().replace(/[:.]/g, '-')}`
const PROXY_CPU = 1
const LOAD_CPU = 0
// Unpinned scenarios still go through taskset: children inherit the orchestrator's CPU 0 pin.
const ALL_CPUS = `0-${os.cpus().length - 1}`
// The orchestrator (CPU and RSS sampling, spawning) stays off the proxies' CPU.
if (hasCommand('taskset')) spawnSync('taskset', ['-a', '-p', '-c', String(LOAD_CPU), String(process.pid)], { stdio: 'ignore' })


if (!hasCommand('wrk')) {
  console.error('wrk is needed: apt-get install wrk (nginx and haproxy too, for the reference columns: apt-get install nginx haproxy)')
  process.exit(1)
}
for (const sc of SCENARIOS) if (!files.includes(sc)) { console.error(`unknown scenario ${sc}; in bench/scenarios: ${files.join(', ')}`); process.exit(1) }
const selected = env.TARGETS ? env.TARGETS.split(',') : [...new Set([...DEFAULT_TARGETS, ...(env.COMPARE === '1' ? COMPARE_KINDS : [])])]
for (const t of selected) if (!TARGETS[t]) { console.error(`unknown target ${t}; known: ${Object.keys(TARGETS).join(', ')}`); process.exit(1) }
for (const k of new Set(selected.map((t) => missing(TARGETS[t].kind, TARGETS[t])).filter(Boolean))) console.error(`${k}: that column is left out`)
if (selected.some((t) => COMPARE_KINDS.includes(TARGETS[t].kind))) ensureCompareDeps()

mkdirSync(RUN, { recursive: true })
const log = { fd: openSync(`${RUN}/bench.log`, 'a'), write(d) { writeFileSync(this.fd, d) } }
const children = []
async function cleanup() { while (children.length) await stop(children.pop()) }
process.on('SIGINT', () => { void cleanup().then(() => process.exit(130)) })

/**
 * The scenario's targets: its own list (or the selection) plus what it adds (`addTargets`), minus
 * what is not selected or installed. An added target runs by default; a TARGETS list that names
 * neither it nor its kind leaves it out.
 */
function targetsOf(sc) {
  const specOf = (name) => sc.variants?.[name] ?? TARGETS[name]
  const base = sc.targets ?? selected
  const added = (sc.addTargets ?? []).filter((name) => !base.includes(name))
  return [...base, ...added]
    .map((name) => ({ name, spec: specOf(name) }))
    // A scenario's own entry (a variant, switchyard-bare) runs when its kind is selected.
    .filter(({ name, spec }) => selected.includes(name) || selected.includes(spec.kind) || (!env.TARGETS && added.includes(name)))
    .filter(({ spec }) => !missing(spec.kind, spec) && !(sc.excludeKinds ?? []).includes(spec.kind))
    // node-memory and the like: only where the scenario names them.
    .filter(({ name, spec }) => !SCENARIO_ONLY_KINDS.includes(spec.kind) || sc.targets?.includes(name) || sc.addTargets?.includes(name))
}

/** One measured run of the scenario's load against `port`; returns at least rps, requests, errors. */
async function measureLoad(sc, port, seconds, cpu) {
  switch (sc.load ?? 'wrk') {
    case 'wrk':
      return wrk({ port, path: sc.path, connections: sc.connections, script: sc.script, headers: sc.headers, threads: sc.threads, seconds, cpu, scheme: sc.tls ? 'https' : 'http' })
    case 'h2load':
      return h2load({ port, path: sc.path, connections: sc.connections, streams: sc.streams, seconds, cpu })
    case 'openloop': {
      const r = await openLoop({ port, rate: sc.rate ?? RATE, seconds, connections: sc.connections, path: sc.path, cpu })
      return { ...r, requests: r.completed }
    }
    case 'ws':
      return wsLoad({ port, connections: sc.connections, seconds, size: sc.size ?? 64, cpu })
    default:
      throw new Error(`unknown load ${sc.load}`)
  }
}

/**
 * Measures one target: CPU of its process tree over the run, RSS sampled every 100 ms, and
 * (pinned scenarios) how busy the proxy CPU was with anything but the target.
 */
async function measure(sc, t, seconds, cpu, pin) {
  const pid = t.child?.pid
  const cpu0 = pid ? cpuSeconds(pid) : 0
  const busy0 = cpuBusySeconds(PROXY_CPU)
  const wall0 = performance.now()
  let peak = pid ? rssMiB(pid) : NaN
  const sampler = pid ? setInterval(() => { peak = Math.max(peak, rssMiB(pid)) }, 100) : null
  try {
    const r = sc.load === 'idle' ? await idleRun(sc, t, seconds, cpu) : await measureLoad(sc, t.port, seconds, cpu)
    const own = pid ? cpuSeconds(pid) - cpu0 : 0
    r.cpuUsPerReq = pid && r.requests ? (own * 1e6) / r.requests : NaN
    r.otherCpuPct = pin ? Math.max(0, ((cpuBusySeconds(PROXY_CPU) - busy0 - own) * 1e5) / (performance.now() - wall0)) : NaN
    r.peakMiB = pid ? Math.max(peak, rssMiB(pid)) : NaN
    return r
  } finally {
    if (sampler) clearInterval(sampler)
  }
}

/** Idle scenario: hold IDLE_CONNS idle keep-alive connections, then run normal wrk traffic beside them. */
async function idleRun(sc, t, seconds, cpu) {
  const pid = t.child?.pid
  const rssBefore = pid ? rssMiB(pid) : NaN
  // A target with a connection cap below IDLE_CONNS (haproxy under a low descriptor limit) holds
  // what fits beside wrk's connections; the table prints the count actually held.
  const count = Math.min(IDLE_CONNS, (t.maxClients ?? Infinity) - sc.connections - 50)
  const held = await holdIdle({ port: t.port, count, cpu })
  let r
  try {
    await sleep(1000) // let the target settle: RSS with the connections held, not mid-accept
    const rssHeld = pid ? rssMiB(pid) : NaN
    const w = await wrk({ port: t.port, path: sc.path, connections: sc.connections, seconds, cpu })
    r = { ...w, open: held.open, failed: held.failed, rssBefore, rssHeld }
  } finally {
    const { stillOpen } = await held.release()
    if (r) r.stillOpen = stillOpen
  }
  return r
}

/**
 * A `toggle` scenario measures each (switchyard) target twice per round in the same process:
 * as configured, and reloaded (SIGHUP) with the toggle's fragment merged in, recorded as
 * `<target>-<toggle.name>`; which goes first alternates by round. One process for both sides
 * takes out what differs between two processes (measured: ~1.5% between two identical ones).
 */
async function toggledRound(sc, up, rep, runs, loadCpu, pin) {
  for (let k = 0; k < up.length; k++) {
    const t = up[(k + rep) % up.length]
    // Targets of other kinds (no config to reload) are measured once per round, as usual.
    const sides = !t.rewrite ? [null] : rep % 2 === 0 ? [null, sc.toggle] : [sc.toggle, null]
    for (const side of sides) {
      const name = side === null ? t.name : `${t.name}-${side.name}`
      if (t.rewrite) {
        t.rewrite(side?.switchyard ?? '')
        await reload(t)
        await measureLoad(sc, t.port, 1, loadCpu) // the reloaded config's first second is not measured
      }
      const r = await measure(sc, t, DURATION, loadCpu, pin)
      ;(runs[name] ??= []).push(r)
      console.error(`  ${sc.name} ${name} round ${rep + 1}: ${Math.round(r.rps)}/s, ${r.cpuUsPerReq.toFixed(1)} µs/req, ${r.errors} errors`)
    }
  }
}

/** Admin port of a toggled target: its own port + this (a reload can not move the admin port, so it is set from the start). */
const ADMIN_OFFSET = 50

/** SIGHUP, then waits until the daemon's reload counter says it took the new file. */
async function reload(t) {
  const url = `http://127.0.0.1:${t.port + ADMIN_OFFSET}/metrics`
  const successes = async () => Number(/switchyard_config_reloads_total\{result="success"\} (\d+)/.exec(await (await fetch(url)).text())?.[1] ?? NaN)
  const before = await successes()
  process.kill(t.child.pid, 'SIGHUP')
  for (let i = 0; i < 100; i++) {
    await sleep(50)
    if ((await successes()) > before) return
  }
  throw new Error(`${t.name}: the reload did not take (see ${RUN}/bench.log)`)
}

/**
 * `bodySizes: true`: one response of each target, fetched as wrk would (the scenario's path and
 * headers), its body counted as it comes on the wire: bytes and Content-Encoding. The table's
 * note then gives each target's size against the identity body (direct's): the compression
 * ratio of that same run.
 */
async function bodySizes(sc, up) {
  const headers = Object.fromEntries((sc.headers ?? []).map((h) => [h.slice(0, h.indexOf(':')).trim(), h.slice(h.indexOf(':') + 1).trim()]))
  const sizes = {}
  for (const t of up) {
    sizes[t.name] = await new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: t.port, path: sc.path ?? '/', headers, agent: false }, (res) => {
        let bytes = 0
        res.on('data', (c) => { bytes += c.length })
        res.on('end', () => resolve({ bytes, encoding: res.headers['content-encoding'] ?? 'identity' }))
        res.on('error', reject)
      }).on('error', reject)
    })
  }
  return sizes
}

async function runScenario(id) {
  const sc = (await import(`./scenarios/${id}.mjs`)).default
  const dir = `${RUN}/${id}`
  const pin = sc.pin !== false
  const loadCpu = pin ? LOAD_CPU : ALL_CPUS
  const targets = targetsOf(sc)
  await assertFree([...BACKEND_PORTS, ...targets.flatMap((_, i) => [FIRST_TARGET_PORT + i, ...(sc.toggle ? [FIRST_TARGET_PORT + i + ADMIN_OFFSET] : [])])])
  const backends = startBackends({ kind: sc.backends ?? 'http', dir, cpu: loadCpu, log })
  children.push(...backends.children)
  for (const p of BACKEND_PORTS) await waitForPort(p)
  const up = []
  for (const [i, t] of targets.entries()) {
    const port = FIRST_TARGET_PORT + i
    // A toggled target's admin port is known from the start: reload() reads its counter there.
    const extra = sc.toggle ? `admin: { port: ${port + ADMIN_OFFSET} }` : ''
    const started = startTarget({ ...t, port, dir, scenario: sc, cpu: pin ? PROXY_CPU : ALL_CPUS, log, fdLimit: fdLimit(), extra })
    if (started.child) children.push(started.child)
    try {
      await waitForPort(started.port, 20_000)
      up.push({ ...t, ...started })
    } catch (err) {
      const c = started.child
      const state = c?.exitCode != null ? `exited with ${c.exitCode}` : c?.signalCode ? `killed by ${c.signalCode}` : 'still running'
      console.error(`  ${sc.name}: ${t.name} did not start (${err.message}; ${state}); see ${RUN}/bench.log`)
    }
  }
  const reps = sc.reps ?? REPS
  console.error(`${sc.name}: backends ${backends.label}; ${up.map((t) => t.name).join(', ')}; ${reps} x ${DURATION}s`)
  const runs = Object.fromEntries(up.map((t) => [t.name, []]))
  let sizes = null
  try {
    if (sc.bodySizes) sizes = await bodySizes(sc, up)
    const warmup = sc.warmup ?? WARMUP
    // WARMUP=0: none (wrk refuses -d0s).
    if (warmup > 0 && sc.load !== 'idle') for (const t of up) await measureLoad(sc, t.port, warmup, loadCpu)
    else if (warmup > 0) for (const t of up) await wrk({ port: t.port, connections: sc.connections, seconds: warmup, cpu: loadCpu })
    for (let rep = 0; rep < reps; rep++) {
      if (sc.toggle) {
        await toggledRound(sc, up, rep, runs, loadCpu, pin)
        continue
      }
      for (let k = 0; k < up.length; k++) {
        const t = up[(k + rep) % up.length]
        const r = await measure(sc, t, DURATION, loadCpu, pin)
        runs[t.name].push(r)
        const extra = `${r.closed ? `, ${r.closed} connections closed by the target` : ''}${r.firstError ? ` (first: ${r.firstError})` : ''}`
        console.error(`  ${sc.name} ${t.name} round ${rep + 1}: ${Math.round(r.rps)}/s, ${r.errors} errors${extra}`)
      }
    }
  } finally {
    await cleanup()
  }
  return { id, sc, backends: backends.label, runs, pin, sizes }
}

const t0 = Date.now()
try {
  console.error(`scenarios: ${SCENARIOS.join(', ')}; run dir ${RUN}`)
  const results = []
  for (const id of SCENARIOS) results.push(await runScenario(id))
  writeFileSync(`${RUN}/results.json`, JSON.stringify(results, null, 2))
  const table = render(results, { DURATION, REPS, WARMUP, RATE, IDLE_CONNS, PROXY_CPU, LOAD_CPU, FD_LIMIT: fdLimit() })
  writeFileSync(`${RUN}/results.md`, table)
  console.log(table)
  console.error(`done in ${Math.round((Date.now() - t0) / 1000)} s; ${RUN}/results.md`)
} finally {
  await cleanup()
}
