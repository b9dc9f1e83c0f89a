// undici cache interceptor: a 304 revalidation should make the stored response fresh again
// (RFC 9111 4.3.4). Usage: node cache-304-refresh.mjs [--no-cc-on-304]
import http from 'node:http'
import { once } from 'node:events'
import { Agent, interceptors, request } from 'undici'

const ccOn304 = !process.argv.includes('--no-cc-on-304')
let hits = 0
let lastInm = null
const server = http.createServer((req, res) => {
  hits++
  lastInm = req.headers['if-none-match'] ?? null
  if (lastInm === '"v1"') {
    const h = { ETag: '"v1"', Date: new Date().toUTCString() }
    if (ccOn304) h['Cache-Control'] = 'max-age=1'
    res.writeHead(304, h).end()
  } else {
    res.writeHead(200, { ETag: '"v1"', 'Cache-Control': 'max-age=1', Date: new Date().toUTCString() }).end('hello')
  }
})
server.listen(0, '127.0.0.1')
await once(server, 'listening')
const url = `http://127.0.0.1:${server.address().port}/`
const dispatcher = new Agent().compose(interceptors.cache()) // default MemoryCacheStore, type 'shared'

async function get (label) {
  const before = hits
  lastInm = null
  const res = await request(url, { dispatcher })
  const body = await res.body.text()
  const reached = hits > before
  console.log(`${label}: status=${res.statusCode} body=${JSON.stringify(body)} originHits=${hits} ` +
    `reachedOrigin=${reached} ifNoneMatchSent=${reached ? lastInm !== null : '-'} ` +
    `age=${res.headers.age ?? '(none)'} warning=${res.headers.warning ?? '(none)'}`)
  return { reached, inm: lastInm }
}

console.log(`304 carries Cache-Control: max-age=1 -> ${ccOn304}`)
await get('req1 (cold)')
await new Promise(resolve => setTimeout(resolve, 1200))
await get('req2 (stale, revalidates)')
const r3 = await get('req3 (right after the 304)')

// Expected: req3 is served from cache (fresh for another max-age after the 304).
const bug = r3.reached
if (bug) {
  console.log(r3.inm
    ? 'req3 went to the origin as a conditional request: entry stayed stale after the 304'
    : 'req3 went to the origin WITHOUT If-None-Match: entry was deleted after the 304')
}
await dispatcher.close()
server.close()
console.log(bug ? 'BUG REPRODUCED' : 'not reproduced')
process.exitCode = bug ? 1 : 0
