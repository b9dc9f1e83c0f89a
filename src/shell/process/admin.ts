// The admin side port (docs/operations.md#admin-port): the live status page at / (status-page.ts),
// /metrics, /healthz, /readyz, /status, and POST /cache/purge (response caches). GET and HEAD only on the others; anything else is
// 404 (unknown path) or 405 (other method).
// It never shares a port with the data listeners, which proxy every path, /metrics included.
import http from 'node:http'
import type { Registry } from 'prom-client'
import type { Lifecycle } from '../runtime/context.js'
import { STATUS_PAGE, STATUS_PAGE_CSP } from './status-page.js'

export interface AdminDeps {
  readonly lifecycle: Lifecycle
  /** The /status document, built when asked. */
  status(): unknown
  /** The /metrics exposition, built when asked. */
  metrics(): Promise<{ contentType: string; text: string }>
  /** Drops one URL (null: everything) from every response cache, in every worker. */
  purge(url: URL | null): Promise<void>
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
    if (path === '/cache/purge') return purge(deps, req, res)
    const known = path === '/' || path === '/metrics' || path === '/healthz' || path === '/readyz' || path === '/status'
    if (!known) return send(res, 404, 'text/plain; charset=utf-8', 'not found\n')
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD')
      return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n')
    }
    switch (path) {
      case '/':
        res.setHeader('content-security-policy', STATUS_PAGE_CSP)
        res.setHeader('x-content-type-options', 'nosniff')
        return send(res, 200, 'text/html; charset=utf-8', STATUS_PAGE)
      case '/healthz':
        return send(res, 200, 'text/plain; charset=utf-8', 'ok\n')
      case '/readyz':
        if (deps.lifecycle.draining) return send(res, 503, 'text/plain; charset=utf-8', 'draining\n')
        return deps.lifecycle.ready
          ? send(res, 200, 'text/plain; charset=utf-8', 'ready\n')
          : send(res, 503, 'text/plain; charset=utf-8', 'starting\n')
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

/**
 * `POST /cache/purge?url=http://host/path?query` drops that URL (every method and Vary
 * variant) from every cache; `POST /cache/purge?all=true` drops everything. The URL is
 * the one clients ask for: its host is the request's Host header (the cache key).
 */
function purge(deps: AdminDeps, req: http.IncomingMessage, res: http.ServerResponse): void {
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST')
    return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed: use POST\n')
  }
  const query = new URLSearchParams((req.url ?? '').slice('/cache/purge'.length).replace(/^\?/, ''))
  const raw = query.get('url')
  const all = query.get('all') === 'true'
  if ((raw === null) === !all) return send(res, 400, 'text/plain; charset=utf-8', 'give either url=<http://host/path> or all=true\n')
  let url: URL | null = null
  if (raw !== null) {
    try {
      url = new URL(raw)
    } catch {
      url = null
    }
    if (url === null || url.protocol !== 'http:' || url.hash !== '') {
      return send(res, 400, 'text/plain; charset=utf-8', `url must be an absolute http:// URL without a fragment (got ${JSON.stringify(raw)})\n`)
    }
  }
  deps.purge(url).then(
    () => send(res, 200, 'application/json', `${JSON.stringify({ purged: url === null ? 'all' : url.href })}\n`),
    (err: unknown) => send(res, 500, 'text/plain; charset=utf-8', `purge failed: ${(err as Error).message}\n`),
  )
}
