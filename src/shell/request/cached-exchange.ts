// A request on a route with a cache (issue #19). The store is looked up before any server or
// dispatcher is involved:
// - a fresh stored response is written straight to the client (HIT): its head and its body,
//   one Buffer, in one go; a stale one the request may take (max-stale) is STALE;
//   `stale-while-revalidate`: STALE now, and a background fill revalidates it;
// - otherwise the request joins the fill for its URL (request/fill.ts), or starts it: a miss
//   is fetched once for every request that waits on it, and a stale response with a
//   validator is revalidated (a 304 refreshes it: HIT);
// - what the cache takes no part in goes to a server as a plain exchange: methods other than
//   GET and HEAD (a successful unsafe one drops the stored URL), a request `no-store`, a
//   store that is down (BYPASS), and a HEAD that finds nothing (MISS, not stored).
// The X-Cache result is counted, sent (unless x_cache_header: false) and logged.
import { clientAddress } from '../runtime/client-address.js'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Dispatcher } from 'undici'
import { ageSeconds, bypasses, cacheOrigin, headerMap, invalidates, reuse, varyMatches, type CacheResult } from '../../core/cache-rules.js'
import type { CachedResponse, CacheRequest } from '../../core/cached-response.js'
import { clientResponseHeaders, type RawResponseHeaders, type UpstreamHeaders } from '../../core/headers.js'
import type { ForwardContext } from '../runtime/context.js'
import type { CachedRoute } from '../runtime/cached-route.js'
import type { BodyLimit } from './body-limit.js'
import { Exchange } from './exchange.js'
import { Fill, fillInProgress, type FillClient } from './fill.js'
import { statusAfterClientGone } from './replies.js'
import { takeBytesRead } from './bytes.js'
import { MemoryStore } from '../cache/memory-store.js'
import { addVary, compressedHead, type Encoding } from '../../core/policies/compression.js'
import { compressorFor } from './outbound.js'
import type { RouteCompression } from '../runtime/route-compression.js'

/**
 * The hit path: a GET or HEAD whose fresh response is in a memory store, answered before any
 * exchange object, listener or header map is made (the request's Cache-Control and
 * Authorization come from the header scan forward() already made). False: nothing was
 * written, the request takes the full path (a Vary'd response, anything not fresh, Redis).
 */
export function answerFreshHit(ctx: ForwardContext, route: CachedRoute, req: IncomingMessage, res: ServerResponse, headers: UpstreamHeaders, started: number): boolean {
  const method = req.method as string
  const store = route.cache.store
  if ((method !== 'GET' && method !== 'HEAD') || headers.hasBody || !(store instanceof MemoryStore)) return false
  const variants = store.get(cacheOrigin(headers.host) + (req.url as string))
  if (variants === undefined || variants.length !== 1) return false
  const entry = variants[0] as CachedResponse
  if (entry.vary.length !== 0) return false
  const light: CacheRequest = { method, headers: { 'cache-control': headers.cacheControl, authorization: headers.authorization ? '' : undefined } }
  const now = Date.now()
  if (bypasses(light) || reuse(entry, light, now) !== 'fresh') return false
  const form = route.compression === null ? null : storedForm(route.compression, req, entry)
  if (form !== null && !(form.body instanceof Buffer)) return false // made on the full path, which can wait for it
  const bytesOut = writeStored(ctx, route, res, entry, 'HIT', now, headers.requestId, method, form as StoredForm<Buffer> | null)
  const upstream = route.upstream
  const seconds = (performance.now() - started) / 1000
  if (ctx.requestMetrics) upstream.metrics.requests.record(method, entry.status, seconds)
  ctx.accessLog?.write(headers, method, req.url as string, clientAddress(req), entry.status, upstream.accessTarget, route.route.accessRoute, seconds, takeBytesRead(req.socket), bytesOut, 0, '', 'HIT', req.httpVersion)
  return true
}

/**
 * How a stored response goes out on a route with `compress` (runtime/route-compression.ts):
 * encoding null = as stored, with Vary added (eligible, but this client takes no encoding);
 * else its body in that encoding, made once per stored entry (a Promise until then; a HEAD
 * needs no body). null: not eligible, or no compression on this route.
 */
interface StoredForm<B = Buffer | Promise<Buffer>> {
  readonly compression: RouteCompression
  readonly encoding: Encoding | null
  readonly body: B | null
}

