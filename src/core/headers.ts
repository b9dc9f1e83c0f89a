// Header rules for forwarding (docs/proxying.md).
//
// Both directions work on flat [name, value, name, value, ...] arrays: Node's
// req.rawHeaders in, undici's dispatch `headers` out; undici's raw response headers in,
// res.writeHead(status, flat) out. One pass over the input, names keep their case,
// values go through byte for byte, order is kept.
//
// Speed: a header name is classified with one Map lookup on the name as received; the
// map holds the lower-case, Title-Case and UPPER-CASE spellings of the few names we act
// on. Only a name whose length equals one of those names and that missed the map is
// lower-cased and looked up again (odd casings like "x-Forwarded-for"); every other
// header costs one lookup and no allocation. No regular expressions.
//
// Hop-by-hop headers (RFC 9110 7.6.1), removed in both directions: Connection and every
// header it names, Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding,
// Upgrade, Proxy-Authenticate, Proxy-Authorization. Requests also lose Expect (Node has
// already answered "100 Continue" to the client, and undici refuses the header).
// WebSocket: Upgrade/Connection are still removed here; the shell asks undici for the
// upgrade (dispatch option `upgrade: 'websocket'`), which writes both itself.
//
// A Connection header can not make us remove Host or Content-Length (the request's
// target and framing stay intact whatever a client names); it may name X-Forwarded-For
// or X-Request-Id, which then drops the client's copies: we still send our own.

// What we do with a header name. Plain numbers (not an enum) so every tool that strips
// types (tsc, vitest, node) sees the same thing; compared with === in a switch.
const Kind = {
  Other: 0,
  HopByHop: 1,
  Connection: 2,
  TransferEncoding: 3,
  ContentLength: 4,
  Host: 5,
  ForwardedFor: 6,
  ForwardedProto: 7,
  ForwardedHost: 8,
  RequestId: 9,
  Expect: 10,
  // Forwarded as they are; read for the cache's hit path (no second scan of the headers).
  CacheControl: 11,
  Authorization: 12,
  RealIp: 13,
  Te: 14,
  // HTTP/2 pseudo-headers (Node's h2 compatibility API lists them in rawHeaders, first):
  // :authority is the request's Host (RFC 9113 8.3.1); the others are in req.method/req.url.
  Authority: 15,
  Pseudo: 16,
  // Forwarded as they are; read for the access log (its user_agent and referer fields).
  UserAgent: 17,
  Referer: 18,
} as const
type Kind = (typeof Kind)[keyof typeof Kind]

const LOWER_KINDS: readonly (readonly [string, Kind])[] = [
  ['connection', Kind.Connection],
  ['keep-alive', Kind.HopByHop],
  ['proxy-connection', Kind.HopByHop],
  ['te', Kind.Te],
  ['trailer', Kind.HopByHop],
  ['upgrade', Kind.HopByHop],
  ['proxy-authenticate', Kind.HopByHop],
  ['proxy-authorization', Kind.HopByHop],
  ['transfer-encoding', Kind.TransferEncoding],
  ['content-length', Kind.ContentLength],
  ['host', Kind.Host],
  ['x-forwarded-for', Kind.ForwardedFor],
  ['x-forwarded-proto', Kind.ForwardedProto],
  ['x-forwarded-host', Kind.ForwardedHost],
  ['x-request-id', Kind.RequestId],
  ['expect', Kind.Expect],
  ['cache-control', Kind.CacheControl],
  ['authorization', Kind.Authorization],
  ['x-real-ip', Kind.RealIp],
  ['user-agent', Kind.UserAgent],
  ['referer', Kind.Referer],
]

const KINDS = new Map<string, Kind>()
/** KIND_LENGTHS[n] === 1 when some name we act on has n characters. */
const KIND_LENGTHS = new Uint8Array(32)
for (const [lower, kind] of LOWER_KINDS) {
  KINDS.set(lower, kind)
  KINDS.set(lower.toUpperCase(), kind)
  KINDS.set(lower.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase()), kind)
  KIND_LENGTHS[lower.length] = 1
}
// h2 pseudo-headers arrive lower case (HPACK names are lower case).
KINDS.set(':authority', Kind.Authority)
for (const name of [':method', ':path', ':scheme', ':protocol', ':status']) KINDS.set(name, Kind.Pseudo)
// Common spellings that Title-Case does not produce.
KINDS.set('X-Request-ID', Kind.RequestId)
KINDS.set('TE', Kind.Te)
KINDS.set('X-Real-IP', Kind.RealIp)

function kindOf(name: string): Kind {
  const k = KINDS.get(name)
  if (k !== undefined) return k
  const n = name.length
  if (n >= KIND_LENGTHS.length || KIND_LENGTHS[n] === 0) return Kind.Other
  return KINDS.get(name.toLowerCase()) ?? Kind.Other
}

/** Connection values that name nothing beyond what is removed anyway (the usual case). */
const PLAIN_CONNECTION = new Set([
  'keep-alive', 'Keep-Alive', 'close', 'Close', 'upgrade', 'Upgrade',
  'keep-alive, Upgrade', 'Keep-Alive, Upgrade', 'Upgrade, Keep-Alive', 'upgrade, keep-alive',
])

