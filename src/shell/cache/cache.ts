// Response caching for routes with `cache:` (issue #7). What may be stored, for how long,
// when to revalidate and how (RFC 9111 as a shared cache) is undici's cache interceptor;
// concurrent misses for one key are merged into one upstream request by undici's
// deduplicate interceptor. This file puts them in front of an upstream, once per route at
// config load:
//
//   exchange -> cache interceptor -> step marker -> deduplicate -> pick a server -> its Pool
//
// - The server is picked below the cache, so a hit touches no server: it is not counted in
//   any server's in-flight requests (least_connections), moves no balancer, and is recorded
//   with server="" in switchyard_requests_total and the access log.
// - The cache key's origin is the request's Host (`http://<host>`), not the server's: with
//   one Pool per server, undici's own choice (the Pool's origin) would give each server
//   its own copy. So every server of the upstream shares one entry per Host and target,
//   and an admin purge names a URL as clients see it.
// - The step marker sees what the cache interceptor sends on towards a server (nothing on
//   a hit; a revalidation; a miss; the request itself when the cache did not take part)
//   and notes it on the request, which turns it into X-Cache and the metric.
import { interceptors, type Dispatcher } from 'undici'
import type { CacheConfig } from '../../config/types.js'
import { clientResponseHeaders } from '../../core/headers.js'
import type { Logger } from '../observe/log.js'
import { MemoryStore } from './memory-store.js'
import type { Metrics } from '../observe/metrics.js'
import { RedisStore } from './redis-store.js'
import type { Upstream } from '../runtime/upstreams.js'

export type CacheResult = 'HIT' | 'MISS' | 'STALE' | 'BYPASS'

/** What the step marker saw of one request (the cache interceptor's decision). */
export const CacheStep = {
  /** Nothing went towards a server: answered from the cache. */
  None: 0,
  Miss: 1,
  Revalidate: 2,
  /** The cache did not take part (method, request no-store, store down). */
  Bypass: 3,
  /** The revalidation failed and the stored response is served stale (`stale-if-error`). */
  StaleAfterError: 4,
} as const
export type CacheStep = (typeof CacheStep)[keyof typeof CacheStep]

/** The request (forward.ts's Exchange) as the dispatch chain sees it, found through its options. */
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
type DispatchFn = (opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) => boolean

/** undici adds this Warning to a response it serves stale (RFC 9111 4.2.4, from RFC 7234). */
const STALE_WARNING = '110 - "response is stale"'

/** Request headers switchyard sets per request: they must not split the deduplication key. */
const PER_REQUEST_HEADERS = ['x-request-id', 'x-forwarded-for']

/** One `caches:` entry: its store, kept across reloads while its settings are unchanged. */
export class Cache {
  readonly name: string
  readonly config: CacheConfig
  readonly settingsKey: string
  readonly store: MemoryStore | RedisStore

  constructor(config: CacheConfig, log: Logger, metrics: Metrics) {
    this.name = config.name
    this.config = config
    this.settingsKey = Cache.settingsKey(config)
    if (config.redis === null) {
      this.store = new MemoryStore({ maxSize: config.maxSize, maxEntries: config.maxEntries, maxEntrySize: config.maxEntrySize })
    } else {
      const errors = metrics.cacheRedisErrors.labels(config.name)
      errors.inc(0)
      this.store = new RedisStore(config.redis, config.maxEntrySize, log.child({ cache: config.name }), () => errors.inc())
    }
  }

  /** false while a Redis store fails: requests go to a server without the cache. */
  get usable(): boolean {
    return this.store instanceof MemoryStore || this.store.up
  }

  /** Drops one URL (every method and Vary variant), or everything when url is null. */
  async purge(url: URL | null): Promise<void> {
    if (url === null) await this.store.clear()
    else await this.store.delete({ origin: url.origin, method: 'GET', path: url.pathname + url.search })
  }

  async close(): Promise<void> {
    if (this.store instanceof RedisStore) await this.store.close()
  }

  static settingsKey(c: CacheConfig): string {
    return JSON.stringify(c)
  }
}

