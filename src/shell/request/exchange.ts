// One proxied request: pick a server -> dispatch to its Pool -> stream the answer back ->
// finish(). An Exchange is both the per-request state and the undici dispatch handler
// (controller API), so a request allocates one object, not a handler per callback;
// listeners on the client response are module-level functions that find their Exchange
// through a symbol. A route with a cache uses the subclass in cached-exchange.ts, which
// overrides the few steps marked "hook" below.
import { clientAddress } from '../runtime/client-address.js'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Dispatcher } from 'undici'
import { clientResponseHeaders, type RawResponseHeaders, type UpstreamHeaders } from '../../core/headers.js'
import { LocalFailure, type ErrorClass } from '../../core/errors.js'
import type { ForwardContext } from '../runtime/context.js'
import type { ProxyRoute } from '../runtime/proxy-route.js'
import { Attempts, FULL_RETRY_AFTER } from './attempts.js'
import { localBodyBytes, sendLocal, statusAfterClientGone } from './replies.js'
import { takeBytesRead } from './bytes.js'
import type { BodyLimit } from './body-limit.js'
import { bodyBytes } from './body-gc.js'
import type { BufferingConfig } from '../../config/types.js'
import { responseMayBuffer } from '../../core/buffering.js'
import type { Spool } from './spool.js'
import { ResponseSpooler, type SpoolOwner } from './buffered-response.js'
import { COMPRESS, compressorFor, outboundHead, routeCompression } from './outbound.js'
import type { Compressor, CompressorOwner } from './compressor.js'
import type { RouteCompression } from '../runtime/route-compression.js'

const kExchange = Symbol('switchyard.exchange')
type TrackedResponse = ServerResponse & { [kExchange]?: Exchange }

export class Exchange extends Attempts implements Dispatcher.DispatchHandler, SpoolOwner, CompressorOwner {
  protected readonly ctx: ForwardContext
  protected readonly req: IncomingMessage
  protected readonly res: TrackedResponse
  // Kept apart from req.socket: undici destroys the request body stream when it is done
  // with it, and a destroyed IncomingMessage no longer points at its socket.
  readonly #socket: Socket
  protected readonly headers: UpstreamHeaders
  /** The route: its name for the access log, its response timeouts for each dispatch. */
  readonly #route: ProxyRoute
  readonly #started: number
  /** The request body on its way to undici (null: no body); counts it against max_body_size. */
  protected readonly body: BodyLimit | null
  protected status = 0
  protected bytesOut = 0 // response body bytes passed to the client
  #clientGone = false
  #done = false
  /** Request buffering (buffered-request.ts): the whole body, sent again from its start by each attempt. */
  spooledBody: Spool | null = null
  /** Response buffering on this route (buffered-response.ts); null: the response streams with backpressure. */
  responseBuffering: BufferingConfig | null = null
  /** This response may be spooled (responseBuffering, and core/buffering.ts allows it). */
  #mayBuffer = false
  /** The client fell behind: the response goes through a spool from here on. */
  #spooler: ResponseSpooler | null = null
  /** This attempt's response (a listed 502/503/504) is read and dropped: a retry follows. */
  #dropping = false
  /** A gRPC Trailers-Only head for an h2 client, written at the end (#writeHeldHead). */
  #heldHead: string[] | null = null
  /** The route's way out answered instead (intercept_errors): the server's body is read and dropped. */
  #dropBody = false
  /** The body goes through a zlib stream to the client (the route's `compress`, outbound.ts). */
  protected compressor: Compressor | null = null
  /** The server's body is complete; the compressor is flushing the rest. */
  #compressorEnding = false
  /** The server's trailers, held while the compressor flushes. */
  #trailers: Record<string, string | string[] | undefined> | undefined = undefined

  constructor(ctx: ForwardContext, req: IncomingMessage, res: ServerResponse, route: ProxyRoute, headers: UpstreamHeaders, started: number, body: BodyLimit | null) {
    super(route.upstream, req, started)
    this.#route = route
    this.ctx = ctx
    this.req = req
    this.#socket = req.socket
    this.res = res
    this.headers = headers
    this.#started = started
    this.body = body
    if (body !== null) req.pipe(body)
    // An HTTP/2 upstream gets the client's `TE: trailers` (gRPC servers ask for it).
    if (headers.teTrailers && route.upstream.config.http2) headers.headers.push('te', 'trailers')
    this.res[kExchange] = this
    res.once('close', onClientClose)
  }

