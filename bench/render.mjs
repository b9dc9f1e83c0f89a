// The markdown report: one table per kind of load (closed loop, open loop, idle connections),
// medians over the rounds, ratios of medians, and the paired figures the issue's goals name.
import os from 'node:os'
import { median } from './load/stats.mjs'

const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '-')
const med = (rs, key) => median(rs.map((r) => r[key]))
const maxOf = (rs, key) => { const xs = rs.map((r) => r[key]).filter(Number.isFinite); return xs.length ? Math.max(...xs) : NaN }
const errorsOf = (rs) => rs.reduce((a, r) => a + (r.errors ?? 0) + (r.failed ?? 0), 0)
/** Median over rounds of a / b within the same round: drift between rounds cancels. */
const paired = (as, bs, f) => median(as.map((a, i) => (bs[i] ? f(a, bs[i]) : NaN)))

export function render(results, k) {
  const closed = results.filter((x) => !['openloop', 'idle'].includes(x.sc.load ?? 'wrk'))
  const open = results.filter((x) => x.sc.load === 'openloop')
  const idle = results.filter((x) => x.sc.load === 'idle')
  const backends = [...new Set(results.map((x) => x.backends))].join(', ')
  const out = [
    `${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), Node ${process.version}. Backends: ${backends}. ` +
    `${k.REPS} interleaved rounds of ${k.DURATION}s per target after ${k.WARMUP}s warm-up, medians. ` +
    `Proxy alone on CPU ${k.PROXY_CPU}; load generator + backends on CPU ${k.LOAD_CPU} (except where a scenario says unpinned). ` +
    'CPU and RSS are the whole process tree of the target (master + workers). ' +
    '`other on CPU 1 %`: the highest share, over the rounds, of the proxy CPU busy with anything but the target (the kernel\'s loopback network work, and other programs on a shared machine). ' +
    '`switchyard`: access log (to /dev/null), request metrics and health checks on; `switchyard-bare`: access log and request metrics off.' +
    (results.some((x) => x.runs['node-memory']) ? ' `node-memory`: bare node:http sending the bytes of a switchyard cache hit from memory (the Node ceiling for an answer from memory).' : ''),
  ]
  const notes = []
  if (closed.length) {
    out.push('', '| scenario | target | req/s | vs direct | vs nginx | vs haproxy | p50 ms | p99 ms | CPU µs/req | peak RSS MiB | errors | other on CPU 1 % |',
      '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
    for (const { sc, runs, sizes } of closed) {
      const rps = (t) => med(runs[t] ?? [], 'rps')
      for (const [t, rs] of Object.entries(runs)) {
        out.push(`| ${sc.name} | ${t} | ${fmt(rps(t))} | ${fmt(rps(t) / rps('direct'), 2)} | ${fmt(rps(t) / rps('nginx'), 2)} | ${fmt(rps(t) / rps('haproxy'), 2)} | ` +
          `${fmt(med(rs, 'p50'), 2)} | ${fmt(med(rs, 'p99'), 2)} | ${fmt(med(rs, 'cpuUsPerReq'))} | ${fmt(maxOf(rs, 'peakMiB'), 1)} | ${errorsOf(rs)} | ${fmt(maxOf(rs, 'otherCpuPct'))} |`)
      }
      notes.push(...closedNotes(sc, runs))
      if (sizes) notes.push(sizeNote(sc, sizes))
    }
  }
  if (open.length) {
    out.push('', '| scenario | target | achieved req/s | p50 ms | p99 ms | p99.9 ms | added p50 ms | added p99 ms | added p99.9 ms | CPU µs/req | peak RSS MiB | errors | other on CPU 1 % |',
      '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
    for (const { sc, runs } of open) {
      for (const [t, rs] of Object.entries(runs)) {
        // Added latency: the target's percentile minus direct's in the same round, then the median.
        const added = (key) => (t === 'direct' || !runs.direct ? NaN : paired(rs, runs.direct, (a, b) => a[key] - b[key]))
        out.push(`| ${sc.name} | ${t} | ${fmt(med(rs, 'rps'))} | ${fmt(med(rs, 'p50'), 3)} | ${fmt(med(rs, 'p99'), 3)} | ${fmt(med(rs, 'p999'), 3)} | ` +
          `${fmt(added('p50'), 3)} | ${fmt(added('p99'), 3)} | ${fmt(added('p999'), 3)} | ${fmt(med(rs, 'cpuUsPerReq'))} | ${fmt(maxOf(rs, 'peakMiB'), 1)} | ${errorsOf(rs)} | ${fmt(maxOf(rs, 'otherCpuPct'))} |`)
      }
      notes.push(`${sc.name}: latency from each request's intended send time at a fixed ${fmt(sc.rate ?? k.RATE)} req/s over ${sc.connections} keep-alive connections; ` +
        "the `direct` row is the generator's own floor (its timer and event loop), the `added` columns subtract it round by round.")
      // At a fixed rate both targets do the same work: the cost shows as CPU per request, not as req/s.
      notes.push(...costNotes(sc, runs, false))
    }
  }
  if (idle.length) {
    out.push('', '| scenario | target | idle conns held | RSS before MiB | RSS held MiB | peak RSS MiB | req/s while held | p99 ms | still open after | errors |',
      '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|')
    for (const { sc, runs } of idle) {
      for (const [t, rs] of Object.entries(runs)) {
        out.push(`| ${sc.name} | ${t} | ${fmt(med(rs, 'open'))} | ${fmt(med(rs, 'rssBefore'), 1)} | ${fmt(med(rs, 'rssHeld'), 1)} | ${fmt(maxOf(rs, 'peakMiB'), 1)} | ` +
          `${fmt(med(rs, 'rps'))} | ${fmt(med(rs, 'p99'), 2)} | ${fmt(med(rs, 'stillOpen'))} | ${errorsOf(rs)} |`)
      }
      notes.push(`${sc.name}: ${fmt(k.IDLE_CONNS)} connections each made one request and then stay idle while wrk -c${sc.connections} runs beside them; ` +
        `'still open after' counts those the target had not closed by the end; haproxy holds fewer when the descriptor limit (${fmt(k.FD_LIMIT)} here) caps its maxconn (two sockets per connection).`)
    }
  }
  for (const { sc } of results) if (sc.note) notes.push(`${sc.name}: ${sc.note}`)
  if (notes.length) out.push('', ...notes.map((n) => `- ${n}`))
  const g = goals(results, k)
  if (g.length) out.push('', 'Goals of issues #3, #6, #19 and #20, switchyard with every feature on:', '', '| goal | measured | met |', '|---|---:|---|', ...g)
  return out.join('\n')
}

/** switchyard's throughput goals against the Node proxies (issues #6 and #20: 1.1x the bare Pool.dispatch). */
const COMPARISON_GOALS = [['pool-dispatch', 1.1], ['node-http-proxy', 2], ['reply-from', 1.5]]

/** The issue's goals, where this run measured them (a scenario left out leaves its goal out). */
function goals(results, k) {
  const by = (id) => results.find((x) => x.id === id)?.runs ?? {}
  const rows = []
  const row = (goal, value, ok, unit = '', digits = 2) => {
    if (Number.isFinite(value)) rows.push(`| ${goal} | ${fmt(value, digits)}${unit} | ${ok(value) ? 'yes' : 'no'} |`)
  }
  const ol = by('openloop-5k')
  if (ol.switchyard && ol.direct) {
    row(`p99 added latency < 1 ms at ${fmt(k.RATE)} req/s (open loop)`, paired(ol.switchyard, ol.direct, (a, b) => a.p99 - b.p99), (v) => v < 1, ' ms')
  }
  if (by('small-c256').switchyard) row('peak RSS < 100 MiB at 256 connections (small c256)', maxOf(by('small-c256').switchyard, 'peakMiB'), (v) => v < 100, ' MiB', 1)
  const idle = by('idle-10k').switchyard
  if (idle) {
    row(`${fmt(med(idle, 'open'))} idle keep-alive connections held in < 150 MiB RSS`, med(idle, 'rssHeld'), (v) => v < 150, ' MiB', 1)
    row('... while still serving normally (req/s beside them, no errors)', med(idle, 'rps'), (v) => v > 0 && errorsOf(idle) === 0, ' req/s', 0)
  }
  const lc = by('log-cost-c50')
  const lost = (on, off) => (lc[on] && lc[off] ? (1 - paired(lc[on], lc[off], (a, b) => a.rps / b.rps)) * 100 : NaN)
  row('access log + request metrics cost < 5% of throughput (log-cost-c50, paired; stdout /dev/null)', lost('switchyard', 'switchyard-bare'), (v) => v < 5, '%', 1)
  row('... with stdout a pipe the bench reads', lost('switchyard-piped', 'switchyard-piped-bare'), (v) => v < 5, '%', 1)
  const c50 = by('small-c50')
  for (const [t, goal] of COMPARISON_GOALS) {
    if (c50.switchyard && c50[t]) row(`>= ${goal}x ${t} (small c50, paired)`, paired(c50.switchyard, c50[t], (a, b) => a.rps / b.rps), (v) => v >= goal, 'x')
  }
  // Issue #20: c256 without errors and with a tail near nginx's; static files near Node's ceiling.
  const c256 = by('small-c256')
  if (c256.switchyard) {
    row('no socket errors at 256 connections (small c256)', errorsOf(c256.switchyard), (v) => v === 0, '', 0)
    if (c256.nginx) row('p99 within 3x nginx\'s (small c256, medians)', med(c256.switchyard, 'p99') / med(c256.nginx, 'p99'), (v) => v <= 3, 'x')
  }
  const st = by('static-c50')
  const sv = (t) => (st.switchyard && st[t] ? paired(st.switchyard, st[t], (a, b) => a.rps / b.rps) : NaN)
  row('>= 0.8x node-hello (static 1 KiB c50, paired)', sv('node-hello'), (v) => v >= 0.8, 'x')
  row('>= 0.4x nginx (static 1 KiB c50, paired)', sv('nginx'), (v) => v >= 0.4, 'x')
  // Issue #19: both halves in one row; met only when both were measured and both hold.
  const ch = by('cache-hit-c50')
  const vs = (t) => (ch.switchyard && ch[t] ? paired(ch.switchyard, ch[t], (a, b) => a.rps / b.rps) : NaN)
  const [mem, ngx] = [vs('node-memory'), vs('nginx')]
  if (Number.isFinite(mem) || Number.isFinite(ngx)) {
    const met = mem < 0.8 || ngx < 0.4 ? 'no' : Number.isFinite(mem) && Number.isFinite(ngx) ? 'yes' : `- (${Number.isFinite(mem) ? 'nginx' : 'node-memory'} not measured)`
    rows.push(`| >= 0.8x node-memory and >= 0.4x nginx proxy_cache (cache hit c50, paired) | ${fmt(mem, 2)}x, ${fmt(ngx, 2)}x | ${met} |`)
  }
  return rows
}

/** Extra CPU per request of `on` over `off` in each round (percent). */
export function costs(runs, on, off) {
  return runs[on] && runs[off] ? runs[on].map((a, i) => (runs[off][i] ? (a.cpuUsPerReq / runs[off][i].cpuUsPerReq - 1) * 100 : NaN)).filter(Number.isFinite) : []
}

/** The scenario's `cpuCost` pairs: the paired median, every round's figure, and (closed loop) the throughput ratio. */
function costNotes(sc, runs, closedLoop) {
  const notes = []
  for (const [on, off] of sc.cpuCost ?? []) {
    const c = costs(runs, on, off)
    if (!c.length) continue
    const tput = closedLoop ? `; throughput ${on} / ${off} = ${fmt(paired(runs[on], runs[off], (x, y) => x.rps / y.rps), 3)}` : ''
    notes.push(`${sc.name}: ${on} costs ${fmt(median(c), 1)}% more CPU per request than ${off} (paired median of ${c.length} rounds: ${c.map((x) => fmt(x, 1)).join(', ')})${tput}`)
  }
  return notes
}

/** `bodySizes`: each target's response body on the wire, and its ratio to direct's (the identity body). */
function sizeNote(sc, sizes) {
  const identity = sizes.direct?.bytes
  const parts = Object.entries(sizes).map(([t, s]) => `${t} ${fmt(s.bytes)} B ${s.encoding}${identity && t !== 'direct' ? ` (${fmt(s.bytes / identity, 3)})` : ''}`)
  return `${sc.name}: response body on the wire (ratio to the identity body): ${parts.join(', ')}`
}

/** The paired figures: what the access log + metrics cost, the comparison goals, multi-core scaling. */
function closedNotes(sc, runs) {
  const notes = []
  const ratio = (a, b) => (runs[a] && runs[b] ? paired(runs[a], runs[b], (x, y) => x.rps / y.rps) : NaN)
  notes.push(...costNotes(sc, runs, true))
  const goals = COMPARISON_GOALS.filter(([t]) => runs[t] && runs.switchyard)
  if (goals.length) notes.push(`${sc.name}: ${goals.map(([t, g]) => `switchyard / ${t} = ${fmt(ratio('switchyard', t), 2)} (goal >= ${g})`).join('; ')} (paired)`)
  // Issue #20: how far from what Node itself does with the same bytes, in every scenario that ran it.
  if (runs['node-hello'] && runs.switchyard) notes.push(`${sc.name}: switchyard / node-hello (Node's ceiling) = ${fmt(ratio('switchyard', 'node-hello'), 2)} (paired)`)
  for (const [one, many] of sc.scaling ?? []) {
    if (runs[one] && runs[many]) notes.push(`${sc.name}: ${many} / ${one} = ${fmt(ratio(many, one), 2)} (paired)`)
  }
  // `versus: { t: { other: label } }`: t's throughput against each other target, one line.
  for (const [t, others] of Object.entries(sc.versus ?? {})) {
    const parts = Object.entries(others).filter(([o]) => runs[t] && runs[o]).map(([o, label]) => `vs ${label}: ${fmt(ratio(t, o), 2)}`)
    if (parts.length) notes.push(`${sc.name}: ${t} ${parts.join(', ')} (paired req/s ratios)`)
  }
  return notes
}
