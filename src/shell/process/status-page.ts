// The admin port's live status page (`GET /`, contract section 9): one self-contained HTML
// document, built once at startup, with inline CSS and script and no external asset, so it
// works offline and behind any firewall. The page polls /status (states, in-flight, drain)
// and /metrics (request counters and duration buckets) every second and shows, per server,
// the state, in-flight requests, req/s, error ratio and p50/p99 over the last interval; the
// arithmetic is core/live-stats.ts, whose functions are embedded here by their source text
// (the same code the unit tests run). With a token entered (kept in sessionStorage, sent
// only to this origin), each row gets drain / enable / disable buttons that call the
// runtime API. Text from the daemon is set with textContent: nothing is parsed as HTML.
import { parseServerCounters, serverRates, windowQuantile } from '../../core/live-stats.js'

/** The page's own Content-Security-Policy: its inline style and script, fetches to itself only. */
export const STATUS_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

const STYLE = `
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1d232a; background: #f7f8fa; }
  h1 { font-size: 1.3em; margin: 0 0 .2em; }
  h2 { font-size: 1.05em; margin: 1.4em 0 .4em; }
  #meta { color: #5b6570; margin-bottom: 1em; }
  #banner { display: none; padding: .5em .8em; background: #fdecea; color: #8a1c12; border-radius: 4px; margin-bottom: 1em; }
  #banner.on { display: block; }
  table { border-collapse: collapse; background: #fff; min-width: 60em; box-shadow: 0 1px 2px #0001; }
  th, td { padding: .35em .8em; text-align: right; border-bottom: 1px solid #e6e9ed; white-space: nowrap; }
  th:nth-child(-n+3), td:first-child, td.state, td.admin { text-align: left; }
  #result { margin-left: 1em; font-weight: 600; }
  th { background: #eef1f4; font-weight: 600; }
  td.state span { padding: .1em .5em; border-radius: 3px; font-weight: 600; }
  .healthy { background: #dff3e4; color: #1b6b34; }
  .ejected { background: #fff1d6; color: #8a5a00; }
  .unhealthy { background: #fdecea; color: #8a1c12; }
  .draining, .disabled { background: #e8eaf6; color: #2f3a8f; }
  button { margin-left: .3em; font-size: .9em; }
  #auth input { width: 22em; }
`

