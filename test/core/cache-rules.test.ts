// Table tests of the HTTP caching rules (core/cache-rules.ts): Cache-Control and HTTP-date
// parsing, what is stored and with which policy (freshness, age, Vary, headers kept), whether
// a stored response answers a request, a 304's refresh, stale-if-error, and the key's origin.
// Times are epoch ms; T is a whole second so HTTP-dates round-trip exactly.
import { describe, expect, it } from 'vitest'
import type { CachedResponse, CachePolicy, CacheRequest } from '../../src/core/cached-response.js'
import {
  type CacheControl, ageMs, ageSeconds, bypasses, cacheOrigin, conditionalHeaders, headerMap, invalidates, parseCacheControl,
  parseHttpDate, refreshed, reuse, staleIfError, toStore, varyMatches,
} from '../../src/core/cache-rules.js'

const S = 1000
const H = 3600 * S
const T = Date.UTC(2025, 0, 15, 12, 0, 0) // Wed, 15 Jan 2025 12:00:00 GMT
const httpDate = (ms: number): string => new Date(ms).toUTCString()
const request = (headers: Record<string, string> = {}, method = 'GET'): CacheRequest => ({ method, headers })

/** A stored entry with the given policy (lifetime 60 s, stored at T, no validator unless said). */
function entry(policy: Partial<CachePolicy> = {}, more: Partial<CachedResponse> = {}): CachedResponse {
  return {
    status: 200, headers: [], body: Buffer.from('hello'), requestTime: T, responseTime: T, vary: [],
    policy: {
      lifetimeMs: 60 * S, initialAgeMs: 0, noCache: false, mustRevalidate: false, staleWhileRevalidateMs: 0,
      staleIfErrorMs: 0, sharedWithAuthorization: false, etag: null, lastModified: null, ...policy,
    },
    deleteAt: T + 60 * S,
    ...more,
  }
}

describe('parseCacheControl', () => {
  it('nothing set without a header', () => {
    expect(parseCacheControl(undefined)).toEqual({
      noCache: false, noStore: false, private: false, public: false, mustRevalidate: false,
      proxyRevalidate: false, onlyIfCached: false, immutable: false,
    })
  })

  it.each([
    ['max-age=60', { maxAge: 60 }],
    ['MAX-AGE=60', { maxAge: 60 }],
    ['max-age="60"', { maxAge: 60 }],
    [' Public ,  max-age = 60 ', { public: true, maxAge: 60 }],
    ['max-age=abc', { maxAge: undefined }],
    ['max-age=-1', { maxAge: undefined }],
    ['max-age=1.5', { maxAge: undefined }],
    ['max-age=', { maxAge: undefined }],
    ['max-age', { maxAge: undefined }],
    ['max-age=60, max-age=10', { maxAge: 60 }],
    ['max-age=abc, max-age=10', { maxAge: 10 }],
    ['max-age=99999999999', { maxAge: 2147483648 }],
    ['s-maxage=30', { sMaxAge: 30, maxAge: undefined }],
    ['no-cache', { noCache: true }],
    ['No-Cache', { noCache: true }],
    ['no-cache="Set-Cookie"', { noCache: false }],
    ['no-cache="a, max-age=1", max-age=5', { noCache: false, maxAge: 5 }],
    ['no-cache="a\\", public", max-age=5', { noCache: false, public: false, maxAge: 5 }],
    ['private="a\\",no-store,"', { private: false, noStore: false }],
    ['no-cache="x", no-cache', { noCache: true }],
    ['private', { private: true }],
    ['private="Authorization"', { private: false }],
    ['no-store', { noStore: true }],
    ['public', { public: true }],
    ['must-revalidate', { mustRevalidate: true, proxyRevalidate: false }],
    ['proxy-revalidate', { proxyRevalidate: true, mustRevalidate: false }],
    ['only-if-cached', { onlyIfCached: true }],
    ['immutable', { immutable: true }],
    ['max-stale', { maxStale: Infinity }],
    ['max-stale=30', { maxStale: 30 }],
    ['max-stale=soon', { maxStale: undefined }],
    ['min-fresh=5', { minFresh: 5 }],
    ['stale-while-revalidate=30, stale-if-error=600', { staleWhileRevalidate: 30, staleIfError: 600 }],
    [',, max-age=5 ,', { maxAge: 5 }],
    ['community="UCI", max-age=5', { maxAge: 5 }],
  ] as const)('%s', (value, expected: Partial<CacheControl>) => {
    const cc = parseCacheControl(value)
    for (const [key, v] of Object.entries(expected)) expect(cc[key as keyof CacheControl], key).toBe(v)
  })
})

