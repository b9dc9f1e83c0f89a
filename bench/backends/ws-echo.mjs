// A WebSocket echo backend (the `ws` devDependency): every message comes straight back.
// Plain HTTP requests (switchyard's health checks) get 200 "hello world".
import http from 'node:http'
import { WebSocketServer } from 'ws'

const port = Number(process.argv[2])
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-length': 12, 'x-backend': String(port) })
  res.end('hello world\n')
})
server.keepAliveTimeout = 120_000
// No compression: the bench measures the proxies' framing-free byte pumping, not zlib.
const wss = new WebSocketServer({ server, perMessageDeflate: false })
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }))
  ws.on('error', () => ws.terminate())
})
server.listen(port, '127.0.0.1')
process.on('SIGTERM', () => process.exit(0))
