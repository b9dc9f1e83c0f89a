// A route with `cache:`: the router's target for it, built once per config load. It holds
// the route's upstream, its Cache, the dispatch chain in front of the upstream
// (cache/chain.ts) and the result counters, and makes the response head a cached route
// sends (the server's or the stored headers, plus X-Cache when on).
import type { Dispatcher } from 'undici'
import { cacheResult, type CacheResult, type CacheStep } from '../../core/cache-rules.js'
import { clientResponseHeaders } from '../../core/headers.js'
import type { Cache } from '../cache/cache.js'
import { cacheChain, type DispatchFn } from '../cache/chain.js'
import type { Metrics } from '../observe/metrics.js'
import type { Upstream } from './upstreams.js'

type Counter = ReturnType<Metrics['cacheRequests']['labels']>

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
    this.dispatch = cacheChain(cache.store)
  }

  /** The X-Cache value of a response on this route (core/cache-rules.ts). */
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

function flatten(headers: Record<string, string | string[] | undefined>): string[] {
  const out: string[] = []
  for (const [k, v] of Object.entries(headers)) {
    if (Array.isArray(v)) for (const x of v) out.push(k, x)
    else if (v !== undefined) out.push(k, v)
  }
  return out
}
