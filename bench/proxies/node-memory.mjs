// The Node ceiling for any answer from memory (issue #19): a bare node:http server that, once at
// startup, asks the first backend for FETCH_PATH and keeps the answer (status, headers as the
// backend sent them, body), then answers every request with writeHead(status, storedHeaders) +
// end(body): no routing, no lookup, no log, no metrics. The stored head is what switchyard
// sends on a cache hit of that answer: the backend's headers without hop-by-hop ones, plus
// Age, X-Cache: HIT and an X-Request-Id of a UUID's length (a constant here; switchyard makes
// one per request), and the same keep-alive timeout, so both put the same bytes on the wire
// (switchyard's Age grows past one digit after 10 s: a byte or three). It listens only once
// the answer is stored.
// As `node-hello` (ANSWER=proxy), the Node ceiling of any scenario (issue #20): the same, with
// only X-Request-Id added, the bytes switchyard sends for a proxied answer; with FILE set, that
// file's bytes with the headers of switchyard's static answer from memory (Content-Type,
// Content-Length, ETag, Last-Modified, Accept-Ranges, X-Request-Id) instead of a fetch.
// Env: PORT, BACKENDS (comma list of origins; the first is asked), FETCH_PATH (default /),
// ANSWER (cache, the default, or proxy), FILE, FILE_TYPE.
import http from 'node:http'
import { readFileSync, statSync } from 'node:fs'

const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authenticate', 'proxy-authorization'])

const REQUEST_ID = ['X-Request-Id', '00000000-0000-4000-8000-000000000000']
const ADDED = process.env.ANSWER === 'proxy' ? REQUEST_ID : ['Age', '0', 'X-Cache', 'HIT', ...REQUEST_ID]

const { status, headers, body } = process.env.FILE ? fromFile(process.env.FILE) : await fetchOnce(new URL(process.env.BACKENDS.split(',')[0]), process.env.FETCH_PATH || '/')

function fetchOnce(origin, fetchPath) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: origin.hostname, port: origin.port, path: fetchPath, agent: false }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => {
        // Names the Connection header lists are hop-by-hop too; Age and X-Cache are switchyard's own.
        const drop = new Set([...HOP, 'age', 'x-cache', ...String(res.headers.connection ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)])
        const kept = []
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          if (!drop.has(res.rawHeaders[i].toLowerCase())) kept.push(res.rawHeaders[i], res.rawHeaders[i + 1])
        }
        kept.push(...ADDED)
        resolve({ status: res.statusCode, headers: kept, body: Buffer.concat(chunks) })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
  })
}

function fromFile(file) {
  const body = readFileSync(file)
  const { mtime, size } = statSync(file)
  const etag = `W/"${size.toString(16)}-${mtime.getTime().toString(16)}"`
  return {
    status: 200,
    headers: ['Accept-Ranges', 'bytes', 'Last-Modified', mtime.toUTCString(), 'ETag', etag, ...REQUEST_ID,
      'Content-Type', process.env.FILE_TYPE ?? 'application/octet-stream', 'Content-Length', String(size)],
    body,
  }
}

const server = http.createServer((_req, res) => {
  res.writeHead(status, headers)
  res.end(body)
})
// switchyard's default keep_alive: Node's `Keep-Alive: timeout=75` header is then the same too.
server.keepAliveTimeout = 75_000
server.listen(Number(process.env.PORT), '127.0.0.1')
process.on('SIGTERM', () => process.exit(0))