type Counter = ReturnType<Metrics['cacheRequests']['labels']>

/** A route with a cache: the router's target for it. Built once per config load. */
export class CachedRoute {
  readonly upstream: Upstream
  readonly cache: Cache
  readonly dispatch: DispatchFn
  readonly #results: Record<CacheResult, Counter>

  constructor(upstream: Upstream, cache: Cache, metrics: Metrics) {
    this.upstream = upstream
    this.cache = cache
    this.#results = {
      HIT: metrics.cacheRequests.labels(upstream.name, 'hit'),
      MISS: metrics.cacheRequests.labels(upstream.name, 'miss'),
      STALE: metrics.cacheRequests.labels(upstream.name, 'stale'),
      BYPASS: metrics.cacheRequests.labels(upstream.name, 'bypass'),
    }
    for (const c of Object.values(this.#results)) c.inc(0)
    // Compose by hand rather than with pool.compose(): the chain sits above the pick of a
    // server, and without a dispatcher origin the interceptors key on opts.origin (ours).
    let d: DispatchFn = toServer
    d = interceptors.deduplicate({ methods: ['GET', 'HEAD'], excludeHeaderNames: PER_REQUEST_HEADERS })(d as Dispatcher['dispatch']) as DispatchFn
    d = markStep(d)
    d = interceptors.cache({ store: cache.store, methods: ['GET', 'HEAD'], type: 'shared' })(d as Dispatcher['dispatch']) as DispatchFn
    this.dispatch = d
  }

  /** The X-Cache value of a response on this route (see cacheResult). */
  result(step: CacheStep, controller: Dispatcher.DispatchController, headers: Record<string, string | string[] | undefined>): CacheResult {
    return cacheResult(step, Object.hasOwn(controller, 'target'), headers.warning)
  }

  /**
   * The response head for the client: the server's (or the stored) headers as for any
   * response, plus X-Cache when on; counts the result.
   */
  responseHeaders(result: CacheResult, controller: Dispatcher.DispatchController, headers: Record<string, string | string[] | undefined>, requestId: string): string[] {
    this.#results[result].inc()
    // A merged request's controller has no rawHeaders: rebuild them from the parsed headers.
    const raw = (controller.rawHeaders as Buffer[] | undefined) ?? flatten(headers)
    const out = clientResponseHeaders(raw, requestId)
    if (this.cache.config.xCacheHeader) out.push('X-Cache', result)
    return out
  }

  /** A request that went around the cache (its store is down). */
  bypassHeaders(raw: Buffer[], requestId: string): string[] {
    this.#results.BYPASS.inc()
    const out = clientResponseHeaders(raw, requestId)
    if (this.cache.config.xCacheHeader) out.push('X-Cache', 'BYPASS')
    return out
  }
}

/**
 * The X-Cache value. `fromServer`: the response came through undici's CacheHandler from a
 * server (its controller wraps the server's), not from the store.
 */
export function cacheResult(step: CacheStep, fromServer: boolean, warning: string | string[] | undefined): CacheResult {
  switch (step) {
    case CacheStep.Bypass: return 'BYPASS'
    case CacheStep.Miss: return 'MISS'
    // A 304 refreshed the stored response: served from the cache, confirmed by the server.
    case CacheStep.Revalidate: return fromServer ? 'MISS' : 'HIT'
    case CacheStep.StaleAfterError: return 'STALE'
    default: return warning === STALE_WARNING ? 'STALE' : 'HIT'
  }
}

function flatten(headers: Record<string, string | string[] | undefined>): string[] {
  const out: string[] = []
  for (const [k, v] of Object.entries(headers)) {
    if (Array.isArray(v)) for (const x of v) out.push(k, x)
    else if (v !== undefined) out.push(k, v)
  }
  return out
}

/** `http://<host>`: the cache key's origin for a request (lower case, without a default :80). */
export function cacheOrigin(host: string | undefined): string {
  if (host === undefined) return 'http://'
  const h = host.toLowerCase()
  return `http://${h.endsWith(':80') ? h.slice(0, -3) : h}`
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
