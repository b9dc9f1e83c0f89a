// One client request's entry: the checks made before any server is involved (framing,
// target form, declared body size, route), then the route's target takes it: a static
// directory (static.ts), an upstream (exchange.ts) or an upstream behind a cache
// (cached-exchange.ts). Answers given here are local: 400, 404, 413.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Http2ServerRequest } from 'node:http2'
import { randomUUID } from 'node:crypto'
import { upstreamRequestHeaders, type UpstreamHeaders } from '../../core/headers.js'
import { declaredLength, framingIsSafe, isOriginForm } from '../../core/framing.js'
import type { ForwardContext } from '../runtime/context.js'
import { CachedRoute } from '../runtime/cached-route.js'
import { clientAddress, fromTrustedProxy, requestProto } from '../runtime/client-address.js'
import { StaticSite } from '../runtime/static-site.js'
import { AccessLog } from '../observe/access-log.js'
import { localBodyBytes, sendLocal, setErrorPages } from './replies.js'
import { takeBytesRead } from './bytes.js'
import { BodyLimit } from './body-limit.js'
import { serveStatic } from './static.js'
import { Exchange } from './exchange.js'
import { answerFreshHit, CachedExchange } from './cached-exchange.js'
import type { ProxyRoute } from '../runtime/proxy-route.js'
import { BufferedRequest } from './buffered-request.js'
import type { BufferingConfig } from '../../config/types.js'
import { PolicyRoute, type InnerTarget } from '../runtime/policy-route.js'
import { runPolicies } from './policies.js'

/** `maxBodySize` is the listener's `max_body_size` (0 = none). */
export function forward(ctx: ForwardContext, req: IncomingMessage, res: ServerResponse, maxBodySize = 0): void {
  const started = performance.now()
  // While draining, every response closes its connection (Node adds `Connection: close`).
  if (ctx.lifecycle.draining) res.shouldKeepAlive = false
  const url = req.url ?? ''
  let headers = upstreamRequestHeaders(req.rawHeaders, clientAddress(req), requestProto(req), randomUUID, fromTrustedProxy(req))
  // h2: a body needs no Content-Length; there is one unless the HEADERS frame ended the stream.
  // ("HTTP/2.0" written in an HTTP/1 request line has no stream: refused just below.)
  const h2Stream = req.httpVersionMajor === 2 ? (req as unknown as Partial<Http2ServerRequest>).stream : undefined
  if (h2Stream !== undefined && !headers.hasBody && !h2Stream.endAfterHeaders) headers = { ...headers, hasBody: true }
  if (!framingIsSafe(req.httpVersionMajor, req.httpVersionMinor, headers.transferEncoding, h2Stream !== undefined)) {
    // Another hop may frame this request differently (smuggling): refuse it and close.
    res.shouldKeepAlive = false
    answerLocally(ctx, req, res, headers, 400, started)
    return
  }
  if (!isOriginForm(url)) {
    answerLocally(ctx, req, res, headers, 400, started)
    return
  }
  if (maxBodySize > 0 && headers.hasBody && declaredLength(req.headers['content-length']) > maxBodySize) {
    res.shouldKeepAlive = false // the body is not read: the connection can not carry another request
    answerLocally(ctx, req, res, headers, 413, started)
    return
  }
  const target = ctx.router(headers.host, url)
  if (target === undefined) {
    setErrorPages(res, ctx.errorPages)
    answerLocally(ctx, req, res, headers, 404, started)
    return
  }
  // A route with policies (issue #17): its compiled chain runs first, then serve() below.
  if (target instanceof PolicyRoute) runPolicies(ctx, target, req, res, headers, started, maxBodySize, serve)
  else serve(ctx, target, req, res, headers, started, maxBodySize)
}

/** The route's target takes the request: a static directory, an upstream (buffered, cached or plain). */
function serve(ctx: ForwardContext, target: InnerTarget, req: IncomingMessage, res: ServerResponse, headers: UpstreamHeaders, started: number, maxBodySize: number): void {
  if (target instanceof StaticSite) {
    serveStatic(ctx, target, req, res, headers, started)
    return
  }
  // A body goes through a stream of ours (body-limit.ts), counted against max_body_size
  // when its length is unknown.
  const body = !headers.hasBody ? null
    : new BodyLimit(maxBodySize > 0 && req.headers['content-length'] === undefined ? maxBodySize : undefined)
  if (!(target instanceof CachedRoute)) {
    if (target.buffering === null) new Exchange(ctx, req, res, target, headers, started, body).attempt()
    else forwardBuffered(ctx, req, res, target, target.buffering, headers, started, body)
  } else if (target.buffering?.request === true && body !== null) new BufferedRequest(ctx, req, res, target.route, target, headers, started, body, target.buffering).start()
  else if (!answerFreshHit(ctx, target, req, res, headers, started)) new CachedExchange(ctx, req, res, target, headers, started, body).attempt()
}

/** A route with buffering (issue #16): the body is read whole first (request), and/or the response may be spooled. */
function forwardBuffered(ctx: ForwardContext, req: IncomingMessage, res: ServerResponse, route: ProxyRoute, buffering: BufferingConfig, headers: UpstreamHeaders, started: number, body: BodyLimit | null): void {
  if (buffering.request && body !== null) {
    new BufferedRequest(ctx, req, res, route, null, headers, started, body, buffering).start()
    return
  }
  const exchange = new Exchange(ctx, req, res, route, headers, started, body)
  if (buffering.response) exchange.responseBuffering = buffering
  exchange.attempt()
}

/** A request answered before any upstream was chosen: the answer, its metrics and access log line. */
function answerLocally(ctx: ForwardContext, req: IncomingMessage, res: ServerResponse, headers: UpstreamHeaders, status: number, started: number): void {
  sendLocal(res, status, headers.requestId)
  if (ctx.requestMetrics) ctx.unrouted.record(req.method as string, status, (performance.now() - started) / 1000)
  if (ctx.accessLog === null) return
  ctx.accessLog.write(headers, req.method as string, req.url as string, clientAddress(req), status, AccessLog.NO_TARGET, AccessLog.NO_ROUTE, (performance.now() - started) / 1000, takeBytesRead(req.socket), localBodyBytes(status), 0, '', '', req.httpVersion)
}

