// One response on its way from a server into a cache: a fill. It belongs to the cache, not
// to the request that started it, so that no client can break another's request:
// - every request for the same URL that finds nothing usable in the store joins the fill in
//   progress (nginx's proxy_cache_lock) and gets the whole response, whenever it joins: what
//   was already received, then the rest;
// - a client that leaves only leaves (its own line says 499). When every client has left,
//   the fill goes on while the response can still be stored (so the next request is a
//   hit); a response too large to store is then abandoned;
// - a revalidation is a fill too: a 304 refreshes the stored response (RFC 9111 4.3.4: new
//   header fields, the age restarts) and every waiting client gets it as a HIT; a failed one
//   answers the stored response as STALE where stale-if-error allows it. A background
//   revalidation (stale-while-revalidate) is a fill that nobody waits for.
// A fill picks its server, retries and counts failures like any request (Attempts); it
// streams to its clients as the body arrives, and stops reading from the server while one
// of them cannot take more (so memory stays bounded by max_entry_size and the socket buffers).
import type { Dispatcher } from 'undici'
import type { CacheResult } from '../../core/cache-rules.js'
import { ageSeconds, conditionalHeaders, headerMap, refreshed, staleIfError, toStore } from '../../core/cache-rules.js'
import type { CachedResponse, CacheRequest } from '../../core/cached-response.js'
import { clientResponseHeaders, type RawResponseHeaders } from '../../core/headers.js'
import type { Cache } from '../cache/cache.js'
import type { Server, Upstream } from '../runtime/upstreams.js'
import { Attempts } from './attempts.js'

/** A request waiting on a fill (request/cached-exchange.ts). */
export interface FillClient {
  readonly cacheRequest: CacheRequest
  /** The response starts: flat headers without Age, X-Cache and X-Request-Id; `age` in seconds for a stored response, null for a fetched one. */
  fillHead(status: number, headers: readonly string[], result: CacheResult, age: number | null): void
  /** A piece of the body; false when the client cannot take more now (it calls drained() later). */
  fillData(chunk: Buffer): boolean
  fillEnd(): void
  /** No (complete) response: the status to answer and the error code for the access log. */
  fillFailed(status: number, code: string): void
  /** The response varies on request headers this client does not share with the fill's: fetch on your own. */
  fillMismatch(): void
}

/** Request headers a fill never forwards: the client's own conditions and ranges (the cache wants the whole response). */
const CLIENT_CONDITIONS = new Set(['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range', 'range'])

const fills = new WeakMap<Cache, Map<string, Fill>>()

/** The fill in progress for `key` that a new request may join, if any. */
export function fillInProgress(cache: Cache, key: string): Fill | undefined {
  const f = fills.get(cache)?.get(key)
  return f !== undefined && f.joinable ? f : undefined
}

export class Fill extends Attempts implements Dispatcher.DispatchHandler {
  readonly #cache: Cache
  readonly #key: string
  readonly #path: string
  readonly #headers: string[]
  /** The request the fill is made for (its Vary'd header values are the ones stored). */
  readonly #request: CacheRequest
  /** The stored response being revalidated (null: a plain fetch). */
  readonly #stale: CachedResponse | null
  /** A purge during the fill: its response is not stored. */
  readonly #generation: number
  readonly #registered: boolean
  #clients: FillClient[] = []
  readonly #blocked = new Set<FillClient>()
  #requestTime = 0
  /** The head as the clients got it (null until it arrives). */
  #head: { status: number; headers: readonly string[]; result: CacheResult } | null = null
  /** What will be stored (null: nothing), and the body so far. */
  #storing: Omit<CachedResponse, 'body'> | null = null
  #chunks: Buffer[] = []
  #bytes = 0
  #done = false
  /** New requests may join: until the body outgrows what is kept for late joiners. */
  joinable = true

