// undici deduplicate interceptor: aborting the first (leader) request must not fail the
// other requests that were deduplicated onto it. Usage: node dedupe-leader-abort.mjs [--mid-body]
import http from 'node:http'
import { once } from 'node:events'
import { Agent, interceptors, request } from 'undici'

const midBody = process.argv.includes('--mid-body')
const SIZE = 40 * 1024
let originHits = 0
const server = http.createServer(async (req, res) => {
  originHits++
  const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
  if (!midBody) { await sleep(1000); return res.end(Buffer.alloc(SIZE, 'a')) }
  res.writeHead(200, { 'content-length': SIZE })
  for (let i = 0; i < 10 && !res.destroyed; i++) { res.write(Buffer.alloc(SIZE / 10, 'a')); await sleep(100) }
  res.end()
})
server.listen(0, '127.0.0.1')
await once(server, 'listening')
const url = `http://127.0.0.1:${server.address().port}/slow`
const dispatcher = new Agent().compose(interceptors.deduplicate())

const ac = new AbortController()
if (!midBody) setTimeout(() => ac.abort(), 300)

const got = [0, 0, 0, 0, 0] // bytes received per request, also when it later fails
async function fetchOne (i) {
  const res = await request(url, { dispatcher, signal: i === 0 ? ac.signal : undefined })
  for await (const chunk of res.body) {
    got[i] += chunk.length
    if (i === 0 && midBody && !ac.signal.aborted) ac.abort() // leader aborts after its first chunk
  }
  return got[i]
}

console.log(`variant: ${midBody ? 'abort leader after its first body chunk' : 'abort leader after 300 ms (before headers)'}`)
const results = await Promise.allSettled([0, 1, 2, 3, 4].map(fetchOne))
let bug = false
results.forEach((r, i) => {
  const ok = r.status === 'fulfilled' && r.value === SIZE
  if (i > 0 && !ok) bug = true
  console.log(`request ${i}${i === 0 ? ' (aborted by caller)' : ''}: ` + (r.status === 'fulfilled'
    ? `ok, ${r.value} of ${SIZE} bytes`
    : `${r.reason.name} (code ${r.reason.code}): ${r.reason.message} after ${got[i]} bytes`))
})
console.log(`origin was asked ${originHits} time(s)`)
await dispatcher.close()
server.close()
console.log(bug ? 'BUG REPRODUCED (requests 1-4 never asked to abort, yet did not get the full body)' : 'not reproduced')
process.exitCode = bug ? 1 : 0