describe('parseHttpDate', () => {
  const NOV6 = Date.UTC(1994, 10, 6, 8, 49, 37)
  it.each([
    ['Sun, 06 Nov 1994 08:49:37 GMT', NOV6],
    ['sun, 06 nov 1994 08:49:37 gmt', NOV6],
    [' Sun, 06 Nov 1994 08:49:37 GMT ', NOV6],
    ['Sunday, 06-Nov-94 08:49:37 GMT', NOV6],
    ['Thursday, 01-Jan-37 00:00:00 GMT', Date.UTC(2037, 0, 1)],
    ['Sun Nov  6 08:49:37 1994', NOV6],
    ['Wed, 15 Jan 2025 12:00:00 GMT', T],
    ['0', null],
    ['-1', null],
    ['', null],
    [undefined, null],
    ['2030-01-01T00:00:00Z', null],
    ['Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT', null],
    ['Sun, 31 Feb 1994 08:49:37 GMT', null],
    ['Sun, 00 Nov 1994 08:49:37 GMT', null],
    ['Sun, 06 Nov 1994 24:00:00 GMT', null],
    ['Sun, 06 Nov 1994 08:60:00 GMT', null],
    ['Sun, 06 Foo 1994 08:49:37 GMT', null],
    ['Sun, 06 Nov 1994 08:49:37 UTC', null],
  ] as const)('%j', (value, expected) => {
    expect(parseHttpDate(value)).toBe(expected)
  })
})

describe('headerMap', () => {
  it('lower-case names, repeated ones joined with ", " (Set-Cookie with a new line), a name without value ignored', () => {
    expect(headerMap([
      'Content-Type', 'text/plain', 'X-A', '1', 'x-a', '2',
      'Set-Cookie', 'a=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT', 'set-cookie', 'b=2', 'Dangling',
    ])).toEqual({
      'content-type': 'text/plain',
      'x-a': '1, 2',
      'set-cookie': 'a=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT\nb=2',
    })
  })
})

describe('bypasses', () => {
  it.each([
    ['GET', {}, false],
    ['HEAD', {}, false],
    ['GET', { 'cache-control': 'no-cache' }, false],
    ['GET', { 'cache-control': 'max-age=0, No-Store' }, true],
    ['HEAD', { 'cache-control': 'no-store' }, true],
    ['POST', {}, true],
    ['PUT', {}, true],
    ['DELETE', {}, true],
    ['OPTIONS', {}, true],
    ['get', {}, true],
  ] as const)('%s %j -> %s', (method, headers, expected) => {
    expect(bypasses(request(headers, method))).toBe(expected)
  })
})

describe('invalidates', () => {
  it.each([
    ['POST', 200, true],
    ['POST', 201, true],
    ['POST', 302, true],
    ['POST', 399, true],
    ['POST', 400, false],
    ['POST', 404, false],
    ['POST', 500, false],
    ['POST', 101, false],
    ['PUT', 204, true],
    ['DELETE', 200, true],
    ['PATCH', 200, true],
    ['PROPFIND', 207, true],
    ['GET', 200, false],
    ['HEAD', 200, false],
    ['OPTIONS', 200, false],
    ['TRACE', 200, false],
  ] as const)('%s %i -> %s', (method, status, expected) => {
    expect(invalidates(method, status)).toBe(expected)
  })
})