const SCRIPT = `
${parseServerCounters.toString()}
${windowQuantile.toString()}
${serverRates.toString()}

const POLL_MS = 1000
let previous = null // { at, counters }
const tokenKey = 'switchyard-admin-token'
const token = () => sessionStorage.getItem(tokenKey) || ''

function fmtMs(s) { return s === null ? '–' : s < 0.001 ? (s * 1e6).toFixed(0) + ' µs' : (s * 1000).toFixed(s < 0.01 ? 2 : 1) + ' ms' }
function fmtRatio(r) { return r === null ? '–' : (r * 100).toFixed(r < 0.01 && r > 0 ? 2 : 1) + ' %' }
function cell(row, text, cls) { const td = document.createElement('td'); td.textContent = text; if (cls) td.className = cls; row.appendChild(td); return td }
function serverId(s) { if (s.id) return s.id; try { const u = new URL(s.url); return u.host } catch { return s.url } }

async function act(upstream, id, action) {
  const path = '/upstreams/' + encodeURIComponent(upstream) + '/servers/' + encodeURIComponent(id) + '/' + action
  const res = await fetch(path, { method: 'POST', headers: { authorization: 'Bearer ' + token() } })
  const text = await res.text()
  document.getElementById('result').textContent = res.ok ? action + ' ' + upstream + ' ' + id + ': ok' : action + ' ' + upstream + ' ' + id + ': ' + res.status + ' ' + text.trim()
  poll()
}

function render(status, rates) {
  const root = document.getElementById('upstreams')
  root.replaceChildren()
  const canAct = token() !== ''
  for (const [name, u] of Object.entries(status.upstreams)) {
    const h = document.createElement('h2')
    h.textContent = name + ' (' + u.balance + ')'
    root.appendChild(h)
    const table = document.createElement('table')
    table.dataset.upstream = name
    const head = table.createTHead().insertRow()
    for (const t of ['server', 'state', 'admin', 'weight', 'in flight', 'req/s', 'errors', 'p50', 'p99', '']) { const th = document.createElement('th'); th.textContent = t; head.appendChild(th) }
    const body = table.createTBody()
    for (const s of u.servers) {
      const id = serverId(s)
      const r = rates[name + ' ' + id] || null
      const row = body.insertRow()
      row.dataset.server = id
      cell(row, id)
      const st = cell(row, '', 'state')
      const badge = document.createElement('span')
      badge.textContent = s.state
      badge.className = s.state
      st.appendChild(badge)
      const admin = s.admin_state === undefined ? '–' : s.admin_state + (s.drained === true ? ' (drained)' : '')
      cell(row, admin, 'admin')
      cell(row, String(s.weight), 'weight')
      cell(row, String(s.active_requests), 'inflight')
      cell(row, r === null ? '–' : r.rps.toFixed(1), 'rps')
      cell(row, r === null ? '–' : fmtRatio(r.errorRatio), 'errors')
      cell(row, r === null ? '–' : fmtMs(r.p50), 'p50')
      cell(row, r === null ? '–' : fmtMs(r.p99), 'p99')
      const actions = cell(row, '', 'actions')
      if (canAct) {
        for (const action of ['drain', 'enable', 'disable']) {
          const b = document.createElement('button')
          b.textContent = action
          b.dataset.action = action
          b.addEventListener('click', () => act(name, id, action))
          actions.appendChild(b)
        }
      }
    }
    root.appendChild(table)
  }
}

async function poll() {
  try {
    const [statusRes, metricsRes] = await Promise.all([fetch('/status', { cache: 'no-store' }), fetch('/metrics', { cache: 'no-store' })])
    if (!statusRes.ok) throw new Error('/status answered ' + statusRes.status)
    const status = await statusRes.json()
    const at = performance.now() / 1000
    const counters = metricsRes.ok ? parseServerCounters(await metricsRes.text()) : {}
    const rates = {}
    if (previous !== null) for (const [key, c] of Object.entries(counters)) rates[key] = serverRates(previous.counters[key], c, at - previous.at)
    previous = { at, counters }
    render(status, rates)
    document.getElementById('banner').className = ''
    document.getElementById('updated').textContent = new Date().toLocaleTimeString()
  } catch (err) {
    const banner = document.getElementById('banner')
    banner.textContent = 'cannot reach the daemon: ' + err.message
    banner.className = 'on'
  }
}

document.getElementById('auth').addEventListener('submit', (e) => {
  e.preventDefault()
  const v = document.getElementById('token').value.trim()
  if (v === '') sessionStorage.removeItem(tokenKey); else sessionStorage.setItem(tokenKey, v)
  document.getElementById('token').value = ''
  document.getElementById('authstate').textContent = v === '' ? 'read only' : 'token set'
  poll()
})
document.getElementById('authstate').textContent = token() === '' ? 'read only' : 'token set'
poll()
setInterval(poll, POLL_MS)
`

/** The whole page, made once. */
export const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>switchyard status</title>
<style>${STYLE}</style>
</head>
<body>
<h1>switchyard</h1>
<div id="meta">updated <span id="updated">–</span> · every second from /status and /metrics ·
<form id="auth" style="display:inline"><input id="token" type="password" autocomplete="off" placeholder="admin token (runtime API)"> <button type="submit">use</button> <span id="authstate"></span></form>
<span id="result"></span></div>
<div id="banner"></div>
<div id="upstreams"></div>
<script>${SCRIPT}</script>
</body>
</html>
`