/**
 * Adds the header names a Connection value nominates (lower-case) to `named`, created on
 * first need. Tokens for headers removed anyway, "close", and the protected Host and
 * Content-Length are skipped, so the set stays null for ordinary traffic.
 */
function addNamed(value: string, named: Set<string> | null): Set<string> | null {
  if (PLAIN_CONNECTION.has(value)) return named
  for (const part of value.split(',')) {
    const token = part.trim().toLowerCase()
    if (token === '' || token === 'close') continue
    const kind = KINDS.get(token)
    if (kind === Kind.HopByHop || kind === Kind.Te || kind === Kind.Connection || kind === Kind.TransferEncoding ||
      kind === Kind.Expect || kind === Kind.Host || kind === Kind.ContentLength) continue
    if (named === null) named = new Set()
    named.add(token)
  }
  return named
}

/** Removes the pairs whose (lower-cased) name is in `named`, in place. Rare path. */
function dropNamed(flat: string[], named: ReadonlySet<string>): void {
  let w = 0
  for (let r = 0; r < flat.length; r += 2) {
    const name = flat[r] as string
    if (named.has(name.toLowerCase())) continue
    flat[w++] = name
    flat[w++] = flat[r + 1] as string
  }
  flat.length = w
}

// X-Request-Id: kept when 1..128 characters from [A-Za-z0-9] and - . _ ~ : + / = @.
// That covers UUIDs, ULIDs, hex/base64/base64url ids, AWS-style "Root=1-abc" and
// "name@host" ids, and excludes everything that could break a log line, a header or a
// shell: spaces, control characters, quotes, commas, semicolons, backslashes, non-ASCII.
const MAX_REQUEST_ID = 128
const ID_CHARS = new Uint8Array(128)
for (let c = 0x30; c <= 0x39; c++) ID_CHARS[c] = 1
for (let c = 0x41; c <= 0x5a; c++) ID_CHARS[c] = 1
for (let c = 0x61; c <= 0x7a; c++) ID_CHARS[c] = 1
for (const ch of '-._~:+/=@') ID_CHARS[ch.charCodeAt(0)] = 1

export function isSaneRequestId(v: string): boolean {
  const n = v.length
  if (n === 0 || n > MAX_REQUEST_ID) return false
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i)
    if (c >= 128 || ID_CHARS[c] === 0) return false
  }
  return true
}

/**
 * What the access log reads of a request beyond its method, target and peer
 * (shell/observe/access-log.ts): values as the client sent them, unescaped and uncapped.
 */
export interface RequestLogFields {
  readonly requestId: string
  /** The client's Host header value as sent (the first one; h2: :authority), undefined when absent. */
  readonly host: string | undefined
  /** The first User-Agent and Referer values, undefined when absent. */
  readonly userAgent: string | undefined
  readonly referer: string | undefined
  /** The user a route's basic_auth let in, set by that step; '' otherwise (and before). */
  authUser: string
}

export interface UpstreamHeaders extends RequestLogFields {
  /** Flat [name, value, name, value, ...] for undici dispatch. */
  readonly headers: string[]
  /** Content-Length present and not 0, or Transfer-Encoding present. */
  readonly hasBody: boolean
  /** A Transfer-Encoding header is present (framing checks; read here so req.headers is never built). */
  readonly transferEncoding: boolean
  /** The request's (first) Cache-Control and whether it has Authorization: a cache hit needs no more. */
  readonly cacheControl: string | undefined
  readonly authorization: boolean
  /** The client sent `TE: trailers` (removed as hop-by-hop; an HTTP/2 upstream gets it back: gRPC asks for it). */
  readonly teTrailers: boolean
}

/**
 * The headers to send upstream for a client request.
 *
 * raw: req.rawHeaders. Everything not listed below is copied in order, original case.
 * - hop-by-hop headers, Expect and the headers Connection names: removed;
 * - Host: the first kept in place (a second one is removed: undici rejects two and
 *   RFC 9112 calls it an error; routing uses the first too);
 * - X-Forwarded-For: the client's values joined with ", " plus ", <clientAddress>",
 *   or just clientAddress (nginx's $proxy_add_x_forwarded_for: with trusted proxies the
 *   appended address is the client address they vouch for, not the peer);
 * - X-Real-IP: clientAddress, always (a client-sent one never reaches the server);
 * - X-Forwarded-Proto: proto, unless `trustedPeer` (the peer is a trusted proxy) and the
 *   request has one: then its first value is kept (the proxy saw the client's scheme);
 * - X-Forwarded-Host: the Host value (omitted without Host); client copies are replaced;
 * - X-Request-Id: the client's first one when sane, else newRequestId(); exactly one.
 * The added headers go last, in that order.
 */
