// What a cache needs from the place it keeps responses, so that the cache's own logic
// (request/cached-exchange.ts, request/fill.ts) is the same over both kinds: memory-store.ts
// (per process, LRU) and redis-store.ts (shared by every instance on one Redis). A store
// keeps what it is given: what to store and when to reuse it is decided by
// core/cache-rules.ts. Both stores identify a variant by varyId() below, so "the same
// variant" means the same thing in both.
import type { CachedResponse } from '../../core/cached-response.js'

/** Where a cache keeps its responses. Keys are `${origin}${path}` of GET requests (origin from core/cache-rules.ts cacheOrigin, path = the request target with query). */
export interface ResponseStore {
  /** The stored variants of a URL (one per Vary variant); the memory store answers synchronously (the hit path must not wait for a promise). A Redis failure resolves undefined (and is reported). Never an empty array. */
  get(key: string): readonly CachedResponse[] | undefined | Promise<readonly CachedResponse[] | undefined>
  /** Stores `response`, replacing a stored variant with the same `vary` values. Never throws; a response over max_entry_size is not stored, nor one already past `deleteAt`. */
  put(key: string, response: CachedResponse): void
  /** Drops every variant of the URL. */
  delete(key: string): Promise<void>
  /** Drops everything (of this cache: the Redis store only its key_prefix). */
  clear(): Promise<void>
  close(): Promise<void>
}

/**
 * A stable name for a response's variant: its vary values sorted by header name (a `Vary`
 * listing the same headers in another order names the same variant). `[]` when the response
 * does not vary. Also the Redis hash field of the variant.
 */
export function varyId(vary: CachedResponse['vary']): string {
  if (vary.length === 0) return '[]'
  if (vary.length === 1) return JSON.stringify(vary)
  return JSON.stringify([...vary].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)))
}
