// The `store: memory` cache store: undici's CacheStore interface (get / createWriteStream /
// delete) over one Map used as an LRU, bounded in bytes and in entries.
//
// Why not undici's MemoryCacheStore: it reports its size in bytes but not its entry count
// (the switchyard_cache_entries gauge needs it), and when a bound is crossed it evicts
// until the cache is half empty. This one evicts the least recently used entries, only as
// many as the new entry needs. What to store and for how long (RFC 9111) is still decided
// by undici's cache interceptor; a store only keeps what it is given.
import { Writable } from 'node:stream'
import type { interceptors } from 'undici'

type CacheOptions = NonNullable<Parameters<typeof interceptors.cache>[0]>
export type CacheStore = NonNullable<CacheOptions['store']>
export type CacheKey = Parameters<CacheStore['get']>[0]
export type CacheValue = Parameters<CacheStore['createWriteStream']>[1]
export type GetResult = NonNullable<Awaited<ReturnType<CacheStore['get']>>>

interface Entry extends CacheValue {
  readonly method: string
  readonly body: Buffer[]
  readonly size: number
}

export interface MemoryStoreLimits {
  readonly maxSize: number
  readonly maxEntries: number
  readonly maxEntrySize: number
}

/** Bytes an entry costs beyond its body: a rough fixed overhead plus its header text. */
function entrySize(value: CacheValue, bodyBytes: number): number {
  let n = 256 + bodyBytes
  for (const [k, v] of Object.entries(value.headers)) n += k.length + (Array.isArray(v) ? v.join('').length : String(v).length)
  return n
}

export class MemoryStore implements CacheStore {
  readonly #limits: MemoryStoreLimits
  /** "origin path" -> the entries of that URL (one per method and Vary variant); Map order = LRU order. */
  readonly #urls = new Map<string, Entry[]>()
  #bytes = 0
  #entries = 0

  constructor(limits: MemoryStoreLimits) {
    this.#limits = limits
  }

  get bytes(): number {
    return this.#bytes
  }

  get entries(): number {
    return this.#entries
  }

  get(key: CacheKey): GetResult | undefined {
    const url = `${key.origin} ${key.path}`
    const list = this.#urls.get(url)
    if (list === undefined) return undefined
    const now = Date.now()
    const entry = list.find((e) => e.method === key.method && e.deleteAt > now && varyMatches(e.vary, key.headers))
    if (entry === undefined) return undefined
    // Most recently used goes last.
    this.#urls.delete(url)
    this.#urls.set(url, list)
    return {
      statusCode: entry.statusCode,
      statusMessage: entry.statusMessage,
      headers: entry.headers,
      vary: entry.vary,
      etag: entry.etag,
      body: entry.body,
      cacheControlDirectives: entry.cacheControlDirectives ?? {},
      cachedAt: entry.cachedAt,
      staleAt: entry.staleAt,
      deleteAt: entry.deleteAt,
    }
  }

  createWriteStream(key: CacheKey, value: CacheValue): Writable {
    const body: Buffer[] = []
    let bodyBytes = 0
    let tooLarge = false
    const limit = this.#limits.maxEntrySize
    return new Writable({
      write: (chunk: Buffer | string, encoding, done) => {
        if (!tooLarge) {
          const buf = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk
          bodyBytes += buf.length
          if (bodyBytes > limit) {
            tooLarge = true // not stored; the response itself still streams to the client
            body.length = 0
          } else body.push(buf)
        }
        done()
      },
      final: (done) => {
        if (!tooLarge) this.#put(key, { ...value, method: key.method, body, size: entrySize(value, bodyBytes) })
        done()
      },
    })
  }

  /** Drops every entry of the URL (all methods and variants), as undici's stores do. */
  delete(key: CacheKey): void {
    const url = `${key.origin} ${key.path}`
    const list = this.#urls.get(url)
    if (list === undefined) return
    for (const e of list) this.#forget(e)
    this.#urls.delete(url)
  }

  /** Drops everything. */
  clear(): void {
    this.#urls.clear()
    this.#bytes = 0
    this.#entries = 0
  }

  #put(key: CacheKey, entry: Entry): void {
    if (entry.size > this.#limits.maxSize) return
    const url = `${key.origin} ${key.path}`
    let list = this.#urls.get(url)
    if (list === undefined) list = []
    else this.#urls.delete(url)
    // The same method and Vary variant replaces the one stored before.
    const same = list.findIndex((e) => e.method === entry.method && sameVary(e.vary, entry.vary))
    if (same !== -1) {
      this.#forget(list[same] as Entry)
      list.splice(same, 1)
    }
    list.push(entry)
    this.#bytes += entry.size
    this.#entries++
    this.#urls.set(url, list)
    this.#evict(url)
  }

  /** Least recently used URLs go first, until both bounds hold; the URL just written goes last. */
  #evict(keep: string): void {
    const { maxSize, maxEntries } = this.#limits
    for (const [url, list] of this.#urls) {
      if (this.#bytes <= maxSize && this.#entries <= maxEntries) return
      if (url === keep) continue
      for (const e of list) this.#forget(e)
      this.#urls.delete(url)
    }
    // Only the URL just written is left and still too big: drop its oldest variants.
    const list = this.#urls.get(keep)
    while (list !== undefined && list.length > 1 && (this.#bytes > maxSize || this.#entries > maxEntries)) this.#forget(list.shift() as Entry)
  }

  #forget(e: Entry): void {
    this.#bytes -= e.size
    this.#entries--
  }
}

type Vary = CacheValue['vary']

/** The request's headers select this variant (the values the response varied on are equal). */
function varyMatches(vary: Vary, headers: CacheKey['headers']): boolean {
  if (vary == null) return true
  for (const name of Object.keys(vary)) if (!sameValue(headers?.[name], vary[name])) return false
  return true
}

function sameVary(a: Vary, b: Vary): boolean {
  if (a == null || b == null) return a == null && b == null
  const ka = Object.keys(a)
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && sameValue(a[k], b[k]))
}

function sameValue(a: string | string[] | null | undefined, b: string | string[] | null | undefined): boolean {
  if (a == null || b == null) return a == null && b == null
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => v === b[i])
  return a === b
}