export function upstreamRequestHeaders(
  raw: readonly string[],
  clientAddress: string,
  proto: string,
  newRequestId: () => string,
  trustedPeer = false,
): UpstreamHeaders {
  const out: string[] = []
  let host: string | undefined
  let userAgent: string | undefined
  let referer: string | undefined
  let xff: string | undefined
  let clientId: string | undefined
  let hasBody = false
  let transferEncoding = false
  let cacheControl: string | undefined
  let authorization = false
  let forwardedProto: string | undefined
  let teTrailers = false
  let named: Set<string> | null = null

  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string
    const value = raw[i + 1] as string
    switch (kindOf(name)) {
      case Kind.Other:
        out.push(name, value)
        break
      case Kind.ContentLength:
        // Number('') is 0, garbage is NaN (counted as a body: the safe side for retries).
        if (Number(value) !== 0) hasBody = true
        out.push(name, value)
        break
      case Kind.TransferEncoding:
        hasBody = true
        transferEncoding = true
        break
      case Kind.Connection:
        named = addNamed(value, named)
        break
      case Kind.CacheControl:
        cacheControl ??= value
        out.push(name, value)
        break
      case Kind.Authorization:
        authorization = true
        out.push(name, value)
        break
      case Kind.UserAgent:
        userAgent ??= value
        out.push(name, value)
        break
      case Kind.Referer:
        referer ??= value
        out.push(name, value)
        break
      case Kind.Host:
        if (host === undefined) {
          host = value
          out.push(name, value)
        }
        break
      case Kind.Authority:
        // Before any Host (pseudo-headers come first): the upstream request gets it as Host.
        if (host === undefined) {
          host = value
          out.push('Host', value)
        }
        break
      case Kind.ForwardedFor:
        xff = xff === undefined ? value : `${xff}, ${value}`
        break
      case Kind.RequestId:
        if (clientId === undefined) clientId = value
        break
      case Kind.ForwardedProto:
        if (trustedPeer) forwardedProto ??= value
        break
      case Kind.Te:
        if (value.toLowerCase().includes('trailers')) teTrailers = true
        break
      default:
        // HopByHop, Expect, X-Real-IP, X-Forwarded-Host, h2 pseudo-headers: dropped.
        break
    }
  }

  if (named !== null) {
    dropNamed(out, named)
    if (named.has('x-forwarded-for')) xff = undefined
    if (named.has('x-request-id')) clientId = undefined
    if (named.has('x-forwarded-proto')) forwardedProto = undefined
  }

  const requestId = clientId !== undefined && isSaneRequestId(clientId) ? clientId : newRequestId()
  out.push('X-Forwarded-For', xff === undefined || xff === '' ? clientAddress : `${xff}, ${clientAddress}`)
  out.push('X-Real-IP', clientAddress)
  out.push('X-Forwarded-Proto', forwardedProto === undefined || forwardedProto === '' ? proto : forwardedProto)
  if (host !== undefined) out.push('X-Forwarded-Host', host)
  out.push('X-Request-Id', requestId)
  return { headers: out, requestId, host, userAgent, referer, authUser: '', hasBody, transferEncoding, cacheControl, authorization, teTrailers }
}

/**
 * The headers to send to the client for a server response: raw is undici's raw header
 * list (Buffers, decoded as latin1 so every byte survives the round trip through
 * res.writeHead, which encodes header strings as latin1; strings are accepted too).
 * Hop-by-hop headers and those the response's Connection names are removed; any
 * X-Request-Id from the server is replaced by ["X-Request-Id", requestId], appended last.
 */
/**
 * A response's raw headers as undici gives them: a flat [name, value, ...] list over
 * HTTP/1.1, but an object (lower-case names, arrays for repeated fields) over HTTP/2.
 */
export type RawResponseHeaders = readonly Buffer[] | readonly string[] | Readonly<Record<string, string | string[] | undefined>>

/** An HTTP/2 response's header object as a flat list; a flat list as it is. */
export function flatHeaders(raw: RawResponseHeaders): readonly Buffer[] | readonly string[] {
  if (Array.isArray(raw)) return raw as readonly Buffer[] | readonly string[]
  const out: string[] = []
  for (const [name, value] of Object.entries(raw as Readonly<Record<string, string | string[] | undefined>>)) {
    if (value === undefined) continue
    if (typeof value === 'string') out.push(name, value)
    else for (const v of value) out.push(name, v)
  }
  return out
}

export function clientResponseHeaders(rawHeaders: RawResponseHeaders, requestId: string): string[] {
  const raw = flatHeaders(rawHeaders)
  const out: string[] = []
  let named: Set<string> | null = null
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const n = raw[i] as Buffer | string
    const v = raw[i + 1] as Buffer | string
    const name = typeof n === 'string' ? n : n.toString('latin1')
    switch (kindOf(name)) {
      case Kind.Connection:
        named = addNamed(typeof v === 'string' ? v : v.toString('latin1'), named)
        break
      case Kind.HopByHop:
      case Kind.Te:
      case Kind.TransferEncoding:
      case Kind.RequestId:
      case Kind.Authority:
      case Kind.Pseudo:
        break
      default:
        // Expect and X-Forwarded-* mean nothing special in a response: kept.
        out.push(name, typeof v === 'string' ? v : v.toString('latin1'))
        break
    }
  }
  if (named !== null) dropNamed(out, named)
  out.push('X-Request-Id', requestId)
  return out
}
