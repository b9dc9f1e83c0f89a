// One client request, forwarded: route -> pick -> dispatch -> stream back -> finish().
// An Exchange is both the per-request state and the undici dispatch handler (controller
// API), so a request allocates one object, not a handler per callback; listeners on the
// client response are module-level functions that find their Exchange through a symbol.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { randomUUID } from 'node:crypto'
import type { Dispatcher } from 'undici'
import { upstreamRequestHeaders, clientResponseHeaders, type UpstreamHeaders } from '../../core/headers.js'
import type { Router } from '../../core/routes.js'
import type { Upstream } from '../runtime/upstreams.js'
import { Attempts } from './attempts.js'
import type { RequestStats } from '../observe/request-stats.js'
import { AccessLog } from '../observe/access-log.js'
import { localBodyBytes, sendLocal, statusAfterClientGone } from './replies.js'
import { takeBytesRead } from './bytes.js'
import { BodyLimit } from './body-limit.js'
import { serveStatic, StaticSite } from './static.js'
import { CachedRoute, CacheStep, cacheOrigin, kCacheClient, type CacheClient, type CacheResult } from '../cache/cache.js'
import { classifyError } from '../../core/errors.js'

export interface ForwardContext {
  /** A route leads to an upstream (proxied), a CachedRoute (cache.ts: proxied through its cache) or a static directory (static.ts). */
  readonly router: Router<Upstream | CachedRoute | StaticSite>
  /** null when `log.access_log` is false (or the level is above info). */
  readonly accessLog: AccessLog | null
  /** requests_total / duration for requests that reached no upstream (400, 404). */
  readonly unrouted: RequestStats
  /** `admin.request_metrics`: false skips the per-request series. */
  readonly requestMetrics: boolean
  /** Shared with the daemon: true once a graceful shutdown has begun. */
  readonly lifecycle: Lifecycle
}

export interface Lifecycle {
  draining: boolean
  /** Open WebSocket tunnels, cut when shutdown_timeout runs out. */
  readonly websockets: Set<{ destroy(): void }>
}

const kExchange = Symbol('switchyard.exchange')
type TrackedResponse = ServerResponse & { [kExchange]?: Exchange }

const SLASH = 47 // '/': origin-form targets only; absolute-form and '*' are refused (400)

/** `maxBodySize` is the listener's `max_body_size` (0 = none). */
export function forward(ctx: ForwardContext, req: IncomingMessage, res: ServerResponse, maxBodySize = 0): void {
  const started = performance.now()
  // While draining, every response closes its connection (Node adds `Connection: close`).
  if (ctx.lifecycle.draining) res.shouldKeepAlive = false
  const url = req.url ?? ''
  const headers = upstreamRequestHeaders(req.rawHeaders, req.socket.remoteAddress ?? '', 'http', randomUUID)
  if (!framingIsSafe(req)) {
    // Another hop may frame this request differently (smuggling): refuse it and close.
    res.shouldKeepAlive = false
    sendLocal(res, 400, headers.requestId)
    finishLocal(ctx, req, headers.requestId, 400, started)
    return
  }
  if (url.charCodeAt(0) !== SLASH) {
    sendLocal(res, 400, headers.requestId)
    finishLocal(ctx, req, headers.requestId, 400, started)
    return
  }
  if (maxBodySize > 0 && headers.hasBody && declaredLength(req) > maxBodySize) {
    res.shouldKeepAlive = false // the body is not read: the connection can not carry another request
    sendLocal(res, 413, headers.requestId)
    finishLocal(ctx, req, headers.requestId, 413, started)
    return
  }
  const target = ctx.router(headers.host, url)
  if (target === undefined) {
    sendLocal(res, 404, headers.requestId)
    finishLocal(ctx, req, headers.requestId, 404, started)
    return
  }
  if (target instanceof StaticSite) {
    serveStatic(ctx, target, req, res, headers.requestId, started)
    return
  }
  // A body goes through a stream of ours (body-limit.ts), counted against max_body_size
  // when its length is unknown.
  const body = !headers.hasBody ? null
    : new BodyLimit(maxBodySize > 0 && req.headers['content-length'] === undefined ? maxBodySize : undefined)
  if (target instanceof CachedRoute) new Exchange(ctx, req, res, target.upstream, headers, started, body, target).attempt()
  else new Exchange(ctx, req, res, target, headers, started, body, null).attempt()
}

/**
 * HTTP/1.1 or HTTP/1.0 only (a version-less "HTTP/0.9" line with headers after it is read
 * differently by other servers), and no Transfer-Encoding on HTTP/1.0, which does not have
 * it (RFC 9112 6.1: such framing is faulty).
 */
function framingIsSafe(req: IncomingMessage): boolean {
  if (req.httpVersionMajor !== 1) return false
  if (req.httpVersionMinor === 1) return true
  return req.httpVersionMinor === 0 && req.headers['transfer-encoding'] === undefined
}

/** The request's Content-Length (Node's parser has checked it is digits), or -1. */
export function declaredLength(req: IncomingMessage): number {
  const v = req.headers['content-length']
  return v === undefined ? -1 : Number(v)
}

