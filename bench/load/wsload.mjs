// WebSocket echo load (wrk cannot speak WebSocket): CONNECTIONS clients each send a SIZE-byte
// message, wait for the echo, and send the next, for SECONDS; messages/s and round-trip
// latency. Closed loop by design: it measures the proxy's per-message cost.
//
// node wsload.mjs PORT CONNECTIONS SECONDS SIZE  -> one JSON line on stdout
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import WebSocket from 'ws'
import { percentile, sortNum } from './stats.mjs'

const [port, conns, seconds, size] = process.argv.slice(2, 6).map(Number)
const payload = Buffer.alloc(size, 120)
const latencies = []
let errors = 0
let stopAt = Infinity

function client() {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { perMessageDeflate: false })
    let sentAt = 0
    const send = () => { sentAt = performance.now(); ws.send(payload, { binary: true }) }
    ws.on('open', () => resolve(ws))
    ws.on('message', (data) => {
      const now = performance.now()
      if (data.length !== size) errors++
      latencies.push(now - sentAt)
      if (now < stopAt) send()
      else ws.close()
    })
    ws.on('error', () => { errors++; resolve(null) })
    ws.start = send
  })
}

const clients = (await Promise.all(Array.from({ length: conns }, client))).filter(Boolean)
const t0 = performance.now()
stopAt = t0 + seconds * 1000
for (const ws of clients) ws.start()
// Every client stops after its in-flight echo; bounded wait for the stragglers.
const deadline = stopAt + 5000
while (clients.some((ws) => ws.readyState === WebSocket.OPEN) && performance.now() < deadline) await sleep(20)
const s = sortNum(latencies)
console.log(JSON.stringify({
  connections: clients.length, requests: latencies.length, rps: latencies.length / seconds,
  p50: percentile(s, 50), p99: percentile(s, 99), errors: errors + (conns - clients.length),
}))
process.exit(0)
