// The HTTP caching rules (RFC 9111, as a shared cache, plus RFC 5861's stale-while-revalidate
// and stale-if-error) that switchyard's response cache follows: what may be stored and for
// how long, whether a stored response may answer a request, how a 304 refreshes it, the
// cache key's origin and the names of the outcomes (X-Cache). docs/caching.md describes them for users. The shell
// (request/cached-exchange.ts, request/fill.ts) does the I/O and asks these functions; they
// read headers and times only (epoch ms passed in) and return plain data (cached-response.ts).
//
// Choices a reader must know:
// - Header maps are by lower-case name with repeated fields joined by ", " (headerMap); a
//   date that is not a valid HTTP-date, such as `Expires: 0` or two joined Expires lines, is
//   no date: an invalid Expires means already expired.
// - A stored response is never served stale when the response forbids it (RFC 9111 4.2.4):
//   `must-revalidate`, `proxy-revalidate`, `s-maxage` (policy.mustRevalidate) or `no-cache`
//   rule out max-stale, stale-while-revalidate and stale-if-error alike, as undici's cache
//   interceptor did before us.
// - A response that would be of no use even stale by the time it arrived (its deleteAt is
//   already past) is not stored.
import type { CachedResponse, CachePolicy, CacheRequest } from './cached-response.js'

/** How a response on a cached route is called in X-Cache, the access log and switchyard_cache_requests_total. */
export type CacheResult = 'HIT' | 'MISS' | 'STALE' | 'BYPASS'

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

// ---- Header values ----

/** A Cache-Control header, request or response; numbers in seconds. */
export interface CacheControl {
  maxAge?: number
  sMaxAge?: number
  noCache: boolean
  noStore: boolean
  private: boolean
  public: boolean
  mustRevalidate: boolean
  proxyRevalidate: boolean
  staleWhileRevalidate?: number
  staleIfError?: number
  /** Infinity when "max-stale" has no value. */
  maxStale?: number
  minFresh?: number
  onlyIfCached: boolean
  immutable: boolean
}

/** RFC 9111 1.2.2: a delta-seconds too large to represent is taken as 2^31. */
const MAX_DELTA_SECONDS = 2147483648

/** delta-seconds (digits only), or undefined when absent or invalid. */
function deltaSeconds(v: string | null): number | undefined {
  if (v === null || !/^\d+$/.test(v)) return undefined
  return Math.min(Number(v), MAX_DELTA_SECONDS)
}

/** The directives of a Cache-Control value as [lower-case name, argument or null]; quoted arguments unquoted (commas inside quotes do not split). */
function directives(value: string): [string, string | null][] {
  const out: [string, string | null][] = []
  const n = value.length
  let i = 0
  while (i < n) {
    let j = i
    while (j < n && value[j] !== '=' && value[j] !== ',') j++
    const name = value.slice(i, j).trim().toLowerCase()
    let arg: string | null = null
    i = j
    if (value[i] === '=') {
      i++
      while (value[i] === ' ' || value[i] === '\t') i++
      if (value[i] === '"') {
        arg = ''
        for (i++; i < n && value[i] !== '"'; i++) {
          if (value[i] === '\\') i++
          arg += value[i] ?? ''
        }
        while (i < n && value[i] !== ',') i++ // the closing quote and anything up to the comma
      } else {
        j = i
        while (j < n && value[j] !== ',') j++
        arg = value.slice(i, j).trim()
        i = j
      }
    }
    i++ // the comma
    if (name !== '') out.push([name, arg])
  }
  return out
}

/**
 * Tolerant: names case-insensitive, quoted arguments accepted, invalid numbers ignored, the
 * first valid occurrence of a numeric directive wins. `no-cache="f"` and `private="f"` (with
 * field names) count as not set: a shared cache may ignore those forms (RFC 9111 5.2.2.4, 5.2.2.7).
 */