function storedForm(compression: RouteCompression, req: IncomingMessage, entry: CachedResponse): StoredForm | null {
  const forms = compression.storedForms(entry)
  if (!forms.eligible) return null
  const encoding = compression.negotiate(req)
  if (encoding === null || req.method === 'HEAD') return { compression, encoding, body: null }
  return { compression, encoding, body: compression.storedBody(entry, forms, encoding) }
}

/** A stored response to the client in one go (head, then the body unless HEAD): counts the result, returns the body bytes sent. */
function writeStored(ctx: ForwardContext, route: CachedRoute, res: ServerResponse, entry: CachedResponse, result: CacheResult, now: number, requestId: string, method: string, form: StoredForm<Buffer> | null): number {
  route.count(result)
  if (ctx.lifecycle.draining) res.shouldKeepAlive = false
  const head = route.head(entry.headers, result, ageSeconds(entry, now), requestId)
  let body = entry.body
  if (form !== null) {
    if (form.encoding === null) addVary(head)
    else {
      compressedHead(head, form.encoding)
      if (form.body !== null) {
        body = form.body
        head.push('Content-Length', String(body.length)) // known: sent in one piece, not chunked
        form.compression.counted(form.encoding, entry.body.length, body.length)
      }
    }
  }
  res.writeHead(entry.status, head)
  if (method === 'HEAD' || body.length === 0) {
    res.end()
    return 0
  }
  res.end(body)
  return body.length
}

export class CachedExchange extends Exchange implements FillClient {
  readonly #route: CachedRoute
  readonly cacheRequest: CacheRequest
  /** The URL's key in the store: `http://<host><target>`. */
  readonly #key: string
  #result: CacheResult | '' = ''
  /** Going to a server itself, as a plain exchange (BYPASS, a HEAD miss). */
  #plain = false
  #fill: Fill | null = null
  /** This request started its fill: its access log line names the fill's server. */
  #leads = false
  /** The fill ended; this client's compressor is flushing. */
  #fillCompressing = false

  constructor(ctx: ForwardContext, req: IncomingMessage, res: ServerResponse, route: CachedRoute, headers: UpstreamHeaders, started: number, body: BodyLimit | null) {
    super(ctx, req, res, route.route, headers, started, body)
    this.#route = route
    this.cacheRequest = { method: req.method as string, headers: req.headers as Record<string, string | undefined> }
    this.#key = cacheOrigin(headers.host) + (req.url as string)
  }

