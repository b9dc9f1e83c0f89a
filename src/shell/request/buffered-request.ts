// Request buffering (issue #16, `buffering.request`): the client's whole body is read into a
// Spool (spool.ts) before any server is chosen, so a slow upload never holds one of the app's
// few workers (gunicorn's sync workers read the body at the client's pace; nginx reads it
// first for the same reason). Then the request goes on as a plain or cached exchange whose
// body is the spool: the same bytes again for each attempt (a retry after a failed connect
// still has them), with Content-Length set (a chunked upload reaches the app with a length,
// as through nginx: WSGI servers handle chunked bodies badly).
// Until the body is complete no server is involved: nothing counts in flight, and the
// endings here (client gone, 413 over max_body_size, a spool that cannot be written) are
// answered and logged here, against the route's upstream. The listener's request timeout
// (timeouts.request) still bounds a slow upload: Node answers 408 and closes the socket.
import { clientAddress } from '../runtime/client-address.js'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { UpstreamHeaders } from '../../core/headers.js'
import { LocalFailure, errorCode } from '../../core/errors.js'
import type { BufferingConfig } from '../../config/types.js'
import type { ForwardContext } from '../runtime/context.js'
import type { Upstream } from '../runtime/upstreams.js'
import type { ProxyRoute } from '../runtime/proxy-route.js'
import type { CachedRoute } from '../runtime/cached-route.js'
import { localBodyBytes, sendLocal, statusAfterClientGone } from './replies.js'
import { takeBytesRead } from './bytes.js'
import type { BodyLimit } from './body-limit.js'
import { Spool } from './spool.js'
import { Exchange } from './exchange.js'
import { CachedExchange } from './cached-exchange.js'

export class BufferedRequest {
  readonly #ctx: ForwardContext
  readonly #req: IncomingMessage
  readonly #res: ServerResponse
  readonly #route: ProxyRoute
  readonly #upstream: Upstream
  readonly #cached: CachedRoute | null
  readonly #headers: UpstreamHeaders
  readonly #started: number
  readonly #body: BodyLimit
  readonly #buffering: BufferingConfig
  readonly #spool: Spool
  /** Ended here (answered or client gone), or handed to an exchange: nothing more to do. */
  #over = false
  readonly #onClose = (): void => this.#end(statusAfterClientGone, '')

  /** `cached`: the route has a cache (a CachedExchange takes the request), else a plain Exchange on `route`. */
  constructor(ctx: ForwardContext, req: IncomingMessage, res: ServerResponse, route: ProxyRoute, cached: CachedRoute | null, headers: UpstreamHeaders, started: number, body: BodyLimit, buffering: BufferingConfig) {
    this.#ctx = ctx
    this.#req = req
    this.#res = res
    this.#route = route
    this.#upstream = route.upstream
    this.#cached = cached
    this.#headers = headers
    this.#started = started
    this.#body = body
    this.#buffering = buffering
    this.#spool = new Spool({
      memory: buffering.memory,
      dir: buffering.tempDir,
      onDrain: () => body.resume(),
      onError: (err) => this.#failed(err),
    })
  }

  start(): void {
    const body = this.#body
    const spool = this.#spool
    this.#res.once('close', this.#onClose)
    body.on('data', (chunk: Buffer) => {
      if (!spool.write(chunk) && spool.failed === null) body.pause()
    })
    body.once('end', () => void this.#complete())
    body.once('error', (err) => {
      if (body.exceeded) this.#end(413, errorCode(err))
      else this.#end(statusAfterClientGone, '') // the client's stream broke: it is gone
    })
    this.#req.pipe(body)
  }

  async #complete(): Promise<void> {
    try {
      await this.#spool.flushed()
    } catch (err) {
      this.#failed(err as Error)
      return
    }
    if (this.#over) return
    this.#over = true
    this.#res.off('close', this.#onClose)
    // The client's Content-Length, when it sent one, is already there and right (Node read exactly that much).
    if (this.#headers.transferEncoding) this.#headers.headers.push('Content-Length', String(this.#spool.length))
    const exchange = this.#cached === null
      ? new Exchange(this.#ctx, this.#req, this.#res, this.#route, this.#headers, this.#started, null)
      : new CachedExchange(this.#ctx, this.#req, this.#res, this.#cached, this.#headers, this.#started, null)
    exchange.spooledBody = this.#spool
    // On a cached route responses are not spooled: a fill reads for the cache (docs/proxying.md#buffering).
    if (this.#buffering.response && this.#cached === null) exchange.responseBuffering = this.#buffering
    exchange.attempt()
  }

  #failed(err: Error): void {
    if (this.#over) return
    this.#upstream.log.warn({ err, temp_dir: this.#buffering.tempDir }, 'request buffering: cannot write the temp file')
    this.#end(new LocalFailure('SY_SPOOL_FAILED').status, 'SY_SPOOL_FAILED')
  }

  /** The request ends before any server saw it: the answer (unless the client is gone), metrics, access log. */
  #end(status: number, code: string): void {
    if (this.#over) return
    this.#over = true
    const res = this.#res
    const req = this.#req
    res.off('close', this.#onClose)
    void this.#spool.close()
    let bytesOut = 0
    if (status !== statusAfterClientGone && !res.headersSent && !res.destroyed) {
      res.shouldKeepAlive = false // the rest of the body is not read
      sendLocal(res, status, this.#headers.requestId)
      bytesOut = req.method === 'HEAD' ? 0 : localBodyBytes(status)
    }
    if (!req.complete && !req.socket.destroyed) {
      req.unpipe(this.#body)
      this.#body.destroy()
      req.resume()
    }
    const seconds = (performance.now() - this.#started) / 1000
    const upstream = this.#upstream
    if (this.#ctx.requestMetrics) upstream.metrics.requests.record(req.method as string, status, seconds)
    this.#ctx.accessLog?.write(this.#headers, req.method as string, req.url as string, clientAddress(req), status, upstream.accessTarget, this.#route.accessRoute, seconds, takeBytesRead(req.socket), bytesOut, 0, code, '', req.httpVersion)
  }
}
