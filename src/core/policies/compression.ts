// Compression of responses on the way out (contract section 8, docs/policies.md#compression):
// the pure decisions. Which encoding a client gets (its Accept-Encoding q-values against the
// route's algorithms, whose order is the server's preference on ties), whether a response may
// be compressed at all, and the header edits that go with it. The shell (request/compressor.ts)
// runs the zlib stream; this file reads strings and returns plain data.
//
// Choices a reader must know:
// - Accept-Encoding is read for at most ACCEPT_ENCODING_MAX_BYTES and ACCEPT_ENCODING_MAX_ENTRIES:
//   a 64 KiB header or one with 1,000 entries costs what a plain one does (the rest is ignored;
//   real browsers send under 40 bytes). Nothing is allocated per entry but a lower-cased token.
// - `identity;q=0` forbids the uncompressed form, but a client that accepts none of the route's
//   algorithms still gets it (RFC 9110 12.5.3 allows that rather than a 406, as nginx does).
// - A response is compressed when it is of a listed type, at least min_size (a length not
//   given counts as large enough), not already encoded (any Content-Encoding but identity),
//   not `Cache-Control: no-transform`, not a 204, 206 (or any Content-Range) or 304, and not
//   text/event-stream (a stream of events must reach the client event by event) nor gRPC
//   (application/grpc*: its messages carry their own compression).
// - An eligible response gets `Vary: Accept-Encoding` whether or not this client accepts an
//   encoding, so a cache further on never gives the compressed form to a client that cannot
//   read it, nor keeps only the plain one for everybody (nginx's gzip_vary).
// - A compressed response loses Content-Length and Accept-Ranges (ranges of the compressed
//   bytes are not offered), gains Content-Encoding, and a strong ETag becomes weak: `"x"` ->
//   `W/"x"` (the bytes differ; the meaning is the same).

export type Encoding = 'zstd' | 'br' | 'gzip'

/** Every encoding switchyard can produce, in its default order of preference. */
export const ENCODINGS: readonly Encoding[] = ['zstd', 'br', 'gzip']

/** Bytes of Accept-Encoding read; the rest is ignored. */
export const ACCEPT_ENCODING_MAX_BYTES = 256
/** Entries of Accept-Encoding read; the rest are ignored. */
export const ACCEPT_ENCODING_MAX_ENTRIES = 16

/** Media types compressed when a route writes `compress: true` (nginx's usual gzip_types list, and more). */
export const DEFAULT_TYPES: readonly string[] = [
  'text/html', 'text/css', 'text/plain', 'text/xml', 'text/javascript', 'text/markdown', 'text/csv',
  'application/javascript', 'application/json', 'application/xml', 'application/ld+json',
  'application/problem+json', 'application/manifest+json', 'application/rss+xml', 'application/atom+xml',
  'application/xhtml+xml', 'application/wasm', 'image/svg+xml', 'image/x-icon', 'font/ttf', 'font/otf',
]

/** A route's compression decided at load: what compress.types and the rest compile to. */
export interface CompressionRules {
  /** The route's algorithms, most preferred first. */
  readonly algorithms: readonly Encoding[]
  readonly minSize: number
  /** Exact media types, lower case. */
  readonly exact: ReadonlySet<string>
  /** `text/` for `text/*`. */
  readonly prefixes: readonly string[]
}

export function compileCompression(input: { algorithms: readonly Encoding[]; minSize: number; types: readonly string[] }): CompressionRules {
  const exact = new Set<string>()
  const prefixes: string[] = []
  for (const t of input.types) {
    const type = t.toLowerCase()
    if (type.endsWith('/*')) prefixes.push(type.slice(0, -1))
    else exact.add(type)
  }
  return { algorithms: [...input.algorithms], minSize: input.minSize, exact, prefixes }
}