  override attempt(): void {
    if (this.#plain) return super.attempt() // a retry of the plain exchange
    const cache = this.#route.cache
    if (!cache.usable || bypasses(this.cacheRequest)) return this.#goPlain('BYPASS')
    const found = cache.store.get(this.#key)
    if (found instanceof Promise) found.then((v) => this.#decide(v), () => this.#decide(undefined))
    else this.#decide(found)
  }

  #decide(variants: readonly CachedResponse[] | undefined): void {
    if (this.finished) return // the client left while Redis answered
    const now = Date.now()
    const req = this.cacheRequest
    const entry = variants?.find((v) => varyMatches(v, req))
    if (entry !== undefined) {
      const use = reuse(entry, req, now)
      if (use === 'fresh') return this.#serve(entry, 'HIT', now)
      if (use === 'stale') return this.#serve(entry, 'STALE', now)
      if (use === 'stale-while-revalidate') {
        this.#serve(entry, 'STALE', now)
        const cache = this.#route.cache
        // The revalidation is a GET (this request may be a HEAD) that nobody waits for.
        if (fillInProgress(cache, this.#key) === undefined) new Fill(cache, this.upstream, this.#key, this.req.url as string, this.headers.headers, { method: 'GET', headers: req.headers }, entry).start()
        return
      }
      if (req.method === 'GET' && use === 'revalidate') return this.#join(entry)
    }
    if (req.method === 'HEAD') return this.#goPlain('MISS')
    this.#join(null)
  }

  /** A stored response, written in one go (once its compressed form is made, on a route with `compress`). */
  #serve(entry: CachedResponse, result: CacheResult, now: number): void {
    this.#result = result
    this.status = entry.status
    const compression = this.#route.compression
    const form = compression === null ? null : storedForm(compression, this.req, entry)
    if (form === null || form.body === null || form.body instanceof Buffer) return this.#write(entry, result, now, form as StoredForm<Buffer> | null)
    ;(form.body as Promise<Buffer>).then((body) => {
      if (!this.finished) this.#write(entry, result, Date.now(), { ...form, body })
    }, (err: unknown) => {
      if (this.finished) return
      this.upstream.log.warn({ err }, 'compression of a stored response failed; sent as stored')
      this.#write(entry, result, Date.now(), null)
    })
  }

  #write(entry: CachedResponse, result: CacheResult, now: number, form: StoredForm<Buffer> | null): void {
    this.bytesOut = writeStored(this.ctx, this.#route, this.res, entry, result, now, this.headers.requestId, this.req.method as string, form)
    this.finish(entry.status)
  }

  #join(stale: CachedResponse | null): void {
    const cache = this.#route.cache
    const running = fillInProgress(cache, this.#key)
    if (running !== undefined) {
      this.#fill = running
      running.join(this)
      return
    }
    const fill = new Fill(cache, this.upstream, this.#key, this.req.url as string, this.headers.headers, this.cacheRequest, stale)
    this.#fill = fill
    this.#leads = true
    fill.join(this)
    fill.start()
  }

  #goPlain(result: CacheResult): void {
    this.#plain = true
    this.#result = result
    super.attempt()
  }

  // ---- a plain exchange on this route: X-Cache, and unsafe methods invalidate

  protected override responseHead(controller: Dispatcher.DispatchController, _headers: Record<string, string | string[] | undefined>): string[] {
    const route = this.#route
    const result = this.#result as CacheResult
    route.count(result)
    if (invalidates(this.req.method as string, this.status)) void route.cache.store.delete(this.#key)
    const out = clientResponseHeaders(controller.rawHeaders as RawResponseHeaders, this.headers.requestId)
    if (route.xCache) out.push('X-Cache', result)
    return out
  }

  // ---- waiting on a fill

  fillHead(status: number, headers: readonly string[], result: CacheResult, age: number | null): void {
    if (this.finished) return
    const route = this.#route
    route.count(result)
    this.#result = result
    this.status = status
    if (this.ctx.lifecycle.draining) this.res.shouldKeepAlive = false
    const head = route.head(headers, result, age, this.headers.requestId)
    // Compression, last on the way out: each client's stream of its own (the store keeps the plain body).
    const compression = route.compression
    if (compression !== null) this.compressor = compressorFor(compression, this.res, this.req, status, headerMap(headers), head, this)
    this.res.writeHead(status, head)
  }

  fillData(chunk: Buffer): boolean {
    if (this.finished) return true
    if (this.compressor !== null) return this.compressor.write(chunk) // its drain: resumeUpstream()
    this.bytesOut += chunk.length
    if (this.res.write(chunk)) return true
    this.res.once('drain', () => this.#fill?.drained(this))
    return false
  }

  fillEnd(): void {
    if (this.finished) return
    if (this.#leads) this.server = this.#fill?.serverOf ?? null
    this.#fill = null
    if (this.compressor !== null) {
      this.#fillCompressing = true
      this.compressor.end() // then compressedEnd()
      return
    }
    this.res.end()
    this.finish(this.status)
  }

  /** The compressor took in what it held: the fill may go on (or, on the plain path, the server). */
  override resumeUpstream(): void {
    const fill = this.#fill
    if (fill !== null) fill.drained(this)
    else super.resumeUpstream()
  }

  fillFailed(status: number, code: string): void {
    if (this.finished) return
    this.#fill = null
    this.errorCode = code
    if (this.res.headersSent) {
      this.res.destroy() // a body was under way: it must not look complete
      this.finish(this.status)
    } else this.reply(status)
  }

  fillMismatch(): void {
    // The response varies on headers this request does not share: a fill of its own, nobody joins.
    const fill = new Fill(this.#route.cache, this.upstream, this.#key, this.req.url as string, this.headers.headers, this.cacheRequest, null, false)
    this.#fill = fill
    fill.join(this)
    fill.start()
  }

  override clientClosed(): void {
    if (this.#fillCompressing && !this.finished) return this.finish(statusAfterClientGone) // the fill is done with this client
    if (this.#plain || this.finished) return super.clientClosed()
    const fill = this.#fill
    this.#fill = null
    fill?.leave(this)
    super.clientClosed()
    this.finish(statusAfterClientGone)
  }

  protected override cacheColumn(): string {
    return this.#result
  }
}
