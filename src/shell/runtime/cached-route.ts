// A route with `cache:`: the router's target for it, built once per config load. It holds
// the route's upstream and its Cache, the result counters bound once, and makes the head of
// a response served from the store.
import type { CacheResult } from '../../core/cache-rules.js'
import type { Cache } from '../cache/cache.js'
import type { Metrics } from '../observe/metrics.js'
import type { Upstream } from './upstreams.js'
import type { ProxyRoute } from './proxy-route.js'
import type { BufferingConfig } from '../../config/types.js'
import type { RouteCompression } from './route-compression.js'

/** Index of each result in Metrics.cacheResults() (CACHE_RESULTS order). */
const RESULT_INDEX: Record<CacheResult, number> = { HIT: 0, MISS: 1, STALE: 2, BYPASS: 3 }

export class CachedRoute {
  readonly upstream: Upstream
  /** The route's name and timeouts (its buffering is `buffering` below). */
  readonly route: ProxyRoute
  readonly cache: Cache
  /** `x_cache_header`. */
  readonly xCache: boolean
  readonly #results: Float64Array
  /** The route's buffering (null: none); requests with a body are read whole first (a fill is not spooled). */
  buffering: BufferingConfig | null = null
  /** The route's `compress` (set by its PolicyRoute): hits are written compressed, fills compressed per client. */
  compression: RouteCompression | null = null

  constructor(route: ProxyRoute, cache: Cache, metrics: Metrics) {
    const upstream = route.upstream
    this.route = route
    this.upstream = upstream
    this.cache = cache
    this.xCache = cache.config.xCacheHeader
    this.#results = metrics.cacheResults(upstream.name)
  }

  count(result: CacheResult): void {
    const i = RESULT_INDEX[result]
    this.#results[i] = (this.#results[i] as number) + 1
  }

  /** A response head for the client: the stored or fetched headers, Age (stored only), X-Cache, X-Request-Id. */
  head(headers: readonly string[], result: CacheResult, age: number | null, requestId: string): string[] {
    const out = headers.slice()
    if (age !== null) out.push('Age', String(age))
    if (this.xCache) out.push('X-Cache', result)
    out.push('X-Request-Id', requestId)
    return out
  }
}
