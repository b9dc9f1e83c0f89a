// The cache decisions switchyard makes itself (what may be stored and for how long, RFC 9111,
// is undici's cache interceptor): the key's origin of a request, and what a response on a
// cached route is called in X-Cache, the access log and switchyard_cache_requests_total.

export type CacheResult = 'HIT' | 'MISS' | 'STALE' | 'BYPASS'

/** What the step marker (shell/cache/chain.ts) saw of one request: the cache interceptor's decision. */
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

/** undici adds this Warning to a response it serves stale (RFC 9111 4.2.4, from RFC 7234). */
export const STALE_WARNING = '110 - "response is stale"'

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

/**
 * `http://<host>`: the cache key's origin for a request (lower case, without a default :80).
 * The request's Host, not the server's: every server of an upstream shares one entry per
 * Host and target, and an admin purge names a URL as clients see it.
 */
export function cacheOrigin(host: string | undefined): string {
  if (host === undefined) return 'http://'
  const h = host.toLowerCase()
  return `http://${h.endsWith(':80') ? h.slice(0, -3) : h}`
}