describe('toStore', () => {
  interface Arrival { status?: number; method?: string; req?: Record<string, string>; requestTime?: number; responseTime?: number }
  const store = (raw: string[], a: Arrival = {}) =>
    toStore(request(a.req, a.method), a.status ?? 200, headerMap(raw), raw, a.requestTime ?? T, a.responseTime ?? T)
  const D = ['Date', httpDate(T)]
  const ETAG = ['ETag', '"v1"']
  const CC = (v: string) => ['Cache-Control', v]

  it('a max-age response: every field', () => {
    const raw = [...D, ...CC('max-age=60'), 'Content-Type', 'text/plain']
    expect(store(raw)).toEqual({
      status: 200,
      headers: raw,
      requestTime: T,
      responseTime: T,
      vary: [],
      policy: {
        lifetimeMs: 60 * S, initialAgeMs: 0, noCache: false, mustRevalidate: false, staleWhileRevalidateMs: 0,
        staleIfErrorMs: 0, sharedWithAuthorization: false, etag: null, lastModified: null,
      },
      deleteAt: T + 60 * S,
    })
  })

  it.each<[string, string[], Arrival, object | null]>([
    // Explicit freshness: s-maxage > max-age > Expires - Date.
    ['s-maxage over max-age', [...D, ...CC('max-age=60, s-maxage=30')], {}, { policy: { lifetimeMs: 30 * S, mustRevalidate: true, sharedWithAuthorization: true } }],
    ['max-age over Expires', [...D, ...CC('max-age=60'), 'Expires', httpDate(T + 600 * S)], {}, { policy: { lifetimeMs: 60 * S } }],
    ['Expires minus Date (Date in the past: initial age)', ['Date', httpDate(T - 10 * S), 'Expires', httpDate(T + 110 * S)], {}, { policy: { lifetimeMs: 120 * S, initialAgeMs: 10 * S }, deleteAt: T + 110 * S }],
    ['Expires minus Date, Date in the future (skewed server clock): only the round trip ages it', ['Date', httpDate(T + H), 'Expires', httpDate(T + H + 60 * S)], { requestTime: T - 500 }, { policy: { lifetimeMs: 60 * S, initialAgeMs: 500 }, deleteAt: T - 500 + 60 * S }],
    ['max-age with Date in the future', ['Date', httpDate(T + H), ...CC('max-age=60')], {}, { policy: { lifetimeMs: 60 * S, initialAgeMs: 0 } }],
    ['Expires without Date: counted from the response time', ['Expires', httpDate(T + 90 * S)], { requestTime: T - 30 * S, responseTime: T }, { policy: { lifetimeMs: 90 * S } }],
    ['Expires in RFC 850 form', [...D, 'Expires', 'Wednesday, 15-Jan-25 12:01:00 GMT'], {}, { policy: { lifetimeMs: 60 * S } }],
    ['Expires in asctime form', [...D, 'Expires', 'Wed Jan 15 12:01:00 2025'], {}, { policy: { lifetimeMs: 60 * S } }],
    ['Expires invalid: already expired (with a validator)', [...D, 'Expires', '0', ...ETAG], {}, { policy: { lifetimeMs: 0, etag: '"v1"' } }],
    ['Expires invalid, no validator: nothing to reuse', [...D, 'Expires', '-1'], {}, null],
    ['Expires before Date: lifetime 0', [...D, 'Expires', httpDate(T - H), ...ETAG], {}, { policy: { lifetimeMs: 0 } }],
    ['an invalid Expires is explicit: no heuristic', [...D, 'Expires', '0', 'Last-Modified', httpDate(T - 100 * 24 * H)], {}, { policy: { lifetimeMs: 0 } }],
    ['max-age=0 is explicit: no heuristic', [...D, ...CC('max-age=0'), 'Last-Modified', httpDate(T - 100 * 24 * H)], {}, { policy: { lifetimeMs: 0 } }],
    ['max-age=0 without validator: not stored', [...D, ...CC('max-age=0')], {}, null],
    ['max-age=0 with ETag: kept an hour for revalidation', [...D, ...CC('max-age=0'), ...ETAG], {}, { policy: { lifetimeMs: 0 }, deleteAt: T + H }],
    // Heuristic freshness: 10% of Date - Last-Modified, at most 24 h.
    ['heuristic: 10% of 10 h', [...D, 'Last-Modified', httpDate(T - 10 * H)], {}, { policy: { lifetimeMs: H, lastModified: httpDate(T - 10 * H) }, deleteAt: T + 2 * H }],
    ['heuristic capped at 24 h', [...D, 'Last-Modified', httpDate(T - 100 * 24 * H)], {}, { policy: { lifetimeMs: 24 * H } }],
    ['heuristic without Date: from the response time', ['Last-Modified', httpDate(T - 10 * H)], { requestTime: T - S }, { policy: { lifetimeMs: H } }],
    ['heuristic: Last-Modified after Date gives 0 (still a validator)', [...D, 'Last-Modified', httpDate(T + H)], {}, { policy: { lifetimeMs: 0 } }],
    ['no freshness, no validator: not stored', [...D, 'Content-Type', 'text/plain'], {}, null],
    ['ETag only: stored with lifetime 0', [...D, ...ETAG], {}, { policy: { lifetimeMs: 0, etag: '"v1"' } }],
    // Statuses.
    ['404 heuristic', [...D, 'Last-Modified', httpDate(T - 10 * H)], { status: 404 }, { status: 404, policy: { lifetimeMs: H } }],
    ['501 heuristic', [...D, 'Last-Modified', httpDate(T - 10 * H)], { status: 501 }, { status: 501 }],
    ['302 heuristic: not stored', [...D, 'Last-Modified', httpDate(T - 10 * H)], { status: 302 }, null],
    ['302 explicit', [...D, ...CC('max-age=60')], { status: 302 }, { status: 302 }],
    ['303 explicit', [...D, ...CC('max-age=60')], { status: 303 }, { status: 303 }],
    ['307 explicit (Expires)', [...D, 'Expires', httpDate(T + 60 * S)], { status: 307 }, { status: 307 }],
    ['451 explicit', [...D, ...CC('max-age=60')], { status: 451 }, { status: 451 }],
    ['451 heuristic: not stored', [...D, 'Last-Modified', httpDate(T - 10 * H)], { status: 451 }, null],
    ['206 never', [...D, ...CC('max-age=60')], { status: 206 }, null],
    ['201 never', [...D, ...CC('max-age=60')], { status: 201 }, null],
    ['304 never', [...D, ...CC('max-age=60')], { status: 304 }, null],
    ['500 never', [...D, ...CC('max-age=60')], { status: 500 }, null],
    ['503 never', [...D, ...CC('max-age=60'), ...ETAG], { status: 503 }, null],
    // Never stored.
    ['response no-store', [...D, ...CC('max-age=60, no-store')], {}, null],
    ['response private', [...D, ...CC('private, max-age=60')], {}, null],
    ['private with field names is not private for a shared cache', [...D, ...CC('private="X-User", max-age=60')], {}, { policy: { lifetimeMs: 60 * S } }],
    ['Set-Cookie', [...D, ...CC('max-age=60'), 'Set-Cookie', 'a=1'], {}, null],
    ['Set-Cookie even when public', [...D, ...CC('public, max-age=60'), 'set-cookie', 'a=1'], {}, null],
    ['Vary: *', [...D, ...CC('max-age=60'), 'Vary', '*'], {}, null],
    ['Vary with * among names', [...D, ...CC('max-age=60'), 'Vary', 'Accept-Encoding, *'], {}, null],
    ['request no-store', [...D, ...CC('max-age=60')], { req: { 'cache-control': 'no-store' } }, null],
    ['HEAD', [...D, ...CC('max-age=60')], { method: 'HEAD' }, null],
    ['POST', [...D, ...CC('max-age=60')], { method: 'POST' }, null],
    // Authorization.
    ['Authorization, max-age only: not stored', [...D, ...CC('max-age=60')], { req: { authorization: 'Basic x' } }, null],
    ['Authorization, public', [...D, ...CC('public, max-age=60')], { req: { authorization: 'Basic x' } }, { policy: { sharedWithAuthorization: true, mustRevalidate: false } }],
    ['Authorization, s-maxage', [...D, ...CC('s-maxage=60')], { req: { authorization: 'Basic x' } }, { policy: { sharedWithAuthorization: true, lifetimeMs: 60 * S } }],
    ['Authorization, must-revalidate', [...D, ...CC('must-revalidate, max-age=60')], { req: { authorization: 'Basic x' } }, { policy: { sharedWithAuthorization: true, mustRevalidate: true } }],
    ['Authorization, proxy-revalidate: not stored', [...D, ...CC('proxy-revalidate, max-age=60')], { req: { authorization: 'Basic x' } }, null],
    // no-cache.
    ['no-cache with ETag: stored, revalidated each time', [...D, ...CC('no-cache, max-age=60'), ...ETAG], {}, { policy: { noCache: true, lifetimeMs: 60 * S } }],
    ['no-cache with Last-Modified only: stored', [...D, ...CC('no-cache'), 'Last-Modified', httpDate(T - H)], {}, { policy: { noCache: true } }],
    ['no-cache without validator: not stored', [...D, ...CC('no-cache, max-age=60')], {}, null],
    ['no-cache with field names is not no-cache', [...D, ...CC('no-cache="Set-Cookie", max-age=60')], {}, { policy: { noCache: false } }],
    // Age (RFC 9111 4.2.3).
    ['Age header + round trip', ['Date', httpDate(T - S), ...CC('max-age=60'), 'Age', '30'], { requestTime: T - 2 * S }, { policy: { initialAgeMs: 32 * S }, deleteAt: T + 28 * S }],
    ['Date in the past beats a smaller Age', ['Date', httpDate(T - 50 * S), ...CC('max-age=60'), 'Age', '10'], { requestTime: T - S }, { policy: { initialAgeMs: 50 * S } }],
    ['a clock stepped back during the request: never a negative age', ['Date', httpDate(T + H), ...CC('max-age=60')], { requestTime: T + S }, { policy: { initialAgeMs: 0 } }],
    ['invalid Age ignored', [...D, ...CC('max-age=60'), 'Age', 'soon'], { requestTime: T - 300 }, { policy: { initialAgeMs: 300 } }],
    ['Age list: the first member', [...D, ...CC('max-age=60'), 'Age', '10, 20'], {}, { policy: { initialAgeMs: 10 * S } }],
    ['stale on arrival without validator: not stored', ['Date', httpDate(T - 2 * H), ...CC('max-age=60')], {}, null],
    ['stale past the hour kept for revalidation: not stored', [...D, ...CC('max-age=60'), 'Age', '7200', ...ETAG], {}, null],
    ['stale on arrival with a validator, within the hour: stored', [...D, ...CC('max-age=60'), 'Age', '3000', ...ETAG], {}, { policy: { initialAgeMs: 3000 * S }, deleteAt: T - 3000 * S + 60 * S + H }],
    // Policy flags and stale allowances.
    ['must-revalidate', [...D, ...CC('max-age=60, must-revalidate')], {}, { policy: { mustRevalidate: true, sharedWithAuthorization: true } }],
    ['proxy-revalidate', [...D, ...CC('max-age=60, proxy-revalidate')], {}, { policy: { mustRevalidate: true, sharedWithAuthorization: false } }],
    ['public', [...D, ...CC('public, max-age=60')], {}, { policy: { mustRevalidate: false, sharedWithAuthorization: true } }],
    ['swr and sie in ms; deleteAt by the larger', [...D, ...CC('max-age=60, stale-while-revalidate=30, stale-if-error=600')], {}, { policy: { staleWhileRevalidateMs: 30 * S, staleIfErrorMs: 600 * S }, deleteAt: T + 660 * S }],
    ['swr longer than the validator hour', [...D, ...CC('max-age=60, stale-while-revalidate=7200'), ...ETAG], {}, { deleteAt: T + 60 * S + 2 * H }],
    ['swr shorter than the validator hour', [...D, ...CC('max-age=60, stale-while-revalidate=30'), ...ETAG], {}, { deleteAt: T + 60 * S + H }],
    ['validators kept as sent', [...D, ...CC('max-age=60'), 'etag', 'W/"x"', 'Last-Modified', httpDate(T - H)], {}, { policy: { etag: 'W/"x"', lastModified: httpDate(T - H) } }],
    // Vary.
    ['Vary names: trimmed, lower-cased, de-duplicated; absent request header is null', [...D, ...CC('max-age=60'), 'Vary', 'Accept-Encoding, accept-language ', 'vary', 'ACCEPT-ENCODING'], { req: { 'accept-encoding': 'gzip' } }, { vary: [['accept-encoding', 'gzip'], ['accept-language', null]] }],
  ])('%s', (_name, raw, arrival, expected) => {
    const stored = store(raw, arrival)
    if (expected === null) expect(stored).toBeNull()
    else expect(stored).toMatchObject(expected)
  })

  it('headers: hop-by-hop (with those Connection names), Age and X-Cache removed; order and case kept', () => {
    const raw = [
      'Date', httpDate(T), 'Connection', 'close, X-Trace', 'Cache-Control', 'max-age=60', 'X-Trace', '1',
      'Keep-Alive', 'timeout=5', 'Transfer-Encoding', 'chunked', 'Age', '3', 'x-cache', 'HIT',
      'Proxy-Authenticate', 'Basic', 'Trailer', 'Expires', 'Upgrade', 'h2c', 'TE', 'trailers',
      'Proxy-Connection', 'keep-alive', 'Proxy-Authorization', 'x', 'content-type', 'text/plain',
      'X-Multi', 'a', 'X-Multi', 'b',
    ]
    expect(store(raw)?.headers).toEqual([
      'Date', httpDate(T), 'Cache-Control', 'max-age=60', 'content-type', 'text/plain', 'X-Multi', 'a', 'X-Multi', 'b',
    ])
  })
})

