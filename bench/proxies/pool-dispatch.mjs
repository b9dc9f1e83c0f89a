// The bare reference of issue #6 (../shared/bench-anchors' undici-dispatch with undici's
// controller API): node:http + one undici Pool per backend, round robin, Pool.dispatch with
// a raw handler, hop-by-hop headers dropped, backpressure, client abort. No routes, health,
// retries, X-Forwarded-*, request ids, log or metrics: what those cost is switchyard's
// distance to it. Uses the project's undici. Env: PORT, BACKENDS (comma list of origins).
import http from 'node:http'
import { Pool } from 'undici'

const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authenticate', 'proxy-authorization'])
const pools = process.env.BACKENDS.split(',').map((o) => new Pool(o, { connections: 128, pipelining: 1 }))
let turn = 0

function filter(raw, latin1) {
  const out = []
  for (let i = 0; i < raw.length; i += 2) {
    const k = latin1 ? raw[i].toString('latin1') : raw[i]
    if (k.length <= 19 && HOP.has(k.toLowerCase())) continue
    out.push(k, latin1 ? raw[i + 1].toString('latin1') : raw[i + 1])
  }
  return out
}

const kHandler = Symbol('handler')
function onClientClose() {
  const h = this[kHandler]
  if (!h.done) { h.done = true; h.controller?.abort(new Error('client closed the connection')) }
}

class Handler {
  constructor(res) { this.res = res; this.controller = null; this.done = false; res[kHandler] = this; res.once('close', onClientClose) }
  onRequestStart(controller) { this.controller = controller; if (this.done) controller.abort(new Error('client closed the connection')) }
  onResponseStart(controller, status) { this.res.writeHead(status, filter(controller.rawHeaders, true)) }
  onResponseData(controller, chunk) {
    if (!this.res.write(chunk)) { controller.pause(); this.res.once('drain', () => controller.resume()) }
  }
  onResponseEnd() { this.done = true; this.res.end() }
  onResponseError(_controller, err) {
    this.done = true
    if (this.res.headersSent) this.res.destroy(err)
    else { this.res.writeHead(502, { 'content-length': '0' }); this.res.end() }
  }
}

const server = http.createServer((req, res) => {
  const pool = pools[turn++ % pools.length]
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined
  pool.dispatch({ path: req.url, method: req.method, headers: filter(req.rawHeaders, false), body: hasBody ? req : null }, new Handler(res))
})
server.keepAliveTimeout = 120_000
server.listen(Number(process.env.PORT), '127.0.0.1')
process.on('SIGTERM', () => process.exit(0))