export function parseCacheControl(value: string | undefined): CacheControl {
  const cc: CacheControl = {
    noCache: false, noStore: false, private: false, public: false, mustRevalidate: false,
    proxyRevalidate: false, onlyIfCached: false, immutable: false,
  }
  if (value === undefined) return cc
  for (const [name, arg] of directives(value)) {
    switch (name) {
      case 'max-age': cc.maxAge ??= deltaSeconds(arg); break
      case 's-maxage': cc.sMaxAge ??= deltaSeconds(arg); break
      case 'stale-while-revalidate': cc.staleWhileRevalidate ??= deltaSeconds(arg); break
      case 'stale-if-error': cc.staleIfError ??= deltaSeconds(arg); break
      case 'min-fresh': cc.minFresh ??= deltaSeconds(arg); break
      case 'max-stale': cc.maxStale ??= arg === null ? Infinity : deltaSeconds(arg); break
      case 'no-cache': cc.noCache ||= arg === null; break
      case 'private': cc.private ||= arg === null; break
      case 'no-store': cc.noStore = true; break
      case 'public': cc.public = true; break
      case 'must-revalidate': cc.mustRevalidate = true; break
      case 'proxy-revalidate': cc.proxyRevalidate = true; break
      case 'only-if-cached': cc.onlyIfCached = true; break
      case 'immutable': cc.immutable = true; break
    }
  }
  return cc
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']
// The three HTTP-date forms (RFC 9110 5.6.7): IMF-fixdate, obsolete RFC 850, asctime.
const IMF_FIXDATE = /^[a-z]{3}, (\d{1,2}) ([a-z]{3}) (\d{4}) (\d\d):(\d\d):(\d\d) GMT$/i
const RFC850_DATE = /^[a-z]{6,9}, (\d\d)-([a-z]{3})-(\d\d) (\d\d):(\d\d):(\d\d) GMT$/i
const ASCTIME_DATE = /^[a-z]{3} ([a-z]{3}) ([ \d]\d) (\d\d):(\d\d):(\d\d) (\d{4})$/i

/** An HTTP-date as epoch ms, or null when the value is absent or not one (`0`, `-1`, two dates joined...). */
export function parseHttpDate(value: string | undefined): number | null {
  if (value === undefined) return null
  const v = value.trim()
  let m = IMF_FIXDATE.exec(v)
  if (m !== null) return utc(Number(m[3]), m[2], Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]))
  m = RFC850_DATE.exec(v)
  if (m !== null) {
    const yy = Number(m[3])
    return utc(yy < 70 ? 2000 + yy : 1900 + yy, m[2], Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]))
  }
  m = ASCTIME_DATE.exec(v)
  if (m !== null) return utc(Number(m[6]), m[1], Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]))
  return null
}

function utc(year: number, monthName: string | undefined, day: number, hh: number, mm: number, ss: number): number | null {
  const month = MONTHS.indexOf(monthName?.toLowerCase() ?? '')
  const valid = month !== -1 && hh < 24 && mm < 60 && ss <= 60 &&
    new Date(Date.UTC(year, month, day)).getUTCDate() === day // no 31 Feb, no day 0
  return valid ? Date.UTC(year, month, day, hh, mm, ss) : null
}

/** Flat [name, value, ...] headers by lower-case name; repeated ones joined with ", " (Set-Cookie with "\n"). */
export function headerMap(raw: readonly string[]): Record<string, string> {
  const map: Record<string, string> = {}
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase()
    const value = raw[i + 1] as string
    const before = map[name]
    map[name] = before === undefined ? value : before + (name === 'set-cookie' ? '\n' : ', ') + value
  }
  return map
}

/** The lower-case names in a comma-separated list (Vary, Connection), without empty or repeated ones. */
function nameList(value: string | undefined): string[] {
  if (value === undefined) return []
  const names = value.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '')
  return [...new Set(names)]
}

/** Hop-by-hop fields (RFC 9110 7.6.1): never stored, never taken from a 304. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-authenticate', 'proxy-authorization']

/** The hop-by-hop names of a header list: the fixed ones and those its Connection fields name. */
function hopByHop(raw: readonly string[]): Set<string> {
  const names = new Set(HOP_BY_HOP)
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() === 'connection') for (const n of nameList(raw[i + 1])) names.add(n)
  }
  return names
}

/** `raw` without the fields whose lower-case name is in `names`; order and case kept. */
function without(raw: readonly string[], names: ReadonlySet<string>): string[] {
  const out: string[] = []
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (!names.has((raw[i] as string).toLowerCase())) out.push(raw[i] as string, raw[i + 1] as string)
  }
  return out
}

// ---- Storing ----

