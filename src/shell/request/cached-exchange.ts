// A request on a route with a cache: an Exchange whose request goes through the route's
// dispatch chain (cache/chain.ts) instead of straight to a server's Pool. The cache decides
// whether a server is asked; when it is, the chain calls toServer() below the cache and the
// deduplication, and the server is picked there. What this adds to a plain exchange:
// - the X-Cache result (HIT, MISS, STALE, BYPASS) in the response head, the metric and the
//   access log;
// - a store that is down (Redis): the request goes around the cache (BYPASS);
// - failures that are not this request's own attempt at a server: no server left to pick,
//   undici's refusal, or a failure of a response this request did not fetch itself
//   (another request's miss it was merged into, or a stored body);
// - a failed revalidation answered from the store (`stale-if-error`): counted as the
//   server's failure although undici never passes the error on.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Dispatcher } from 'undici'
import type { UpstreamHeaders } from '../../core/headers.js'
import { CacheStep, cacheOrigin, type CacheResult } from '../../core/cache-rules.js'
import { classifyError, LocalFailure, type ErrorClass } from '../../core/errors.js'
import { kCacheClient, type CacheClient } from '../cache/chain.js'
import type { ForwardContext } from '../runtime/context.js'
import type { CachedRoute } from '../runtime/cached-route.js'
import type { BodyLimit } from './body-limit.js'
import { Exchange } from './exchange.js'

/** What toServer() hands the chain's handlers when it did not dispatch (no controller exists). */
const NO_CONTROLLER = { rawHeaders: [], rawTrailers: [], paused: false, aborted: false, reason: null, pause() {}, resume() {}, abort() {} } as unknown as Dispatcher.DispatchController

export class CachedExchange extends Exchange implements CacheClient {
  readonly #route: CachedRoute
  cacheStep: CacheStep = CacheStep.None
  /** A failure already counted by revalidationFailed(). */
  #revalidationError: Error | null = null
  /** The X-Cache value, for the access log ('' before a response). */
  #cacheResult: CacheResult | '' = ''

  constructor(ctx: ForwardContext, req: IncomingMessage, res: ServerResponse, route: CachedRoute, headers: UpstreamHeaders, started: number, body: BodyLimit | null) {
    super(ctx, req, res, route.upstream, headers, started, body)
    this.#route = route
  }

  override attempt(): void {
    if (!this.#route.cache.usable) {
      this.cacheStep = CacheStep.Bypass // the store is down: straight to a server
      super.attempt()
      return
    }
    const req = this.req
    try {
      this.#route.dispatch({
        origin: cacheOrigin(this.headers.host),
        path: req.url as string,
        method: req.method as string,
        headers: this.headers.headers,
        body: this.body,
        [kCacheClient]: this,
      } as Dispatcher.DispatchOptions, this)
    } catch (err) {
      this.refused(err)
    }
  }

  /** Below the cache and the deduplication: this request's miss goes to a server. */
  toServer(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const server = this.pick()
    if (server === undefined) {
      handler.onResponseError?.(NO_CONTROLLER, new LocalFailure('SY_NO_SERVER'))
      return true
    }
    try {
      return server.pool.dispatch(opts, handler)
    } catch (err) {
      // Through the handlers rather than thrown, so the deduplication forgets this key.
      handler.onResponseError?.(NO_CONTROLLER, new LocalFailure('SY_REFUSED', undefined, err))
      return true
    }
  }

  /**
   * The revalidation failed. Counted now (passive health, the error metric), as undici may
   * serve the stored response (`stale-if-error`) and never pass the error on; if it does
   * pass it on, attemptFailed() knows it was counted. A request merged into another's
   * revalidation picked no server: the one that did counts it.
   */
  revalidationFailed(err: Error): void {
    if (this.server === null || this.clientGone) return
    this.#revalidationError = err
    this.failed(err)
    this.cacheStep = CacheStep.StaleAfterError
  }

  /** A stale answer after a failed revalidation is no success of the server's; a hit touched none. */
  protected override serverAnswered(): void {
    if (this.cacheStep !== CacheStep.StaleAfterError) super.serverAnswered()
  }

  protected override responseHead(controller: Dispatcher.DispatchController, headers: Record<string, string | string[] | undefined>): string[] {
    const route = this.#route
    if (this.cacheStep === CacheStep.Bypass && !route.cache.usable) {
      this.#cacheResult = 'BYPASS'
      return route.bypassHeaders(controller.rawHeaders as Buffer[], this.headers.requestId)
    }
    this.#cacheResult = route.result(this.cacheStep, controller, headers)
    return route.responseHeaders(this.#cacheResult, controller, headers, this.headers.requestId)
  }

  protected override handledLocally(err: Error): boolean {
    if (err instanceof LocalFailure) {
      if (err.code === 'SY_NO_SERVER') this.noServer()
      else this.refused(err)
    } else if (this.server !== null) return false
    else if (this.res.headersSent) this.cutAfterHead(err)
    else this.reply(classifyError(err).status)
    return true
  }

  protected override attemptFailed(err: Error): ErrorClass {
    return err === this.#revalidationError && this.lastError !== null ? this.lastError : this.failed(err)
  }

  protected override cacheColumn(): string {
    return this.#cacheResult
  }
}
