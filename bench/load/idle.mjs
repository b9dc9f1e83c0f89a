// Holds COUNT idle keep-alive client connections: each sends one GET and reads its response,
// then stays open and silent. Prints {"open":n,"failed":m} when all are settled, then waits;
// on SIGTERM prints {"stillOpen":k} (how many the target kept through the run) and exits.
//
// node idle.mjs PORT COUNT
import net from 'node:net'

const [port, count] = process.argv.slice(2, 4).map(Number)
const CONCURRENCY = 200 // connects in flight at once: a burst of 10,000 SYNs overflows backlogs
const request = Buffer.from(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`)
const socks = []
let failed = 0

function open() {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1')
    const timer = setTimeout(() => { s.destroy(); failed++; resolve() }, 10_000)
    let answered = false
    s.on('connect', () => s.write(request))
    s.on('data', () => {
      if (answered) return
      answered = true
      clearTimeout(timer)
      socks.push(s)
      resolve()
    })
    s.on('error', () => { if (!answered) { clearTimeout(timer); failed++; resolve() } })
  })
}

let started = 0
await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
  while (started < count) { started++; await open() }
}))
// The handler goes in before the "open" line: the parent may send SIGTERM as soon as it reads it.
process.on('SIGTERM', () => {
  console.log(JSON.stringify({ stillOpen: socks.filter((s) => !s.destroyed && s.readyState === 'open').length }))
  process.exit(0)
})
console.log(JSON.stringify({ open: socks.length, failed }))
setInterval(() => {}, 60_000)