describe('ageMs / ageSeconds', () => {
  it.each([
    [0, T, 0, 0],
    [2500, T + 1000, 3500, 3],
    [0, T + 999, 999, 0],
    [0, T + 1000, 1000, 1],
    [0, T + 61_999, 61_999, 61],
    [2500, T - 5000, 2500, 2], // the clock went back: time resident counts as 0
  ])('initial %i ms, now T%+i', (initialAgeMs, now, ms, seconds) => {
    const e = entry({ initialAgeMs })
    expect(ageMs(e, now)).toBe(ms)
    expect(ageSeconds(e, now)).toBe(seconds)
  })
})

describe('varyMatches', () => {
  it.each<[string, [string, string | null][], Record<string, string>, boolean]>([
    ['no Vary', [], { 'accept-encoding': 'br' }, true],
    ['same value', [['accept-encoding', 'gzip']], { 'accept-encoding': 'gzip' }, true],
    ['same after trimming', [['accept-encoding', 'gzip']], { 'accept-encoding': ' gzip ' }, true],
    ['stored value trimmed too', [['accept-encoding', ' gzip']], { 'accept-encoding': 'gzip' }, true],
    ['another value', [['accept-encoding', 'gzip']], { 'accept-encoding': 'br' }, false],
    ['case matters', [['accept-encoding', 'gzip']], { 'accept-encoding': 'GZIP' }, false],
    ['absent in the request', [['accept-encoding', 'gzip']], {}, false],
    ['absent on both sides', [['accept-language', null]], {}, true],
    ['absent when stored, present now', [['accept-language', null]], { 'accept-language': 'en' }, false],
    ['empty is not absent', [['accept-language', null]], { 'accept-language': '' }, false],
    ['every name must match', [['accept-encoding', 'gzip'], ['accept-language', 'en']], { 'accept-encoding': 'gzip', 'accept-language': 'fr' }, false],
    ['all of them match', [['accept-encoding', 'gzip'], ['accept-language', 'en']], { 'accept-encoding': 'gzip', 'accept-language': 'en' }, true],
  ])('%s', (_name, vary, headers, expected) => {
    expect(varyMatches(entry({}, { vary }), request(headers))).toBe(expected)
  })
})

