// A node:http backend for machines without nginx: "/" 12 bytes, "/64k" 65536 bytes,
// "/cacheable" 12 bytes with Cache-Control: public, max-age=3600, "/json10k" 10 KiB of JSON.
import http from 'node:http'
import { JSON_10K } from './json10k.mjs'
const port = Number(process.argv[2])
const big = Buffer.alloc(65536, 120)
const server = http.createServer((req, res) => {
  const body = req.url === '/64k' ? big : req.url === '/json10k' ? JSON_10K : 'hello world\n'
  res.writeHead(200, { 'content-length': body.length, 'x-backend': String(port), ...(req.url === '/cacheable' ? { 'cache-control': 'public, max-age=3600' } : {}), ...(req.url === '/json10k' ? { 'content-type': 'application/json' } : {}) })
  res.end(body)
})
server.keepAliveTimeout = 120_000
server.listen(port, '127.0.0.1')
process.on('SIGTERM', () => process.exit(0))