  attempt(): void {
    const server = this.pick()
    if (server === undefined) {
      this.noServer()
      return
    }
    const req = this.req
    const timeouts = this.#route.timeouts
    try {
      server.pool.dispatch({
        path: req.url as string,
        method: req.method as string,
        headers: this.headers.headers,
        servername: server.serverName, // server-transport.ts (undici takes it; its types omit it)
        body: this.spooledBody === null ? this.body : this.spooledBody.body(),
        headersTimeout: timeouts.responseHeadersMs,
        bodyTimeout: timeouts.idleMs,
      } as Dispatcher.DispatchOptions, this)
    } catch (err) {
      // undici refused the request synchronously (a header it does not accept): our answer, not the server's.
      this.refused(err)
    }
  }

  /**
   * No server takes traffic: 503 (or the last failed attempt's status, after a retry). Every
   * server at its max_requests: wait in the queue, else 503 with a short Retry-After.
   */
  protected noServer(): void {
    const why = this.waitForSlot()
    if (why === null) return // queued: resume() or timedOutInQueue() comes later
    if (this.lastError === null) this.errorCode = why
    this.reply(this.noServerStatus(), why === 'SY_NO_SERVER' ? this.upstream.retryAfter : FULL_RETRY_AFTER)
  }

  protected resume(): void {
    this.attempt()
  }

  protected timedOutInQueue(): void {
    if (this.lastError === null) this.errorCode = 'SY_QUEUE_TIMEOUT'
    this.reply(this.noServerStatus(), FULL_RETRY_AFTER)
  }

  /** undici refused the request before sending it: 400, with our own code in the access log. */
  protected refused(err: unknown): void {
    this.release()
    const failure = err instanceof LocalFailure ? err : new LocalFailure('SY_REFUSED', undefined, err)
    this.noteErrorCode(failure)
    this.reply(failure.status)
  }