/** Metrics and access log for a request answered before any upstream was chosen. */
function finishLocal(ctx: ForwardContext, req: IncomingMessage, requestId: string, status: number, started: number): void {
  if (ctx.requestMetrics) ctx.unrouted.record(req.method as string, status, (performance.now() - started) / 1000)
  if (ctx.accessLog === null) return
  ctx.accessLog.write(requestId, req.method as string, req.url as string, status, NO_TARGET, (performance.now() - started) / 1000, takeBytesRead(req.socket), localBodyBytes(status), 0, '')
}

const NO_TARGET = AccessLog.target('', '')

/** A cached route's request found no server to take its miss (cache.ts picks below the cache). */
const NO_SERVER = new Error('no server takes traffic')
/** undici refused a cached route's request synchronously (a header it does not accept). */
class RefusedByUndici extends Error {}
const NO_CONTROLLER = { rawHeaders: [], rawTrailers: [], paused: false, aborted: false, reason: null, pause() {}, resume() {}, abort() {} } as unknown as Dispatcher.DispatchController

class Exchange extends Attempts implements Dispatcher.DispatchHandler, CacheClient {
  readonly #ctx: ForwardContext
  readonly #req: IncomingMessage
  readonly #res: TrackedResponse
  // Kept apart from req.socket: undici destroys the request body stream when it is done
  // with it, and a destroyed IncomingMessage no longer points at its socket.
  readonly #socket: Socket
  readonly #headers: UpstreamHeaders
  readonly #started: number
  /** The request body on its way to undici (null: no body); counts it against max_body_size. */
  readonly #body: BodyLimit | null
  #status = 0
  #bytesOut = 0 // response body bytes passed to the client
  #clientGone = false
  #done = false
  /** Set for a route with a cache (null on every other route). */
  readonly #route: CachedRoute | null
  cacheStep: CacheStep = CacheStep.None
  /** A failure already counted by revalidationFailed(). */
  #revalidationError: Error | null = null
  /** The X-Cache value on a cached route, for the access log ('' elsewhere or before a response). */
  #cacheResult: CacheResult | '' = ''

  constructor(ctx: ForwardContext, req: IncomingMessage, res: ServerResponse, upstream: Upstream, headers: UpstreamHeaders, started: number, body: BodyLimit | null, route: CachedRoute | null) {
    super(upstream)
    this.#ctx = ctx
    this.#req = req
    this.#socket = req.socket
    this.#res = res
    this.#headers = headers
    this.#started = started
    this.#body = body
    this.#route = route
    if (body !== null) req.pipe(body)
    this.#res[kExchange] = this
    res.once('close', onClientClose)
  }

  attempt(): void {
    const route = this.#route
    if (route !== null) {
      if (route.cache.usable) return this.#viaCache(route)
      this.cacheStep = CacheStep.Bypass // the store is down: straight to a server
    }
    const server = this.pick()
    if (server === undefined) {
      this.#reply(this.noServerStatus())
      return
    }
    const req = this.#req
    try {
      server.pool.dispatch({
        path: req.url as string,
        method: req.method as string,
        headers: this.#headers.headers,
        body: this.#body,
      }, this)
    } catch (err) {
      // undici refused the request synchronously (a header it does not accept): our answer, not the server's.
      this.release()
      this.noteErrorCode(err)
      this.#reply(400)
    }
  }

  /** A cached route: the cache decides whether a server is asked (then toServer() picks it). */
  #viaCache(route: CachedRoute): void {
    const req = this.#req
    try {
      route.dispatch({
        origin: cacheOrigin(this.#headers.host),
        path: req.url as string,
        method: req.method as string,
        headers: this.#headers.headers,
        body: this.#body,
        [kCacheClient]: this,
      } as Dispatcher.DispatchOptions, this)
    } catch (err) {
      this.noteErrorCode(err)
      this.#reply(400)
    }
  }

