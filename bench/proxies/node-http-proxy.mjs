// node-http-proxy 1.18 with a keep-alive http.Agent, round robin (as ../shared/bench-anchors).
// Env: PORT, BACKENDS (comma list of origins), BENCH_DEPS (where compare.mjs installed it).
import http from 'node:http'
import { createRequire } from 'node:module'

const load = createRequire(`${process.env.BENCH_DEPS}/package.json`)
const httpProxy = load('http-proxy')
const backends = process.env.BACKENDS.split(',')
const agent = new http.Agent({ keepAlive: true, maxSockets: 128, maxFreeSockets: 128 })
const proxy = httpProxy.createProxyServer({ agent, xfwd: false, ws: true })
proxy.on('error', (_err, _req, res) => {
  if (res instanceof http.ServerResponse && !res.headersSent) { res.writeHead(502); res.end('bad gateway\n') } else res.destroy()
})
let i = 0
const next = () => backends[i++ % backends.length]
const server = http.createServer((req, res) => proxy.web(req, res, { target: next() }))
server.on('upgrade', (req, socket, head) => proxy.ws(req, socket, head, { target: next() }))
server.keepAliveTimeout = 120_000
server.listen(Number(process.env.PORT), '127.0.0.1')
process.on('SIGTERM', () => process.exit(0))