/** A media type as written in compress.types: `type/subtype` or `type/*`; undefined when fine. */
export function mediaTypeProblem(type: string): string | undefined {
  return /^[a-z0-9][a-z0-9!#$&^_.+-]*\/([a-z0-9][a-z0-9!#$&^_.+-]*|\*)$/i.test(type) ? undefined
    : `must be a media type such as "application/json" or "text/*" (got ${JSON.stringify(type)})`
}

// ---- Accept-Encoding ----

/**
 * The encoding this client gets among the route's algorithms, or null (identity). The highest
 * q wins; ties go to the earlier algorithm of the route. `*` gives its q to every algorithm the
 * header does not name; q=0 refuses. `x-gzip` counts as gzip. Bounded: see the header comment.
 */
export function negotiate(acceptEncoding: string | undefined, algorithms: readonly Encoding[]): Encoding | null {
  if (acceptEncoding === undefined || acceptEncoding === '') return null
  const value = acceptEncoding.length > ACCEPT_ENCODING_MAX_BYTES ? acceptEncoding.slice(0, ACCEPT_ENCODING_MAX_BYTES) : acceptEncoding
  // q per encoding in ENCODINGS order, and for *; -1: not named.
  let zstd = -1
  let br = -1
  let gzip = -1
  let star = -1
  let start = 0
  for (let n = 0; n < ACCEPT_ENCODING_MAX_ENTRIES && start < value.length; n++) {
    let end = value.indexOf(',', start)
    if (end < 0) end = value.length
    const semi = value.indexOf(';', start)
    const tokenEnd = semi >= 0 && semi < end ? semi : end
    const token = value.slice(start, tokenEnd).trim().toLowerCase()
    const q = tokenEnd === end ? 1 : qValue(value, tokenEnd + 1, end)
    start = end + 1
    if (q < 0) continue // a malformed q: the entry is ignored
    switch (token) {
      case 'zstd': zstd = Math.max(zstd, q); break
      case 'br': br = Math.max(br, q); break
      case 'gzip': case 'x-gzip': gzip = Math.max(gzip, q); break
      case '*': star = Math.max(star, q); break
    }
  }
  let best: Encoding | null = null
  let bestQ = 0
  for (const a of algorithms) {
    const named = a === 'zstd' ? zstd : a === 'br' ? br : gzip
    const q = named >= 0 ? named : star
    if (q > bestQ) {
      best = a
      bestQ = q
    }
  }
  return best
}

/** The q of the parameters in value[from, to): 1 without one, -1 when malformed (RFC 9110 12.4.2: 0 to 1, three decimals at most). */
function qValue(value: string, from: number, to: number): number {
  const params = value.slice(from, to)
  const m = /(?:^|;)\s*q\s*=\s*([0-9.]+)\s*(?:;|$)/i.exec(params)
  if (m === null) return /(?:^|;)\s*q\s*=/i.test(params) ? -1 : 1
  const raw = m[1] as string
  if (!/^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(raw)) return -1
  return Number(raw)
}

// ---- Which responses ----

type HeaderValue = string | readonly string[] | undefined

/** The response header fields the decision reads, by lower-case name (undici's parsed object, or cache-rules' headerMap). */
export type ResponseFields = Readonly<Record<string, HeaderValue>>

function first(v: HeaderValue): string | undefined {
  return typeof v === 'string' || v === undefined ? v : v[0]
}

function joined(v: HeaderValue): string | undefined {
  return typeof v === 'string' || v === undefined ? v : v.join(', ')
}

/** Whether the response may be compressed (for any client: the answer decides Vary too). HEAD is decided as GET. */
export function compressible(rules: CompressionRules, status: number, fields: ResponseFields): boolean {
  if (status < 200 || status === 204 || status === 206 || status === 304) return false
  if (fields['content-range'] !== undefined) return false
  const encoding = joined(fields['content-encoding'])
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity' && encoding.trim() !== '') return false
  const length = first(fields['content-length'])
  if (length !== undefined) {
    const n = Number(length)
    if (n === 0 || (Number.isFinite(n) && n < rules.minSize)) return false
  }
  const cacheControl = joined(fields['cache-control'])
  if (cacheControl !== undefined && /(?:^|[\s,])no-transform\s*(?:,|$)/i.test(cacheControl)) return false
  return typeMatches(rules, first(fields['content-type']))
}

/** The media type (before any parameter, lower case) is listed, exactly or by a `type/*`; never text/event-stream nor gRPC (it has its own). */
export function typeMatches(rules: CompressionRules, contentType: string | undefined): boolean {
  if (contentType === undefined) return false
  const semi = contentType.indexOf(';')
  const type = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase()
  if (type === 'text/event-stream' || type.startsWith('application/grpc')) return false
  if (rules.exact.has(type)) return true
  for (const p of rules.prefixes) if (type.startsWith(p) && type.length > p.length) return true
  return false
}

// ---- Header edits, in place on the flat [name, value, ...] head of core/headers.ts ----

/** Adds Accept-Encoding to the response's Vary (merged into an existing Vary; nothing when it lists it or `*`). */
export function addVary(head: string[]): void {
  let at = -1
  for (let i = 0; i + 1 < head.length; i += 2) {
    if ((head[i] as string).toLowerCase() !== 'vary') continue
    const value = head[i + 1] as string
    for (const name of value.split(',')) {
      const n = name.trim().toLowerCase()
      if (n === 'accept-encoding' || n === '*') return
    }
    if (at < 0) at = i + 1
  }
  if (at < 0) head.push('Vary', 'Accept-Encoding')
  else head[at] = (head[at] as string).trim() === '' ? 'Accept-Encoding' : `${head[at] as string}, Accept-Encoding`
}

/** `"x"` -> `W/"x"`; a weak one stays. */
export function weakETag(etag: string): string {
  return etag.startsWith('W/') ? etag : `W/${etag}`
}

/** The head of a compressed response: without Content-Length and Accept-Ranges, a weak ETag, Content-Encoding, Vary. */
export function compressedHead(head: string[], encoding: Encoding): void {
  let w = 0
  for (let r = 0; r + 1 < head.length; r += 2) {
    const name = head[r] as string
    const lower = name.toLowerCase()
    if (lower === 'content-length' || lower === 'accept-ranges' || lower === 'content-encoding') continue
    head[w++] = name
    head[w++] = lower === 'etag' ? weakETag(head[r + 1] as string) : head[r + 1] as string
  }
  head.length = w
  head.push('Content-Encoding', encoding)
  addVary(head)
}
