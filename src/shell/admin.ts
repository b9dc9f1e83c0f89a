// The admin side port (CONTRACT section 4): /metrics, /healthz, /readyz, /status.
// GET and HEAD only; anything else is 404 (unknown path) or 405 (other method).
// It never shares a port with the data listeners, which proxy every path, /metrics included.
import http from 'node:http'
import type { Registry } from 'prom-client'
import type { Lifecycle } from './forward.js'

export interface AdminDeps {
  readonly lifecycle: Lifecycle
  /** The /status document, built when asked. */
  status(): unknown
  /** The /metrics exposition, built when asked. */
  metrics(): Promise<{ contentType: string; text: string }>
}

/** /metrics of a single process: its registry. */
export function registryMetrics(registry: Registry): AdminDeps['metrics'] {
  return async () => ({ contentType: registry.contentType, text: await registry.metrics() })
}

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' })
  res.end(body)
}

export function adminHandler(deps: AdminDeps): http.RequestListener {
  return (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0]
    const known = path === '/metrics' || path === '/healthz' || path === '/readyz' || path === '/status'
    if (!known) return send(res, 404, 'text/plain; charset=utf-8', 'not found\n')
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD')
      return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n')
    }
    switch (path) {
      case '/healthz':
        return send(res, 200, 'text/plain; charset=utf-8', 'ok\n')
      case '/readyz':
        return deps.lifecycle.draining
          ? send(res, 503, 'text/plain; charset=utf-8', 'draining\n')
          : send(res, 200, 'text/plain; charset=utf-8', 'ready\n')
      case '/status':
        void Promise.resolve(deps.status()).then(
          (doc) => send(res, 200, 'application/json', `${JSON.stringify(doc, null, 2)}\n`),
          (err: unknown) => send(res, 500, 'text/plain; charset=utf-8', `status failed: ${(err as Error).message}\n`),
        )
        return
      default:
        deps.metrics().then(
          ({ contentType, text }) => send(res, 200, contentType, text),
          (err: unknown) => send(res, 500, 'text/plain; charset=utf-8', `metrics failed: ${(err as Error).message}\n`),
        )
    }
  }
}