describe('reuse', () => {
  const ETAG = { etag: '"v1"' }
  const AUTH = { authorization: 'Bearer t' }
  it.each<[string, Partial<CachePolicy>, Record<string, string>, number, string]>([
    ['fresh', {}, {}, T + 30 * S, 'fresh'],
    ['fresh until the last ms', {}, {}, T + 60 * S - 1, 'fresh'],
    ['stale at the lifetime, no validator', {}, {}, T + 60 * S, 'miss'],
    ['stale at the lifetime, ETag', ETAG, {}, T + 60 * S, 'revalidate'],
    ['stale, Last-Modified only', { lastModified: httpDate(T - H) }, {}, T + 61 * S, 'revalidate'],
    ['lifetime 0 with a validator', { lifetimeMs: 0, ...ETAG }, {}, T, 'revalidate'],
    ['the initial age counts', { initialAgeMs: 50 * S, ...ETAG }, {}, T + 10 * S - 1, 'fresh'],
    ['the initial age counts: stale', { initialAgeMs: 50 * S, ...ETAG }, {}, T + 10 * S, 'revalidate'],
    ['a clock that went back does not make it stale', {}, {}, T - 10 * S, 'fresh'],
    // Response no-cache.
    ['response no-cache, fresh: revalidate', { noCache: true, ...ETAG }, {}, T + S, 'revalidate'],
    ['response no-cache, no validator', { noCache: true }, {}, T + S, 'miss'],
    ['response no-cache in the swr window: revalidate', { noCache: true, staleWhileRevalidateMs: 60 * S, ...ETAG }, {}, T + 70 * S, 'revalidate'],
    // Request directives.
    ['request no-cache, fresh: revalidate', ETAG, { 'cache-control': 'no-cache' }, T + S, 'revalidate'],
    ['request no-cache, no validator', {}, { 'cache-control': 'no-cache' }, T + S, 'miss'],
    ['request max-age=10, age 10 s', ETAG, { 'cache-control': 'max-age=10' }, T + 10 * S, 'fresh'],
    ['request max-age=10, older', ETAG, { 'cache-control': 'max-age=10' }, T + 10 * S + 1, 'revalidate'],
    ['request max-age=0, age 0', ETAG, { 'cache-control': 'max-age=0' }, T, 'fresh'],
    ['request max-age=0, older', ETAG, { 'cache-control': 'max-age=0' }, T + 1, 'revalidate'],
    ['request min-fresh=30, 30 s left', ETAG, { 'cache-control': 'min-fresh=30' }, T + 30 * S, 'fresh'],
    ['request min-fresh=30, less left', ETAG, { 'cache-control': 'min-fresh=30' }, T + 30 * S + 1, 'revalidate'],
    ['request min-fresh, no validator', {}, { 'cache-control': 'min-fresh=30' }, T + 31 * S, 'miss'],
    // max-stale.
    ['max-stale without value: any staleness', {}, { 'cache-control': 'max-stale' }, T + 24 * H, 'stale'],
    ['max-stale=10, 10 s stale', ETAG, { 'cache-control': 'max-stale=10' }, T + 70 * S, 'stale'],
    ['max-stale=10, more', ETAG, { 'cache-control': 'max-stale=10' }, T + 70 * S + 1, 'revalidate'],
    ['max-stale on a fresh response: fresh', {}, { 'cache-control': 'max-stale' }, T + S, 'fresh'],
    ['must-revalidate forbids max-stale', { mustRevalidate: true, ...ETAG }, { 'cache-control': 'max-stale' }, T + 61 * S, 'revalidate'],
    ['must-revalidate forbids max-stale, no validator', { mustRevalidate: true }, { 'cache-control': 'max-stale' }, T + 61 * S, 'miss'],
    ['max-stale with a request max-age it exceeds', ETAG, { 'cache-control': 'max-stale, max-age=30' }, T + 70 * S, 'revalidate'],
    // stale-while-revalidate.
    ['swr: just stale', { staleWhileRevalidateMs: 30 * S, ...ETAG }, {}, T + 60 * S, 'stale-while-revalidate'],
    ['swr: last ms of the window', { staleWhileRevalidateMs: 30 * S, ...ETAG }, {}, T + 90 * S, 'stale-while-revalidate'],
    ['swr: past the window', { staleWhileRevalidateMs: 30 * S, ...ETAG }, {}, T + 90 * S + 1, 'revalidate'],
    ['swr without validator: in the window', { staleWhileRevalidateMs: 30 * S }, {}, T + 70 * S, 'stale-while-revalidate'],
    ['swr without validator: past the window', { staleWhileRevalidateMs: 30 * S }, {}, T + 90 * S + 1, 'miss'],
    ['swr while fresh: fresh', { staleWhileRevalidateMs: 30 * S }, {}, T + 59 * S, 'fresh'],
    ['must-revalidate forbids swr', { staleWhileRevalidateMs: 30 * S, mustRevalidate: true, ...ETAG }, {}, T + 70 * S, 'revalidate'],
    ['request no-cache overrides swr', { staleWhileRevalidateMs: 30 * S, ...ETAG }, { 'cache-control': 'no-cache' }, T + 70 * S, 'revalidate'],
    ['request max-age overrides swr', { staleWhileRevalidateMs: 30 * S, ...ETAG }, { 'cache-control': 'max-age=30' }, T + 70 * S, 'revalidate'],
    ['swr window before max-stale', { staleWhileRevalidateMs: 30 * S }, { 'cache-control': 'max-stale=60' }, T + 80 * S, 'stale-while-revalidate'],
    ['max-stale past the swr window', { staleWhileRevalidateMs: 30 * S }, { 'cache-control': 'max-stale=60' }, T + 100 * S, 'stale'],
    // Authorization.
    ['Authorization, not shared: miss even when fresh', ETAG, AUTH, T + S, 'miss'],
    ['Authorization, shared', { sharedWithAuthorization: true }, AUTH, T + S, 'fresh'],
    ['Authorization, shared, stale', { sharedWithAuthorization: true, ...ETAG }, AUTH, T + 61 * S, 'revalidate'],
  ])('%s', (_name, policy, headers, now, expected) => {
    expect(reuse(entry(policy), request(headers), now)).toBe(expected)
  })
})

