// The dispatch chain of a cached route, built once per route at config load:
//
//   exchange -> cache interceptor -> step marker -> deduplicate -> pick a server -> its Pool
//
// What may be stored, for how long, when to revalidate and how (RFC 9111 as a shared cache)
// is undici's cache interceptor; concurrent misses for one key are merged into one upstream
// request by undici's deduplicate interceptor.
// - The server is picked below the cache (the request's toServer()), so a hit touches no
//   server: it is not counted in any server's in-flight requests, moves no balancer, and is
//   recorded with server="" in switchyard_requests_total and the access log.
// - The step marker sees what the cache interceptor sends on towards a server (nothing on a
//   hit; a revalidation; a miss; the request itself when the cache did not take part) and
//   notes it on the request, which turns it into X-Cache and the metric.
import { interceptors, type Dispatcher } from 'undici'
import { CacheStep } from '../../core/cache-rules.js'
import type { CacheStore } from './memory-store.js'

/** The request (request/cached-exchange.ts) as the chain sees it, found through its options. */
export interface CacheClient {
  cacheStep: CacheStep
  /** Picks a server and dispatches to its Pool (below the cache and the deduplication). */
  toServer(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean
  /**
   * The revalidation towards a server failed. undici may answer with the stored response
   * (`stale-if-error`) and never pass the error on: the failure is counted here.
   */
  revalidationFailed(err: Error): void
}

export const kCacheClient = Symbol('switchyard.cacheClient')
type ChainOptions = Dispatcher.DispatchOptions & { [kCacheClient]: CacheClient }
export type DispatchFn = (opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) => boolean

/** Request headers switchyard sets per request: they must not split the deduplication key. */
const PER_REQUEST_HEADERS = ['x-request-id', 'x-forwarded-for']

/**
 * The chain over one store. Composed by hand rather than with pool.compose(): it sits above
 * the pick of a server, and without a dispatcher origin the interceptors key on opts.origin
 * (ours, from the request's Host).
 */
export function cacheChain(store: CacheStore): DispatchFn {
  let d: DispatchFn = toServer
  d = interceptors.deduplicate({ methods: ['GET', 'HEAD'], excludeHeaderNames: PER_REQUEST_HEADERS })(d as Dispatcher['dispatch']) as DispatchFn
  d = markStep(d)
  d = interceptors.cache({ store, methods: ['GET', 'HEAD'], type: 'shared' })(d as Dispatcher['dispatch']) as DispatchFn
  return d
}

function toServer(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
  return (opts as ChainOptions)[kCacheClient].toServer(opts, handler)
}

function markStep(dispatch: DispatchFn): DispatchFn {
  return (opts, handler) => {
    const client = (opts as ChainOptions)[kCacheClient]
    if (handler === client || (opts.method !== 'GET' && opts.method !== 'HEAD')) client.cacheStep = CacheStep.Bypass
    // The class name is the only mark undici leaves: its revalidation handler is not exported.
    else if (handler.constructor.name === 'CacheRevalidationHandler') {
      client.cacheStep = CacheStep.Revalidate
      return dispatch(opts, new RevalidationWatch(client, handler))
    } else client.cacheStep = CacheStep.Miss
    return dispatch(opts, handler)
  }
}

/** Passes everything on to undici's revalidation handler, telling the request of a failure first. */
class RevalidationWatch implements Dispatcher.DispatchHandler {
  readonly #client: CacheClient
  readonly #handler: Dispatcher.DispatchHandler

  constructor(client: CacheClient, handler: Dispatcher.DispatchHandler) {
    this.#client = client
    this.#handler = handler
  }

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.#handler.onRequestStart?.(controller, context)
  }

  onRequestUpgrade(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[]>, socket: import('node:stream').Duplex): void {
    this.#handler.onRequestUpgrade?.(controller, statusCode, headers, socket)
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>, statusMessage?: string): void {
    this.#handler.onResponseStart?.(controller, statusCode, headers, statusMessage)
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#handler.onResponseData?.(controller, chunk)
  }

  onResponseEnd(controller: Dispatcher.DispatchController, trailers: Record<string, string | string[] | undefined>): void {
    this.#handler.onResponseEnd?.(controller, trailers)
  }

  onResponseError(controller: Dispatcher.DispatchController, err: Error): void {
    this.#client.revalidationFailed(err)
    this.#handler.onResponseError?.(controller, err)
  }
}
