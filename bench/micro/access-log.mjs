// The access log line alone: nanoseconds per AccessLog.write (through the process's real
// LineWriter, 64 KiB batches, as a single-process daemon has them) and the minor GCs it causes.
// Run with stdout to /dev/null (the lines are written there):
//   node bench/micro/access-log.mjs > /dev/null               this checkout's dist/ (npm run build first)
//   node bench/micro/access-log.mjs /path/to/other/dist > /dev/null   another build, to compare
//   node bench/micro/access-log.mjs --combined > /dev/null     the combined format
// Figures go to stderr. 5 rounds of 2 million lines; the event loop turns every 1,000 lines so
// the writes complete as they would in the daemon.
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { PerformanceObserver, constants } from 'node:perf_hooks'
import { randomUUID } from 'node:crypto'
import { setImmediate } from 'node:timers'

const dist = path.resolve(process.argv.slice(2).find((a) => !a.startsWith('--')) ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '../../dist'))
// Builds before the shell was split by concern (issue #14) have shell/log.js; later ones shell/observe/log.js.
const { existsSync } = await import('node:fs')
const load = (file) => import(pathToFileURL(path.join(dist, existsSync(path.join(dist, 'shell/observe')) ? file.replace('shell/', 'shell/observe/') : file)).href)
const { createLogger } = await load('shell/log.js')
createLogger('info', false)
const { AccessLog } = await load('shell/access-log.js')

let scavenges = 0
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) scavenges++
}).observe({ entryTypes: ['gc'] })

// The write() of builds with the host, user_agent and referer fields (earlier ones took other arguments).
const log = new AccessLog(process.argv.includes('--combined') ? 'combined' : 'json')
const target = AccessLog.target('app', '127.0.0.1:9501')
const route = AccessLog.NO_ROUTE
const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36'
const ids = Array.from({ length: 1024 }, () => ({ requestId: randomUUID(), host: 'app.example.com', userAgent: UA, referer: 'https://app.example.com/', authUser: '' }))
const turn = () => new Promise((resolve) => setImmediate(resolve))
const BATCHES = 2000
const PER_BATCH = 1000
for (let round = 1; round <= 5; round++) {
  const gc0 = scavenges
  let ns = 0n
  for (let b = 0; b < BATCHES; b++) {
    const t = process.hrtime.bigint()
    for (let i = 0; i < PER_BATCH; i++) {
      log.write(ids[i & 1023], 'GET', '/api/items/42?page=3', '127.0.0.1', 200, target, route, 0.000137 + (i & 255) * 1e-6, 98 + (i & 7), 12, 0, '', '', '1.1')
    }
    ns += process.hrtime.bigint() - t
    await turn()
  }
  await turn()
  console.error(`round ${round}: ${(Number(ns) / (BATCHES * PER_BATCH)).toFixed(0)} ns per line, ${scavenges - gc0} scavenges per ${BATCHES * PER_BATCH} lines (${dist})`)
}