describe('conditionalHeaders', () => {
  const LM = 'Tue, 14 Jan 2025 12:00:00 GMT'
  it.each<[string, Partial<CachePolicy>, [string, string][]]>([
    ['ETag', { etag: '"v1"' }, [['If-None-Match', '"v1"']]],
    ['Last-Modified only', { lastModified: LM }, [['If-Modified-Since', LM]]],
    ['both', { etag: 'W/"v1"', lastModified: LM }, [['If-None-Match', 'W/"v1"'], ['If-Modified-Since', LM]]],
    ['none', {}, []],
  ])('%s', (_name, policy, expected) => {
    expect(conditionalHeaders(entry(policy))).toEqual(expected)
  })
})

describe('refreshed (a 304)', () => {
  const STORED_RAW = [
    'Date', httpDate(T), 'Cache-Control', 'max-age=60', 'ETag', '"v1"', 'Content-Type', 'text/plain',
    'Content-Length', '5', 'X-Multi', 'a', 'X-Multi', 'b',
  ]
  const stored = (raw = STORED_RAW): CachedResponse => {
    const s = toStore(request(), 200, headerMap(raw), raw, T, T)
    if (s === null) throw new Error('not stored')
    return { ...s, body: Buffer.from('hello') }
  }
  const AT = T + 120 * S // the 304 arrives two minutes later: the stored response is stale
  const refresh = (raw304: string[], o: { base?: CachedResponse; req?: Record<string, string>; requestTime?: number } = {}) =>
    refreshed(o.base ?? stored(), request(o.req), headerMap(raw304), raw304, o.requestTime ?? AT, AT)
  const fields = (flat: readonly string[], name: string): string[] => {
    const out: string[] = []
    for (let i = 0; i + 1 < flat.length; i += 2) if ((flat[i] as string).toLowerCase() === name) out.push(flat[i + 1] as string)
    return out
  }

  it('the stored response was stale before the 304', () => {
    expect(reuse(stored(), request(), AT)).toBe('revalidate')
  })

  it('a 304 repeating Cache-Control: fresh again from its time, same status and body', () => {
    const r = refresh(['Date', httpDate(AT), 'Cache-Control', 'max-age=60', 'ETag', '"v1"'])
    expect(r).toMatchObject({
      status: 200, requestTime: AT, responseTime: AT,
      policy: { lifetimeMs: 60 * S, initialAgeMs: 0, etag: '"v1"' },
      deleteAt: AT + 60 * S + H,
    })
    expect(r?.body.toString()).toBe('hello')
    expect(reuse(r as CachedResponse, request(), AT + 59 * S)).toBe('fresh')
    expect(reuse(r as CachedResponse, request(), AT + 60 * S)).toBe('revalidate')
  })

  it('a 304 without Cache-Control: the stored max-age counts from the 304\'s time', () => {
    const r = refresh(['Date', httpDate(AT), 'ETag', '"v1"']) as CachedResponse
    expect(r.policy.lifetimeMs).toBe(60 * S)
    expect(reuse(r, request(), AT + 59 * S)).toBe('fresh')
    expect(fields(r.headers, 'date')).toEqual([httpDate(AT)])
    expect(fields(r.headers, 'cache-control')).toEqual(['max-age=60'])
  })

  it('a 304 without Date is dated by its arrival (the old Date would make it stale at once)', () => {
    const r = refresh(['ETag', '"v1"']) as CachedResponse
    expect(r.policy.initialAgeMs).toBe(0)
    expect(reuse(r, request(), AT + 59 * S)).toBe('fresh')
    expect(fields(r.headers, 'date')).toEqual([httpDate(AT)])
  })

  it('a 304 with a new max-age replaces the stored Cache-Control', () => {
    const r = refresh(['Date', httpDate(AT), 'Cache-Control', 'max-age=300']) as CachedResponse
    expect(r.policy.lifetimeMs).toBe(300 * S)
    expect(fields(r.headers, 'cache-control')).toEqual(['max-age=300'])
  })

  it.each<[string, string[]]>([
    ['no-store', ['Date', httpDate(AT), 'Cache-Control', 'no-store']],
    ['private', ['Date', httpDate(AT), 'Cache-Control', 'private, max-age=60']],
    ['Set-Cookie', ['Date', httpDate(AT), 'Set-Cookie', 'a=1']],
    ['Vary: *', ['Date', httpDate(AT), 'Vary', '*']],
  ])('a 304 with %s: no longer storable', (_name, raw304) => {
    expect(refresh(raw304)).toBeNull()
  })

  it('each name in the 304 replaces every stored field of that name; the others stay, in order', () => {
    const r = refresh(['Date', httpDate(AT), 'X-Multi', 'c', 'X-New', 'n']) as CachedResponse
    expect(r.headers).toEqual([
      'Cache-Control', 'max-age=60', 'ETag', '"v1"', 'Content-Type', 'text/plain', 'Content-Length', '5',
      'Date', httpDate(AT), 'X-Multi', 'c', 'X-New', 'n',
    ])
  })

  it('Content-Length, Content-Encoding, Content-Range, Transfer-Encoding, hop-by-hop, Age and X-Cache are not taken from the 304', () => {
    const r = refresh([
      'Date', httpDate(AT), 'Content-Length', '0', 'Content-Encoding', 'gzip', 'Content-Range', 'bytes 0-0/5',
      'Transfer-Encoding', 'chunked', 'Connection', 'keep-alive, X-Hop', 'X-Hop', '1', 'Keep-Alive', 'timeout=5',
      'Age', '2', 'X-Cache', 'HIT',
    ]) as CachedResponse
    const names = r.headers.filter((_v, i) => i % 2 === 0).map((n) => n.toLowerCase())
    expect(fields(r.headers, 'content-length')).toEqual(['5'])
    for (const gone of ['content-encoding', 'content-range', 'transfer-encoding', 'connection', 'x-hop', 'keep-alive', 'age', 'x-cache']) {
      expect(names).not.toContain(gone)
    }
  })

  it('a header the 304\'s Connection names is hop-by-hop: the stored fields of that name stay', () => {
    const r = refresh(['Date', httpDate(AT), 'Connection', 'X-Multi', 'X-Multi', 'z']) as CachedResponse
    expect(fields(r.headers, 'x-multi')).toEqual(['a', 'b'])
  })

  it('a new ETag in the 304 becomes the validator', () => {
    const r = refresh(['Date', httpDate(AT), 'ETag', '"v2"']) as CachedResponse
    expect(r.policy.etag).toBe('"v2"')
    expect(conditionalHeaders(r)).toEqual([['If-None-Match', '"v2"']])
  })

  it('the 304\'s Age and round trip make the new initial age', () => {
    const r = refresh(['Date', httpDate(AT), 'Age', '10'], { requestTime: AT - 2 * S }) as CachedResponse
    expect(r.policy.initialAgeMs).toBe(12 * S)
    expect(r.requestTime).toBe(AT - 2 * S)
    expect(reuse(r, request(), AT + 48 * S - 1)).toBe('fresh')
    expect(reuse(r, request(), AT + 48 * S)).toBe('revalidate')
  })

  it('an Expires is absolute: a later 304 leaves less of it', () => {
    const base = stored(['Date', httpDate(T), 'Expires', httpDate(T + 300 * S), 'ETag', '"v1"'])
    expect(refresh(['Date', httpDate(AT)], { base })?.policy.lifetimeMs).toBe(180 * S)
  })

  it('a Last-Modified-only response: the heuristic is recomputed from the 304\'s Date', () => {
    const base = stored(['Date', httpDate(T), 'Last-Modified', httpDate(T - 10 * H)])
    expect(base.policy.lifetimeMs).toBe(H)
    expect(conditionalHeaders(base)).toEqual([['If-Modified-Since', httpDate(T - 10 * H)]])
    expect(refresh(['Date', httpDate(T + 10 * H)], { base })?.policy.lifetimeMs).toBe(2 * H)
  })

  it('a Vary added by the 304 takes the revalidating request\'s values', () => {
    const r = refresh(['Date', httpDate(AT), 'Vary', 'Accept-Encoding'], { req: { 'accept-encoding': 'br' } }) as CachedResponse
    expect(r.vary).toEqual([['accept-encoding', 'br']])
  })
})