  /**
   * `registered`: the fill is the one for its URL (others join it); a fill for a client whose
   * headers differ from the registered one's (Vary) is private.
   */
  constructor(cache: Cache, upstream: Upstream, key: string, path: string, upstreamHeaders: readonly string[], request: CacheRequest, stale: CachedResponse | null, registered = true) {
    super(upstream)
    this.#cache = cache
    this.#key = key
    this.#path = path
    this.#request = request
    this.#stale = stale
    this.#generation = cache.generation
    this.#registered = registered
    const headers: string[] = []
    for (let i = 0; i + 1 < upstreamHeaders.length; i += 2) {
      if (!CLIENT_CONDITIONS.has((upstreamHeaders[i] as string).toLowerCase())) headers.push(upstreamHeaders[i] as string, upstreamHeaders[i + 1] as string)
    }
    if (stale !== null) for (const [name, value] of conditionalHeaders(stale)) headers.push(name, value)
    this.#headers = headers
    if (registered) {
      let map = fills.get(cache)
      if (map === undefined) fills.set(cache, (map = new Map()))
      map.set(key, this)
    }
  }

  /** The server of the current attempt, for the access log line of the request that started it. */
  get serverOf(): Server | null {
    return this.server
  }

  join(client: FillClient): void {
    const head = this.#head
    if (head !== null && !this.#shares(client)) {
      client.fillMismatch()
      return
    }
    this.#clients.push(client)
    if (head === null) return
    // Late: the head and what has arrived so far, then the rest as it comes.
    client.fillHead(head.status, head.headers, head.result, null)
    let ok = true
    for (const c of this.#chunks) ok = client.fillData(c) && ok
    if (!ok) this.#block(client)
  }

  /** A client left: the fill goes on while its response can still be stored. */
  leave(client: FillClient): void {
    const i = this.#clients.indexOf(client)
    if (i >= 0) this.#clients.splice(i, 1)
    this.#unblock(client)
    if (this.#clients.length === 0 && this.#head !== null && this.#storing === null && !this.#done) {
      this.controller?.abort(new Error('every client left and the response is not stored'))
    }
  }

  /** A client that could not take more can again. */
  drained(client: FillClient): void {
    this.#unblock(client)
  }

  start(): void {
    const server = this.pick()
    if (server === undefined) {
      const why = this.waitForSlot()
      if (why !== null) this.#fail(this.noServerStatus(), this.lastError === null ? why : this.errorCode)
      return
    }
    this.#requestTime = Date.now()
    try {
      server.pool.dispatch({ path: this.#path, method: 'GET', headers: this.#headers, body: null, servername: server.serverName } as Dispatcher.DispatchOptions, this)
    } catch (err) {
      this.release()
      this.noteErrorCode(err)
      this.#fail(400, 'SY_REFUSED')
    }
  }

  protected resume(): void {
    this.start()
  }

  /** Waited queue.timeout for a server slot (its clients, if any are left, get 503). */
  protected timedOutInQueue(): void {
    this.#fail(this.noServerStatus(), this.lastError === null ? 'SY_QUEUE_TIMEOUT' : this.errorCode)
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, parsed: Record<string, string | string[] | undefined>): void {
    if (statusCode < 200) return
    this.server?.noteSuccess()
    const now = Date.now()
    const raw = clientResponseHeaders(controller.rawHeaders as RawResponseHeaders, '')
    raw.length -= 2 // the X-Request-Id placeholder: each client gets its own
    const map = headerMap(raw)
    const stale = this.#stale
    if (stale !== null && statusCode === 304) {
      const fresh = refreshed(stale, this.#request, map, raw, this.#requestTime, now)
      if (fresh === null) void this.#cache.store.delete(this.#key)
      else if (this.#cache.generation === this.#generation) this.#cache.store.put(this.#key, fresh)
      this.#serveStored(fresh ?? stale, 'HIT', now)
      return
    }
    this.#storing = this.#cache.usable ? toStore(this.#request, statusCode, map, raw, this.#requestTime, now) : null
    this.#head = { status: statusCode, headers: raw, result: 'MISS' }
    const vary = parsed.vary === undefined ? '' : String(parsed.vary)
    for (const client of [...this.#clients]) {
      if (vary !== '' && !this.#shares(client)) {
        this.#drop(client)
        client.fillMismatch()
      } else client.fillHead(statusCode, raw, 'MISS', null)
    }
    // Everyone left before the head, and this response is not stored: nobody wants its body.
    if (this.#clients.length === 0 && this.#storing === null) controller.abort(new Error('every client left and the response is not stored'))
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#done) return
    if (this.joinable) {
      this.#chunks.push(chunk)
      this.#bytes += chunk.length
      if (this.#bytes > this.#cache.config.maxEntrySize) {
        // Too large to store or to keep for late joiners: from now on it only streams.
        this.joinable = false
        this.#storing = null
        this.#chunks = []
        this.#unregister()
        if (this.#clients.length === 0) {
          controller.abort(new Error('every client left and the response is too large to store'))
          return
        }
      }
    }
    for (const client of this.#clients) if (!client.fillData(chunk)) this.#block(client)
  }

  onResponseEnd(): void {
    if (this.#done) return
    this.release()
    this.#done = true
    this.#unregister()
    const storing = this.#storing
    if (storing !== null && this.#cache.generation === this.#generation) {
      const body = this.#chunks.length === 1 ? this.#chunks[0] as Buffer : Buffer.concat(this.#chunks, this.#bytes)
      // A stored response always says its length (a chunked one did not): hits are sent in one piece.
      const headers = headerMap(storing.headers)['content-length'] === undefined ? [...storing.headers, 'Content-Length', String(body.length)] : storing.headers
      this.#cache.store.put(this.#key, { ...storing, headers, body })
    }
    this.#chunks = []
    for (const client of this.#clients.splice(0)) client.fillEnd()
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.#done) return
    this.release()
    this.controller = null
    this.noteErrorCode(err)
    if (this.#clients.length === 0 && (this.#head !== null || this.#stale === null)) {
      // Abandoned on purpose, or nobody waits: no verdict on the server unless it failed us.
      if (this.#head === null) this.failed(err)
      else this.endTrial()
      this.#finishEmpty()
      return
    }
    const cls = this.failed(err)
    if (this.#head !== null) {
      // The head is out: every client's connection is cut, so no body looks complete.
      this.#fail(cls.status, this.errorCode)
      return
    }
    // A revalidation with a stale-if-error fallback answers at once rather than try again.
    const stale = this.#stale
    if (stale !== null && staleIfError(stale, this.#request, Date.now())) this.#serveStored(stale, 'STALE', Date.now())
    else if (this.retryAfter(cls, 'GET', false)) this.start()
    else this.#fail(cls.status, this.errorCode)
  }

  /** A whole stored response to every client (a 304's refresh, or stale-if-error). */
  #serveStored(entry: CachedResponse, result: CacheResult, now: number): void {
    this.#done = true
    this.#unregister()
    this.release()
    const age = ageSeconds(entry, now)
    for (const client of this.#clients.splice(0)) {
      client.fillHead(entry.status, entry.headers, result, age)
      client.fillData(entry.body)
      client.fillEnd()
    }
  }

  #fail(status: number, code: string): void {
    this.#done = true
    this.#unregister()
    for (const client of this.#clients.splice(0)) client.fillFailed(status, code)
  }

  #finishEmpty(): void {
    this.#done = true
    this.#unregister()
    this.#chunks = []
  }

  /** Whether the client's request has the same values as the fill's for every header the response varies on. */
  #shares(client: FillClient): boolean {
    const head = this.#head
    if (head === null) return true
    const vary = headerMap(head.headers).vary
    if (vary === undefined) return true
    for (const name of vary.split(',')) {
      const n = name.trim().toLowerCase()
      if (n === '') continue
      if (n === '*') return client === this.#clients[0]
      if ((this.#request.headers[n]?.trim() ?? null) !== (client.cacheRequest.headers[n]?.trim() ?? null)) return false
    }
    return true
  }

  #drop(client: FillClient): void {
    const i = this.#clients.indexOf(client)
    if (i >= 0) this.#clients.splice(i, 1)
    this.#unblock(client)
  }

  #block(client: FillClient): void {
    this.#blocked.add(client)
    this.controller?.pause()
  }

  #unblock(client: FillClient): void {
    if (this.#blocked.delete(client) && this.#blocked.size === 0) this.controller?.resume()
  }

  #unregister(): void {
    if (!this.#registered) return
    const map = fills.get(this.#cache)
    if (map?.get(this.#key) === this) map.delete(this.#key)
  }
}