/** The cache takes no part (X-Cache BYPASS): method not GET/HEAD, or the request says no-store. */
export function bypasses(req: CacheRequest): boolean {
  return (req.method !== 'GET' && req.method !== 'HEAD') || parseCacheControl(req.headers['cache-control']).noStore
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE'])

/** An unsafe method (anything but GET, HEAD, OPTIONS, TRACE) answered 2xx/3xx drops the stored responses of its URL (RFC 9111 4.4). */
export function invalidates(method: string, status: number): boolean {
  return !SAFE_METHODS.has(method) && status >= 200 && status < 400
}

/** Statuses stored with explicit freshness (s-maxage, max-age, Expires). */
const EXPLICIT_STATUSES = new Set([200, 203, 204, 300, 301, 302, 303, 307, 308, 404, 405, 410, 414, 451, 501])
/** Statuses stored with heuristic freshness when the response has no explicit one (RFC 9110 15.1, less 206: ranges are not cached). */
const HEURISTIC_STATUSES = new Set([200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501])
const HEURISTIC_CAP_MS = 24 * 3600_000
/** How long past its freshness a response with a validator is kept for revalidation. */
const KEEP_FOR_REVALIDATION_MS = 3600_000

/**
 * Whether and how to store a response to a GET (null: not stored). `res` are the response
 * headers by lower-case name (repeated ones joined with ", "); `raw` the flat [name, value...]
 * list as received. Returns everything of a CachedResponse except `body`.
 */
export function toStore(
  req: CacheRequest, status: number, res: Readonly<Record<string, string | undefined>>, raw: readonly string[],
  requestTime: number, responseTime: number,
): Omit<CachedResponse, 'body'> | null {
  if (req.method !== 'GET' || parseCacheControl(req.headers['cache-control']).noStore) return null
  return storable(req, status, res, raw, requestTime, responseTime)
}

/** toStore's rules about the response (a 304's refresh goes through them again). */
function storable(
  req: CacheRequest, status: number, res: Readonly<Record<string, string | undefined>>, raw: readonly string[],
  requestTime: number, responseTime: number,
): Omit<CachedResponse, 'body'> | null {
  const cc = parseCacheControl(res['cache-control'])
  if (cc.noStore || cc.private || res['set-cookie'] !== undefined) return null
  const varyNames = nameList(res.vary)
  if (varyNames.includes('*')) return null
  const sharedWithAuthorization = cc.public || cc.sMaxAge !== undefined || cc.mustRevalidate
  if (req.headers.authorization !== undefined && !sharedWithAuthorization) return null

  const date = parseHttpDate(res.date) ?? responseTime
  const explicit = cc.sMaxAge !== undefined || cc.maxAge !== undefined || res.expires !== undefined
  if (!(explicit ? EXPLICIT_STATUSES : HEURISTIC_STATUSES).has(status)) return null
  let lifetimeMs: number
  if (cc.sMaxAge !== undefined) lifetimeMs = cc.sMaxAge * 1000
  else if (cc.maxAge !== undefined) lifetimeMs = cc.maxAge * 1000
  else if (res.expires !== undefined) lifetimeMs = Math.max(0, (parseHttpDate(res.expires) ?? date) - date)
  else {
    // Heuristic (RFC 9111 4.2.2): 10% of the time since Last-Modified, at most a day.
    const lastModified = parseHttpDate(res['last-modified'])
    lifetimeMs = lastModified === null ? 0 : Math.min(HEURISTIC_CAP_MS, Math.max(0, (date - lastModified) / 10))
  }

  const etag = res.etag ?? null
  const lastModified = res['last-modified'] ?? null
  const hasValidator = etag !== null || lastModified !== null
  if ((lifetimeMs === 0 || cc.noCache) && !hasValidator) return null

  // RFC 9111 4.2.3
  const apparentAge = Math.max(0, responseTime - date)
  const ageHeader = deltaSeconds(res.age?.split(',')[0]?.trim() ?? null) ?? 0
  const correctedAge = ageHeader * 1000 + (responseTime - requestTime)
  const initialAgeMs = Math.max(apparentAge, correctedAge)

  const policy: CachePolicy = {
    lifetimeMs,
    initialAgeMs,
    noCache: cc.noCache,
    mustRevalidate: cc.mustRevalidate || cc.proxyRevalidate || cc.sMaxAge !== undefined,
    staleWhileRevalidateMs: (cc.staleWhileRevalidate ?? 0) * 1000,
    staleIfErrorMs: (cc.staleIfError ?? 0) * 1000,
    sharedWithAuthorization,
    etag,
    lastModified,
  }
  const freshEnd = responseTime - initialAgeMs + lifetimeMs
  const deleteAt = freshEnd + Math.max(policy.staleWhileRevalidateMs, policy.staleIfErrorMs, hasValidator ? KEEP_FOR_REVALIDATION_MS : 0)
  if (deleteAt <= responseTime) return null

  const notStored = hopByHop(raw)
  notStored.add('age')
  notStored.add('x-cache')
  return {
    status,
    headers: without(raw, notStored),
    requestTime,
    responseTime,
    vary: varyNames.map((name) => [name, req.headers[name] ?? null] as const),
    policy,
    deleteAt,
  }
}

// ---- Reusing ----

/** The entry's current age in ms (RFC 9111 4.2.3: initial age + time resident; a clock that went back adds nothing). */
export function ageMs(entry: CachedResponse, now: number): number {
  return entry.policy.initialAgeMs + Math.max(0, now - entry.responseTime)
}

/** The Age header value: whole seconds, floor, never negative. */
export function ageSeconds(entry: CachedResponse, now: number): number {
  return Math.max(0, Math.floor(ageMs(entry, now) / 1000))
}

/** Whether a stored variant applies to this request (every Vary'd header value equal; null = absent on both sides). Header values compared after trimming; otherwise exact. */
export function varyMatches(entry: CachedResponse, req: CacheRequest): boolean {
  return entry.vary.every(([name, value]) => (req.headers[name]?.trim() ?? null) === (value?.trim() ?? null))
}

export type Reuse = 'fresh' | 'stale' | 'stale-while-revalidate' | 'revalidate' | 'miss'

/**
 * What to do with a matching stored response for this request:
 * fresh: serve it (HIT); stale: serve it stale because the request's max-stale allows -> X-Cache STALE;
 * stale-while-revalidate: serve it stale now and revalidate in the background (within lifetime + swr);
 * revalidate: ask the server conditionally first (it has a validator);
 * miss: it cannot be used (no validator and not fresh, or Authorization without sharedWithAuthorization).
 * Request directives: no-cache -> revalidate (or miss); max-age=N -> not usable as is if age > N;
 * min-fresh=N -> not usable as is if the remaining freshness < N; max-stale[=N] -> stale.
 * Response no-cache -> revalidate. Never served stale when policy.mustRevalidate or noCache.
 */
export function reuse(entry: CachedResponse, req: CacheRequest, now: number): Reuse {
  const p = entry.policy
  if (req.headers.authorization !== undefined && !p.sharedWithAuthorization) return 'miss'
  const ask = p.etag !== null || p.lastModified !== null ? 'revalidate' : 'miss'
  const rc = parseCacheControl(req.headers['cache-control'])
  if (rc.noCache || p.noCache) return ask
  const age = ageMs(entry, now)
  if (rc.maxAge !== undefined && age > rc.maxAge * 1000) return ask // the client wants a younger one
  if (age < p.lifetimeMs) {
    return rc.minFresh === undefined || p.lifetimeMs - age >= rc.minFresh * 1000 ? 'fresh' : ask
  }
  const staleness = age - p.lifetimeMs
  if (p.mustRevalidate) return ask
  if (p.staleWhileRevalidateMs > 0 && staleness <= p.staleWhileRevalidateMs) return 'stale-while-revalidate'
  if (rc.maxStale !== undefined && staleness <= rc.maxStale * 1000) return 'stale'
  return ask
}

/** Headers for a conditional request: If-None-Match (etag) and/or If-Modified-Since (lastModified). */
export function conditionalHeaders(entry: CachedResponse): [string, string][] {
  const out: [string, string][] = []
  if (entry.policy.etag !== null) out.push(['If-None-Match', entry.policy.etag])
  if (entry.policy.lastModified !== null) out.push(['If-Modified-Since', entry.policy.lastModified])
  return out
}

/** Fields a 304 does not update in the stored response (RFC 9111 4.3.4), besides hop-by-hop ones. */
const NOT_UPDATED_BY_304 = ['content-length', 'content-encoding', 'content-range']

/**
 * A 304 (RFC 9111 4.3.4): the stored response with its header fields updated from the 304's
 * (each header name present in the 304 replaces all stored fields of that name, except
 * Content-Length, Content-Encoding, Transfer-Encoding, Content-Range and hop-by-hop ones),
 * then the policy recomputed from the merged headers with the new request/response times
 * (so the age restarts and a max-age repeated or kept gives a fresh entry again). A 304
 * without Date is dated by its arrival (RFC 9110 6.6.1), so the stored Date does not make
 * it old at once. Returns null when the merged headers are no longer storable (e.g. the 304
 * says no-store). `req` is the request revalidated (a revalidation is a GET whatever its method).
 */
export function refreshed(
  entry: CachedResponse, req: CacheRequest, res304: Readonly<Record<string, string | undefined>>, raw304: readonly string[],
  requestTime: number, responseTime: number,
): CachedResponse | null {
  const notUpdated = hopByHop(raw304)
  for (const name of NOT_UPDATED_BY_304) notUpdated.add(name)
  const update = without(raw304, notUpdated)
  if (res304.date === undefined) update.push('Date', new Date(responseTime).toUTCString())
  const updated = new Set<string>()
  for (let i = 0; i < update.length; i += 2) updated.add((update[i] as string).toLowerCase())
  const merged = [...without(entry.headers, updated), ...update]
  const stored = storable(req, entry.status, headerMap(merged), merged, requestTime, responseTime)
  return stored === null ? null : { ...stored, body: entry.body }
}

/** A failed revalidation may answer the stored response stale (RFC 5861 stale-if-error, the response's or the request's). */
export function staleIfError(entry: CachedResponse, req: CacheRequest, now: number): boolean {
  const p = entry.policy
  if (p.mustRevalidate || p.noCache) return false
  if (req.headers.authorization !== undefined && !p.sharedWithAuthorization) return false
  const requestMs = (parseCacheControl(req.headers['cache-control']).staleIfError ?? 0) * 1000
  const window = Math.max(p.staleIfErrorMs, requestMs)
  return window > 0 && ageMs(entry, now) - p.lifetimeMs <= window
}
