// A node:http backend for machines without nginx: "/" 12 bytes, "/64k" 65536 bytes.
import http from 'node:http'
const port = Number(process.argv[2])
const big = Buffer.alloc(65536, 120)
const server = http.createServer((req, res) => {
  const body = req.url === '/64k' ? big : 'hello world\n'
  res.writeHead(200, { 'content-length': body.length, 'x-backend': String(port) })
  res.end(body)
})
server.keepAliveTimeout = 120_000
server.listen(port, '127.0.0.1')
process.on('SIGTERM', () => process.exit(0))
