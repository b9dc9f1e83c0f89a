// Open-loop HTTP load: requests are due at fixed intervals (RATE per second) whatever the
// responses do, and each one's latency runs from its *intended* send time, so a stalled target
// is charged for every request that should have gone out meanwhile (no coordinated omission,
// which a closed-loop tool like wrk has). Requests go over a fixed pool of keep-alive
// connections opened before the clock starts; a due request waits for a free connection and
// that wait counts. Raw sockets and a minimal response parser keep the generator's own cost
// (measured by running it against the backend directly) low.
//
// node openloop.mjs PORT RATE SECONDS CONNECTIONS PATH  -> one JSON line on stdout
import net from 'node:net'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep, setImmediate as yieldToIo } from 'node:timers/promises'
import { percentile, sortNum } from './stats.mjs'

const [port, rate, seconds, conns] = process.argv.slice(2, 6).map(Number)
const reqPath = process.argv[6] ?? '/'
const request = Buffer.from(`GET ${reqPath} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`)
const total = Math.round(rate * seconds)
const GRACE_MS = 5000 // after the last intended send: what is still unanswered then is an error

const latencies = new Float64Array(total)
let done = 0
let maxQueue = 0
let failed = 0 // lost with a closed connection, or not a 200
let closed = 0 // connections the target closed during the run
let firstError = null
let finished = false
const queue = [] // intended send times (ms) of due requests waiting for a connection
const free = []

/**
 * One keep-alive connection: sends a request, parses one response (content-length or chunked).
 * A connection the target closes is replaced, as a client's pool would: its in-flight request is lost
 * (an error), the replacement's connect time falls on whichever request waits for it.
 */
function connection() {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1')
    sock.setNoDelay(true)
    let buf = Buffer.alloc(0)
    let intended = 0
    let connected = false
    const c = {
      send(at) { intended = at; sock.write(request) },
    }
    sock.on('connect', () => { connected = true; resolve(c) })
    sock.on('error', (err) => { firstError ??= err.code ?? err.message; if (!connected) reject(err) })
    sock.on('close', () => {
      if (!connected) return
      closed++
      if (intended) { failed++; intended = 0 }
      const i = free.indexOf(c)
      if (i >= 0) free.splice(i, 1)
      if (!finished) connection().then(dispatch, () => {})
    })
    sock.on('data', (d) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d
      const end = responseEnd(buf)
      if (end < 0) return
      const status = buf.toString('latin1', 9, 12)
      // `Connection: close` from the target: this connection takes no more requests.
      const closing = /\r\nconnection:\s*close/i.test(buf.toString('latin1', 0, buf.indexOf('\r\n\r\n')))
      buf = buf.subarray(end)
      if (status === '200') latencies[done++] = performance.now() - intended
      else { failed++; firstError ??= `status ${status}` }
      intended = 0
      if (closing) sock.end()
      else dispatch(c)
    })
  })
}

/** Byte offset after a complete response at the start of `b`, or -1. */
function responseEnd(b) {
  const head = b.indexOf('\r\n\r\n')
  if (head < 0) return -1
  const h = b.toString('latin1', 0, head).toLowerCase()
  const cl = /\r\ncontent-length:\s*(\d+)/.exec(h)
  if (cl) { const end = head + 4 + Number(cl[1]); return b.length >= end ? end : -1 }
  if (/\r\ntransfer-encoding:\s*chunked/.test(h)) { const z = b.indexOf('\r\n0\r\n\r\n', head); return z < 0 ? -1 : z + 7 }
  return head + 4
}

/** A connection became free: it takes the oldest waiting request, or waits itself. */
function dispatch(c) {
  const at = queue.shift()
  if (at === undefined) free.push(c)
  else c.send(at)
}

const pool = await Promise.all(Array.from({ length: conns }, connection))
free.push(...pool)
const t0 = performance.now() + 10
const interval = 1000 / rate
let next = 0
// Each turn sends every request that has come due, then lets I/O run. Node's timers have 1 ms
// granularity, which adds up to 1 ms of send lateness (a p50 floor of 0.7 ms at 5,000 req/s,
// measured), so when the next request is due within 2 ms the loop yields with setImmediate
// instead: busy on the load CPU (run under `nice`, so the backends there come first), p50
// floor 0.02 ms. Tried and dropped: Atomics.wait until the due time (0.3 ms floor: responses
// wait while it sleeps). A late turn does not move the intended times: the generator's own
// lateness shows up in its floor (the `direct` row).
while (next < total) {
  const now = performance.now()
  while (next < total && t0 + next * interval <= now) {
    const at = t0 + next * interval
    next++
    const c = free.shift()
    if (c) c.send(at)
    else { queue.push(at); if (queue.length > maxQueue) maxQueue = queue.length }
  }
  if (t0 + next * interval - performance.now() > 2) await sleep(1)
  else await yieldToIo()
}
const deadline = performance.now() + GRACE_MS
while (done + failed < total && performance.now() < deadline) await sleep(5)
finished = true
const elapsed = (performance.now() - t0) / 1000
const s = sortNum(latencies.subarray(0, done))
console.log(JSON.stringify({
  rate, intended: total, completed: done, errors: total - done, closed, firstError, maxQueue,
  rps: done / elapsed, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), p999: percentile(s, 99.9), max: s[s.length - 1] ?? NaN,
}))
process.exit(0)