describe('staleIfError', () => {
  const AUTH = { authorization: 'Bearer t' }
  it.each<[string, Partial<CachePolicy>, Record<string, string>, number, boolean]>([
    ['response stale-if-error: at the window\'s end', { staleIfErrorMs: 60 * S }, {}, T + 120 * S, true],
    ['response stale-if-error: past it', { staleIfErrorMs: 60 * S }, {}, T + 120 * S + 1, false],
    ['response stale-if-error: still fresh', { staleIfErrorMs: 60 * S }, {}, T + 30 * S, true],
    ['request stale-if-error: at the window\'s end', {}, { 'cache-control': 'stale-if-error=60' }, T + 120 * S, true],
    ['request stale-if-error: past it', {}, { 'cache-control': 'stale-if-error=60' }, T + 120 * S + 1, false],
    ['the larger of the two windows', { staleIfErrorMs: 10 * S }, { 'cache-control': 'stale-if-error=60' }, T + 100 * S, true],
    ['neither', {}, {}, T + 61 * S, false],
    ['neither, even while fresh', {}, {}, T + 30 * S, false],
    ['must-revalidate forbids the response\'s', { staleIfErrorMs: 60 * S, mustRevalidate: true }, {}, T + 70 * S, false],
    ['must-revalidate forbids the request\'s', { mustRevalidate: true }, { 'cache-control': 'stale-if-error=60' }, T + 70 * S, false],
    ['response no-cache forbids it', { staleIfErrorMs: 60 * S, noCache: true }, {}, T + 70 * S, false],
    ['Authorization, not shared', { staleIfErrorMs: 60 * S }, AUTH, T + 70 * S, false],
    ['Authorization, shared', { staleIfErrorMs: 60 * S, sharedWithAuthorization: true }, AUTH, T + 70 * S, true],
  ])('%s', (_name, policy, headers, now, expected) => {
    expect(staleIfError(entry(policy), request(headers), now)).toBe(expected)
  })
})

describe('cacheOrigin', () => {
  it.each([
    [undefined, 'http://'],
    ['example.com', 'http://example.com'],
    ['Example.COM', 'http://example.com'],
    ['example.com:80', 'http://example.com'],
    ['example.com:8080', 'http://example.com:8080'],
    ['[::1]:80', 'http://[::1]'],
    ['[::1]:8080', 'http://[::1]:8080'],
    ['127.0.0.1', 'http://127.0.0.1'],
    ['a:800', 'http://a:800'],
  ] as const)('%s -> %s', (host, origin) => {
    expect(cacheOrigin(host)).toBe(origin)
  })
})
