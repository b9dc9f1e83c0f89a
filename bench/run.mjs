// `npm run bench`: the same wrk load against the backend directly, switchyard, and nginx
// (when installed), interleaved round by round; medians, ratios, CPU per request, peak RSS.
// Proxies run alone on CPU 1; backends and wrk share CPU 0 (see README "Performance").
//
// Knobs: DURATION=5 (s per run) REPS=3 WARMUP=1 (s) SCENARIOS=small-c50,small-c256,64k-c50
//        (also: newconn-c50, upload-1m-c16; one file each in bench/scenarios)
//        TARGETS=direct,switchyard,switchyard-bare,nginx  RUN_DIR=/tmp/switchyard-bench/<time>
// Needs wrk (apt-get install wrk); nginx is optional (apt-get install nginx).
import { openSync, mkdirSync, writeFileSync } from 'node:fs'
import { spawn } from 'node:child_process'
import { start, stop, waitForPort, cpuSeconds, rssMiB, hasCommand } from './proc.mjs'
import { wrk } from './wrk.mjs'
import { PORTS, BACKEND_PORTS, backendArgv, nginxProxyArgv, switchyardArgv } from './targets.mjs'

const env = process.env
const DURATION = Number(env.DURATION ?? 5)
const REPS = Number(env.REPS ?? 3)
const WARMUP = Number(env.WARMUP ?? 1)
const SCENARIOS = (env.SCENARIOS ?? 'small-c50,small-c256,64k-c50').split(',')
const RUN = env.RUN_DIR ?? `/tmp/switchyard-bench/${new Date().toISOString().replace(/[:.]/g, '-')}`
const PROXY_CPU = 1
const LOAD_CPU = 0

if (!hasCommand('wrk')) {
  console.error('wrk is needed: apt-get install wrk (nginx too, for the reference column: apt-get install nginx)')
  process.exit(1)
}
mkdirSync(RUN, { recursive: true })
const log = { fd: openSync(`${RUN}/bench.log`, 'a'), write(d) { writeFileSync(this.fd, d) } }
const quiet = openSync('/dev/null', 'w')

const wanted = (env.TARGETS ?? 'direct,switchyard,switchyard-bare,nginx').split(',')
const targets = wanted.filter((t) => t !== 'nginx' || hasCommand('nginx'))
if (wanted.includes('nginx') && !targets.includes('nginx')) console.error('nginx is not installed: no nginx column (apt-get install nginx)')

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN }
const children = []
async function cleanup() { for (const c of children.reverse()) await stop(c) }
process.on('SIGINT', () => { void cleanup().then(() => process.exit(130)) })

try {
  const backends = backendArgv(RUN)
  for (const argv of backends.argvs) children.push(start(argv, { cpu: LOAD_CPU, log }))
  for (const p of BACKEND_PORTS) await waitForPort(p)
  const procs = {}
  for (const name of ['switchyard', 'switchyard-bare']) {
    if (!targets.includes(name)) continue
    // The access log goes to /dev/null: pino's cost is measured, not a log consumer's.
    const [cmd, ...args] = switchyardArgv(RUN, { bare: name === 'switchyard-bare' })
    procs[name] = spawn('taskset', ['-c', String(PROXY_CPU), cmd, ...args], { stdio: ['ignore', quiet, 'inherit'] })
    children.push(procs[name])
    await waitForPort(PORTS[name])
  }
  if (targets.includes('nginx')) {
    procs.nginx = start(nginxProxyArgv(RUN), { cpu: PROXY_CPU, log })
    children.push(procs.nginx)
    await waitForPort(PORTS.nginx)
  }
  console.error(`backends: ${backends.kind}; targets: ${targets.join(', ')}; ${REPS} x ${DURATION}s per target per scenario; run dir ${RUN}`)

  const tables = []
  for (const name of SCENARIOS) {
    const sc = (await import(`./scenarios/${name}.mjs`)).default
    const runs = Object.fromEntries(targets.map((t) => [t, []]))
    const load = { path: sc.path, connections: sc.connections, script: sc.script, headers: sc.headers, cpu: LOAD_CPU }
    for (const t of targets) await wrk({ ...load, port: PORTS[t], seconds: WARMUP })
    for (let rep = 0; rep < REPS; rep++) {
      const order = targets.map((_, i) => targets[(i + rep) % targets.length])
      for (const t of order) {
        const pid = procs[t]?.pid
        const cpu0 = pid ? cpuSeconds(pid) : 0
        let peak = pid ? rssMiB(pid) : 0
        const sampler = pid ? setInterval(() => { peak = Math.max(peak, rssMiB(pid)) }, 250) : null
        const r = await wrk({ ...load, port: PORTS[t], seconds: DURATION })
        if (sampler) clearInterval(sampler)
        r.cpuUsPerReq = pid && r.requests ? ((cpuSeconds(pid) - cpu0) * 1e6) / r.requests : NaN
        r.peakMiB = pid ? peak : NaN
        runs[t].push(r)
        console.error(`  ${sc.name} ${t} round ${rep + 1}: ${Math.round(r.rps)} req/s, ${r.errors} errors`)
      }
    }
    tables.push({ sc, runs })
  }
  console.log(render(tables))
  writeFileSync(`${RUN}/results.json`, JSON.stringify(tables, null, 2))
} finally {
  await cleanup()
}

function render(tables) {
  const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '-')
  const lines = [
    `Backends: ${hasCommand('nginx') ? 'nginx (return 200)' : 'node:http'}; wrk -t1, ${REPS} interleaved runs of ${DURATION}s, medians; proxy alone on CPU ${PROXY_CPU}, wrk + backends on CPU ${LOAD_CPU}.`,
    '',
    '`switchyard`: access log, request metrics and health checks on. `switchyard-bare`: access log and request metrics off.',
    '',
    '| scenario | target | req/s | vs direct | vs nginx | p50 ms | p99 ms | CPU µs/req | peak RSS MiB | errors |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ]
  const costs = []
  for (const { sc, runs } of tables) {
    const rps = (t) => median((runs[t] ?? []).map((r) => r.rps))
    if (runs.switchyard && runs['switchyard-bare']) {
      // Paired: each round's ratio, so drift between rounds cancels; then the median.
      const paired = median(runs.switchyard.map((r, i) => r.rps / runs['switchyard-bare'][i].rps))
      costs.push(`${sc.name}: ${fmt((1 - paired) * 100, 1)}%`)
    }
    for (const t of Object.keys(runs)) {
      const rs = runs[t]
      lines.push(`| ${sc.name} | ${t} | ${fmt(rps(t))} | ${fmt(rps(t) / rps('direct'), 2)} | ${runs.nginx ? fmt(rps(t) / rps('nginx'), 2) : '-'} | ${fmt(median(rs.map((r) => r.p50)), 2)} | ${fmt(median(rs.map((r) => r.p99)), 2)} | ${fmt(median(rs.map((r) => r.cpuUsPerReq)))} | ${fmt(Math.max(...rs.map((r) => r.peakMiB)), 1)} | ${rs.reduce((a, r) => a + r.errors, 0)} |`)
    }
  }
  if (costs.length) lines.push('', `Access log + request metrics cost (1 - switchyard / switchyard-bare, paired median): ${costs.join('; ')}`)
  return lines.join('\n')
}