  /**
   * A cached route's revalidation failed. Counted now (passive health, the error metric), as
   * undici may serve the stored response (`stale-if-error`) and never pass the error on; if it
   * does pass it on, #onError knows it was counted. A request merged into another's
   * revalidation picked no server: the one that did counts it.
   */
  revalidationFailed(err: Error): void {
    if (this.server === null || this.#clientGone) return
    this.#revalidationError = err
    this.failed(err)
    this.cacheStep = CacheStep.StaleAfterError
  }

  /** Below the cache and the deduplication: this request's miss goes to a server. */
  toServer(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const server = this.pick()
    if (server === undefined) {
      handler.onResponseError?.(NO_CONTROLLER, NO_SERVER)
      return true
    }
    try {
      return server.pool.dispatch(opts, handler)
    } catch (err) {
      // Through the handlers rather than thrown, so the deduplication forgets this key.
      handler.onResponseError?.(NO_CONTROLLER, new RefusedByUndici(String(err)))
      return true
    }
  }

  clientClosed(): void {
    if (this.#done) return
    this.#clientGone = true
    // Cancel the upstream request; if it has not started yet, onRequestStart does it.
    this.controller?.abort(new Error('client closed the connection'))
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller
    if (this.#clientGone) controller.abort(new Error('client closed the connection'))
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (statusCode < 200) return // 1xx (103 Early Hints...) are not passed on
    this.#status = statusCode
    // null: a cached route's answer from the cache or from another request's miss; a stale
    // answer after a failed revalidation is no success of the server's.
    if (this.cacheStep !== CacheStep.StaleAfterError) this.server?.noteSuccess()
    if (this.#ctx.lifecycle.draining) this.#res.shouldKeepAlive = false // the drain began while we waited
    const route = this.#route
    // rawHeaders keeps the server's case, order and duplicates (Set-Cookie): forward those, not the parsed object.
    if (route === null) this.#res.writeHead(statusCode, clientResponseHeaders(controller.rawHeaders as Buffer[], this.#headers.requestId))
    else if (this.cacheStep === CacheStep.Bypass && !route.cache.usable) {
      this.#cacheResult = 'BYPASS'
      this.#res.writeHead(statusCode, route.bypassHeaders(controller.rawHeaders as Buffer[], this.#headers.requestId))
    } else {
      this.#cacheResult = route.result(this.cacheStep, controller, headers)
      this.#res.writeHead(statusCode, route.responseHeaders(this.#cacheResult, controller, headers, this.#headers.requestId))
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#bytesOut += chunk.length
    if (!this.#res.write(chunk)) {
      // Backpressure: stop reading from the server until the client drains.
      controller.pause()
      this.#res.once('drain', onClientDrain)
    }
  }

  onResponseEnd(): void {
    this.#res.end()
    this.release()
    this.#finish(this.#status)
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    // An exception here would surface as an unhandled 'error' on the undici Client.
    try {
      this.#onError(err)
    } catch (bug) {
      this.#res.destroy()
      this.#finish(this.#status === 0 ? 502 : this.#status)
      this.upstream.log.error({ err: bug }, 'bug while handling an upstream error')
    }
  }

  #onError(err: Error): void {
    this.release()
    this.controller = null
    this.noteErrorCode(err)
    if (this.#clientGone || this.#socket.destroyed) {
      this.endProbe()
      this.#finish(statusAfterClientGone)
      return
    }
    if (this.#body?.exceeded === true) {
      // Our refusal, not the server's failure: no passive health step, no retry.
      this.endProbe()
      if (this.#res.headersSent) this.#res.destroy()
      else {
        this.#res.shouldKeepAlive = false // the rest of the body is not read
        this.#reply(413)
      }
      return
    }
    if (this.#route !== null && this.#onCacheError(err)) return
    const cls = err === this.#revalidationError && this.lastError !== null ? this.lastError : this.failed(err)
    if (this.#res.headersSent) {
      // The head is out: a truncated body must never look complete, so cut the connection.
      this.#res.destroy(err)
      this.#finish(this.#status)
      return
    }
    if (this.retryAfter(cls, this.#req.method as string, this.#headers.hasBody)) this.attempt()
    else this.#reply(cls.status)
  }

  /**
   * A cached route's failures that are not this request's own attempt at a server: no
   * server left to pick, undici's refusal, or a failure of a response this request did not
   * fetch itself (another request's miss it was merged into, or a stored body). True when handled.
   */
  #onCacheError(err: Error): boolean {
    if (err === NO_SERVER) this.#reply(this.noServerStatus())
    else if (err instanceof RefusedByUndici) this.#reply(400)
    else if (this.server !== null) return false
    else if (this.#res.headersSent) {
      this.#res.destroy(err)
      this.#finish(this.#status)
    } else this.#reply(classifyError(err).status)
    return true
  }

  resumeUpstream(): void {
    this.controller?.resume()
  }

  #reply(status: number): void {
    this.#bytesOut = this.#req.method === 'HEAD' ? 0 : localBodyBytes(status)
    sendLocal(this.#res, status, this.#headers.requestId, status === 503 ? this.upstream.retryAfter : undefined)
    this.#finish(status)
  }

  #finish(status: number): void {
    if (this.#done) return
    this.#done = true
    this.#res.off('close', onClientClose)
    // Answered before the whole body arrived (the server did not need it, or a refusal):
    // read and discard the rest, so the connection can carry the next request.
    const body = this.#body
    if (body !== null && !this.#req.complete && !this.#socket.destroyed) {
      this.#req.unpipe(body)
      body.destroy()
      this.#req.resume()
    }
    const server = this.server
    this.endProbe()
    const seconds = (performance.now() - this.#started) / 1000
    if (this.#ctx.requestMetrics) (server === null ? this.upstream.metrics : server.metrics).requests.record(this.#req.method as string, status, seconds)
    const log = this.#ctx.accessLog
    if (log === null) return
    const target = server === null ? this.upstream.accessTarget : server.accessTarget
    log.write(this.#headers.requestId, this.#req.method as string, this.#req.url as string, status, target, seconds, takeBytesRead(this.#socket), this.#bytesOut, this.retries, this.errorCode, this.#cacheResult)
  }
}

function onClientClose(this: TrackedResponse): void {
  this[kExchange]?.clientClosed()
}

function onClientDrain(this: TrackedResponse): void {
  this[kExchange]?.resumeUpstream()
}