  clientClosed(): void {
    if (this.#done) return
    this.#clientGone = true
    if (this.leaveQueue()) return this.finish(statusAfterClientGone) // never dispatched
    // The server is done and the rest of its response was for this client only.
    if (this.#spooler?.upstreamEnded === true || this.#compressorEnding) return this.finish(statusAfterClientGone)
    // Cancel the upstream request; if it has not started yet, onRequestStart does it.
    this.controller?.abort(new Error('client closed the connection'))
  }

  protected get clientGone(): boolean {
    return this.#clientGone
  }

  /** finish() has run: the request is answered (or its client gone) and logged. */
  protected get finished(): boolean {
    return this.#done
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller
    if (this.#clientGone) controller.abort(new Error('client closed the connection'))
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (statusCode < 200) return // 1xx (103 Early Hints...) are not passed on
    if (statusCode >= 502 && statusCode <= 504 && this.upstream.retriesStatus && this.#dropForRetry(statusCode, headers['retry-after'])) return
    this.status = statusCode
    this.serverAnswered()
    if (this.ctx.lifecycle.draining) this.res.shouldKeepAlive = false // the drain began while we waited
    const head = this.responseHead(controller, headers)
    // The route's policies on the way out (outbound.ts): response header rules, intercept_errors, compression.
    const sent = outboundHead(this.res, statusCode, head, this.headers.requestId)
    if (sent >= 0) {
      this.bytesOut = sent
      this.#dropBody = true
      return
    }
    const cookie = this.stickyCookie((this.#socket as Socket & { encrypted?: boolean }).encrypted === true) // Secure on TLS listeners
    if (cookie !== null) head.push('Set-Cookie', cookie) // after the server's own Set-Cookie headers
    // Compression, last on the way out (outbound.ts): edits the head, and the body goes through it.
    if (sent === COMPRESS) this.compressor = compressorFor(routeCompression(this.res) as RouteCompression, this.res, this.req, statusCode, headers, head, this)
    // A gRPC "Trailers-Only" answer (grpc-status in the head, no body) must reach an h2 client
    // as one HEADERS frame that ends the stream, or grpc-js reads no status: held until the end.
    if (this.req.httpVersionMajor === 2 && headers['grpc-status'] !== undefined) this.#heldHead = head
    else this.res.writeHead(statusCode, head)
    const buffering = this.responseBuffering
    if (buffering !== null && this.compressor === null) this.#mayBuffer = buffering.maxTempSize > 0 && responseMayBuffer(this.req.method as string, statusCode, headers['content-type'], headers['x-accel-buffering'])
  }

  /**
   * retry_on lists this status and another server may answer: the response is read and
   * dropped (the connection stays in its Pool), then the next attempt goes out.
   */
  #dropForRetry(status: number, retryAfter: string | string[] | undefined): boolean {
    if (this.res.headersSent || !this.retryStatus(status, typeof retryAfter === 'string' ? retryAfter : undefined, this.req.method as string, this.headers.hasBody || this.spooledBody !== null)) return false
    this.#dropping = true
    return true
  }

  /** Hook: a response head arrived from the server of this attempt (passive health). */
  protected serverAnswered(): void {
    this.server?.noteSuccess()
  }

  /**
   * Hook: the head the client gets. rawHeaders keeps the server's case, order and
   * duplicates (Set-Cookie): forward those, not the parsed object.
   */
  protected responseHead(controller: Dispatcher.DispatchController, _headers: Record<string, string | string[] | undefined>): string[] {
    return clientResponseHeaders(controller.rawHeaders as RawResponseHeaders, this.headers.requestId)
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#dropping || this.#dropBody) return
    if (this.#heldHead !== null) this.#writeHeldHead(false)
    bodyBytes(chunk.length)
    if (this.compressor !== null) {
      // Backpressure through the compressor: resumeUpstream() once it has taken this in.
      if (!this.compressor.write(chunk)) controller.pause()
      return
    }
    this.bytesOut += chunk.length
    if (this.#spooler !== null) return this.#spooler.push(chunk)
    if (!this.res.write(chunk)) {
      // Response buffering: keep reading at the server's speed, the client gets it from a spool.
      if (this.#mayBuffer) {
        this.#spooler = new ResponseSpooler(this.res, this.responseBuffering as BufferingConfig, controller, this)
        return
      }
      // Backpressure: stop reading from the server until the client drains.
      controller.pause()
      this.res.once('drain', onClientDrain)
    }
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers?: Record<string, string | string[] | undefined>): void {
    if (this.#dropping) return this.#retryDropped()
    if (this.#spooler !== null) {
      this.release() // the server is done: free it now, the client is fed from the spool
      this.#spooler.end()
      return
    }
    if (this.compressor !== null) {
      this.release() // the server is done; the compressor flushes, then compressedEnd()
      this.#compressorEnding = true
      this.#trailers = trailers
      this.compressor.end()
      return
    }
    // Trailers (gRPC's grpc-status, HTTP/1.1 chunked trailers) go on to the client: as an
    // HTTP/2 trailing HEADERS frame, or after the last chunk of a chunked HTTP/1.1 response.
    if (this.#heldHead !== null) this.#writeHeldHead(true)
    if (trailers !== undefined && this.req.method !== 'HEAD') forwardTrailers(this.res, trailers)
    this.res.end()
    this.release()
    this.finish(this.status)
  }

  /** The compressor wrote its last bytes: the response ends (with the server's trailers, if any). */
  compressedEnd(): void {
    const trailers = this.#trailers
    this.#trailers = undefined
    if (trailers !== undefined && this.req.method !== 'HEAD') forwardTrailers(this.res, trailers)
    this.res.end()
    this.finish(this.status)
  }

  /** zlib failed mid-body: the client is cut (a truncated body must never look complete). */
  compressedFailed(err: Error): void {
    this.upstream.log.warn({ err }, 'compression failed; the client connection is cut')
    this.res.destroy(err)
    if (this.#compressorEnding) this.finish(this.status) // else the client's close aborts the server's response
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    // An exception here would surface as an unhandled 'error' on the undici Client.
    try {
      this.#onError(err)
    } catch (bug) {
      this.res.destroy()
      this.finish(this.status === 0 ? 502 : this.status)
      this.upstream.log.error({ err: bug }, 'bug while handling an upstream error')
    }
  }

  /**
   * The held head goes out: with writeHead when a body follows; else as headers set one by one,
   * which Node's h2 compatibility API sends with END_STREAM when end() comes next.
   */
  #writeHeldHead(ending: boolean): void {
    const head = this.#heldHead as string[]
    this.#heldHead = null
    if (!ending) {
      this.res.writeHead(this.status, head)
      return
    }
    this.res.statusCode = this.status
    const fields = new Map<string, string[]>()
    for (let i = 0; i < head.length; i += 2) {
      const name = (head[i] as string).toLowerCase()
      const values = fields.get(name)
      if (values === undefined) fields.set(name, [head[i + 1] as string])
      else values.push(head[i + 1] as string)
    }
    for (const [name, values] of fields) this.res.setHeader(name, values.length === 1 ? values[0] as string : values)
  }

  /** The dropped response is over (read to its end, or cut): the retry decided on its head goes out. */
  #retryDropped(): void {
    this.#dropping = false
    this.release()
    this.controller = null
    if (this.#clientGone || this.#socket.destroyed) this.finish(statusAfterClientGone)
    else this.attempt()
  }

  #onError(err: Error): void {
    if (this.#dropping) return this.#retryDropped()
    this.release()
    this.controller = null
    this.noteErrorCode(err)
    if (this.#clientGone || this.#socket.destroyed) {
      this.endTrial()
      this.finish(statusAfterClientGone)
      return
    }
    if (this.body?.exceeded === true) {
      // Our refusal, not the server's failure: no passive health step, no retry.
      this.endTrial()
      if (this.res.headersSent) this.res.destroy()
      else {
        this.res.shouldKeepAlive = false // the rest of the body is not read
        this.reply(413)
      }
      return
    }
    if (this.handledLocally(err)) return
    const cls = this.attemptFailed(err)
    if (this.res.headersSent) {
      // The head is out: a truncated body must never look complete, so cut the connection.
      this.cutAfterHead(err)
      return
    }
    if (this.retryAfter(cls, this.req.method as string, this.headers.hasBody)) this.attempt()
    else this.reply(cls.status)
  }

  /** Hook: a failure that is not this attempt's at a server, answered here; true when handled. */
  protected handledLocally(_err: Error): boolean {
    return false
  }

  /** Hook: this attempt at a server failed: count it (passive health, metric) and classify it. */
  protected attemptFailed(err: Error): ErrorClass {
    return this.failed(err)
  }

  /** The response head is out and the body broke: cut the connection, so it never looks complete. */
  protected cutAfterHead(err: Error): void {
    this.res.destroy(err)
    this.finish(this.status)
  }

  /** A spooled response has reached the client in full. */
  spoolDelivered(): void {
    this.finish(this.status)
  }

  /** The response's temp file failed: cut the client (a truncated body must never look complete). */
  spoolFailed(err: Error): void {
    this.upstream.log.warn({ err }, 'response buffering: cannot use the temp file; the client connection is cut')
    this.res.destroy(err)
  }

  resumeUpstream(): void {
    this.controller?.resume()
  }

  protected reply(status: number, retryAfter = this.upstream.retryAfter): void {
    this.bytesOut = this.req.method === 'HEAD' ? 0 : localBodyBytes(status)
    sendLocal(this.res, status, this.headers.requestId, status === 503 ? retryAfter : undefined)
    this.finish(status)
  }

  /** Hook: the access log's cache column ('' on a route without a cache). */
  protected cacheColumn(): string {
    return ''
  }

  protected finish(status: number): void {
    if (this.#done) return
    this.#done = true
    this.res.off('close', onClientClose)
    if (this.#spooler !== null) this.#spooler.close()
    if (this.compressor !== null) {
      this.compressor.destroy() // nothing when it ended
      this.bytesOut = this.compressor.bytesOut
    }
    if (this.spooledBody !== null) void this.spooledBody.close()
    // Answered before the whole body arrived (the server did not need it, or a refusal):
    // read and discard the rest, so the connection can carry the next request.
    const body = this.body
    if (body !== null && !this.req.complete && !this.#socket.destroyed) {
      this.req.unpipe(body)
      body.destroy()
      this.req.resume()
    }
    const server = this.server
    this.endTrial()
    const seconds = (performance.now() - this.#started) / 1000
    if (this.ctx.requestMetrics) (server === null ? this.upstream.metrics : server.metrics).requests.record(this.req.method as string, status, seconds)
    const log = this.ctx.accessLog
    if (log === null) return
    const target = server === null ? this.upstream.accessTarget : server.accessTarget
    log.write(this.headers, this.req.method as string, this.req.url as string, clientAddress(this.req, this.#socket), status, target, this.#route.accessRoute, seconds,
      takeBytesRead(this.#socket), this.bytesOut, this.retries, this.errorCode, this.cacheColumn(), this.req.httpVersion)
  }
}

/** Trailer fields that framing or routing owns are never forwarded (RFC 9110 6.5.1). */
const NOT_TRAILERS = new Set(['content-length', 'transfer-encoding', 'host', 'connection', 'keep-alive', 'trailer', 'te', 'upgrade', 'content-type', 'content-encoding', 'content-range'])

function forwardTrailers(res: ServerResponse, trailers: Record<string, string | string[] | undefined>): void {
  let out: Record<string, string | string[]> | null = null
  for (const name in trailers) {
    const v = trailers[name]
    if (v === undefined || NOT_TRAILERS.has(name)) continue
    ;(out ??= {})[name] = v
  }
  if (out === null) return
  try {
    res.addTrailers(out)
  } catch {
    // A field Node refuses (an invalid character): the response still ends, without trailers.
  }
}

function onClientClose(this: TrackedResponse): void {
  this[kExchange]?.clientClosed()
}

function onClientDrain(this: TrackedResponse): void {
  this[kExchange]?.resumeUpstream()
}
