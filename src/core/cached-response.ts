// A response as the cache keeps it, and what was decided about it when it was stored
// (RFC 9111). Everything here is plain data: the memory store keeps these objects as they
// are, the Redis store serialises them (shell/cache/), and the rules that read and make them
// are pure functions in cache-rules.ts. Times are epoch milliseconds passed in by the shell.

/** The parts of a request the cache rules read (header names lower-case). */
export interface CacheRequest {
  readonly method: string
  /** Request headers by lower-case name; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string | undefined>>
}

/** Freshness and reuse, decided once when the response is stored (or refreshed by a 304). */
export interface CachePolicy {
  /** ms: how long the response is fresh, counted from `responseTime` minus `initialAgeMs`. */
  readonly lifetimeMs: number
  /** ms: the age the response already had when it arrived (Age header + the request's round trip, RFC 9111 4.2.3). */
  readonly initialAgeMs: number
  /** Response `no-cache` (without field names): stored, but revalidated before every reuse. */
  readonly noCache: boolean
  /** `must-revalidate` / `proxy-revalidate` / `s-maxage`: never served stale (not even with max-stale). */
  readonly mustRevalidate: boolean
  /** ms a stale response may be served while it is revalidated in the background (`stale-while-revalidate`), 0 = none. */
  readonly staleWhileRevalidateMs: number
  /** ms a stale response may be served when revalidation fails (`stale-if-error`), 0 = none. */
  readonly staleIfErrorMs: number
  /** `public`, `s-maxage` or `must-revalidate`: a request with Authorization may be answered from it. */
  readonly sharedWithAuthorization: boolean
  /** Validators, for a conditional revalidation: `If-None-Match` / `If-Modified-Since`. */
  readonly etag: string | null
  readonly lastModified: string | null
}

export interface CachedResponse {
  readonly status: number
  /** Flat [name, value, name, value, ...] as the server sent them, without hop-by-hop headers, Age or X-Cache. */
  readonly headers: readonly string[]
  /** The whole body, one Buffer (empty for 204/304-like answers). */
  readonly body: Buffer
  /** When the request that fetched (or last revalidated) it was sent, and when its head arrived. */
  readonly requestTime: number
  readonly responseTime: number
  /**
   * The request header values the response varies on (its `Vary` names, lower-case), as
   * they were in the request that fetched it; null for a header that was absent. A later
   * request matches when its values are the same.
   */
  readonly vary: readonly (readonly [name: string, value: string | null])[]
  readonly policy: CachePolicy
  /** ms epoch after which it is of no use even stale (fresh end + the largest stale allowance); a store may drop it then. */
  readonly deleteAt: number
}
