// Static files, the pure part: which file a request target names under a route's root,
// which precompressed sibling the client accepts, and where a directory redirects to.
//
// Mapping (like nginx `alias`): the route's path_prefix is cut from the path and the rest
// is looked up under the root, so with path_prefix /static, "/static/css/a.css" is
// <root>/css/a.css. Each segment is percent-decoded on its own, after splitting on "/",
// and refused when decoding makes it unsafe: the caller never sees "..", ".", "/", "\",
// NUL or another control character inside a segment. Symlinks are the shell's part (it
// resolves the real path and checks it is inside the root's real path).

/** The file (or directory) a request names, as path segments under the root. */
export interface StaticTarget {
  /** Decoded, each one safe to join under the root. Empty = the root itself. */
  readonly segments: readonly string[]
  /**
   * The path ends with "/": it names a directory. The prefix alone ("/static") does not:
   * it is redirected to "/static/" like any directory named without its slash.
   */
  readonly directory: boolean
}

/** 400: the path is malformed or tries to leave the root. 404: a dotfile (never served, but for /.well-known/). */
export type StaticRefusal = { readonly status: 400 | 404 }

const SLASH = 0x2f

/**
 * `url` is the raw request target (origin-form, starting with "/"); `prefix` the route's
 * path_prefix as the router matched it (no trailing slash, or "/").
 */
export function staticTarget(url: string, prefix: string): StaticTarget | StaticRefusal {
  let end = url.indexOf('?')
  if (end === -1) end = url.length
  // "/" matches every path: nothing to cut. Otherwise the router guarantees that the path
  // starts with the prefix and continues with "/" or ends there.
  const rest = url.slice(prefix.length === 1 ? 0 : prefix.length, end)
  const raw = rest.split('/')
  const segments: string[] = []
  for (const part of raw) {
    // Empty segments ("//", the leading and trailing "/") are skipped, as nginx merges slashes.
    if (part === '') continue
    // A raw backslash is a path separator to some systems and tools: never a file name here.
    if (part.includes('\\')) return BAD
    let name: string
    try {
      name = part.includes('%') ? decodeURIComponent(part) : part
    } catch {
      return BAD // malformed percent-encoding or invalid UTF-8
    }
    if (name === '.' || name === '..' || UNSAFE.test(name)) return BAD
    // Dotfiles (.git, .env, .htpasswd) are never served: hidden files are not meant for the web.
    // Except /.well-known/ at the top of the root (RFC 8615: ACME challenges, security.txt).
    if (name.charCodeAt(0) === 0x2e && !(segments.length === 0 && name === WELL_KNOWN)) return NOT_FOUND
    segments.push(name)
  }
  return { segments, directory: rest.charCodeAt(rest.length - 1) === SLASH }
}

// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const UNSAFE = /[/\\\u0000-\u001f\u007f]/
const WELL_KNOWN = '.well-known'
const BAD: StaticRefusal = Object.freeze({ status: 400 })
const NOT_FOUND: StaticRefusal = Object.freeze({ status: 404 })

/**
 * The Location of a redirect from a directory path without its trailing slash to the
 * one with it ("/static/docs?x" -> "/static/docs/?x"), so that relative links in its
 * index file resolve. Leading slashes are collapsed: "//evil.example/" would be a
 * protocol-relative URL pointing at another site.
 */
export function directoryLocation(url: string): string {
  let end = url.indexOf('?')
  if (end === -1) end = url.length
  let start = 0
  while (start + 1 < end && url.charCodeAt(start + 1) === SLASH) start++
  return `${url.slice(start, end)}/${url.slice(end)}`
}

/** Precompressed variants, as served: the sibling's extension and the Content-Encoding. */
export type Encoding = 'br' | 'gzip'
export const SIBLING_EXTENSION: Readonly<Record<Encoding, string>> = { br: '.br', gzip: '.gz' }

const NONE: readonly Encoding[] = Object.freeze([])
const BR: readonly Encoding[] = Object.freeze(['br'])
const GZIP: readonly Encoding[] = Object.freeze(['gzip'])
const BR_GZIP: readonly Encoding[] = Object.freeze(['br', 'gzip'])
const GZIP_BR: readonly Encoding[] = Object.freeze(['gzip', 'br'])

/**
 * The precompressed encodings an Accept-Encoding value accepts (q > 0), most preferred
 * first; on equal q, br (smaller) before gzip. `*` covers the ones not named; `x-gzip`
 * is gzip (RFC 9110 8.4.1.3). Absent header, or a malformed q: that coding is not
 * accepted (the identity file is always a safe answer).
 */
export function acceptedEncodings(header: string | undefined): readonly Encoding[] {
  if (header === undefined || header === '') return NONE
  let br = -1 // -1 = not named
  let gzip = -1
  let any = -1
  for (const item of header.split(',')) {
    const semi = item.indexOf(';')
    const coding = (semi === -1 ? item : item.slice(0, semi)).trim().toLowerCase()
    if (coding !== 'br' && coding !== 'gzip' && coding !== 'x-gzip' && coding !== '*') continue
    const q = semi === -1 ? 1 : qValue(item.slice(semi + 1))
    if (coding === 'br') br = Math.max(br, q)
    else if (coding === '*') any = Math.max(any, q)
    else gzip = Math.max(gzip, q)
  }
  if (br === -1) br = any
  if (gzip === -1) gzip = any
  if (br <= 0 && gzip <= 0) return NONE
  if (gzip <= 0) return BR
  if (br <= 0) return GZIP
  return br >= gzip ? BR_GZIP : GZIP_BR
}

/** The weight of ";q=0.8" (parameters after the coding); 0 when malformed (RFC 9110 12.4.2: 0 to 1, three decimals). */
function qValue(params: string): number {
  for (const p of params.split(';')) {
    const eq = p.indexOf('=')
    if (eq === -1 || p.slice(0, eq).trim().toLowerCase() !== 'q') continue
    const v = p.slice(eq + 1).trim()
    return /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(v) ? Number(v) : 0
  }
  return 1
}

/** Request methods a static route answers; anything else gets 405 with this Allow. */
export const STATIC_ALLOW = 'GET, HEAD'

export function staticMethodAllowed(method: string): boolean {
  return method === 'GET' || method === 'HEAD'
}

// Validators of a file answered from memory (shell/runtime/file-cache.ts), the same bytes
// `send` writes for a streamed one, so a client sees one ETag whichever path answered.

/** send's (the `etag` package's) weak ETag of a file: size and mtime in hex; `mtimeMs` as stat.mtime.getTime() gives it (rounded, unlike stat.mtimeMs). */
export function fileEtag(size: number, mtimeMs: number): string {
  return `W/"${size.toString(16)}-${Math.trunc(mtimeMs).toString(16)}"`
}

/**
 * Whether a GET/HEAD with these request headers gets 304 for a file with `etag` and
 * Last-Modified `lastModified` (an HTTP date), as the `fresh` package decides it for send:
 * no validator -> false; a request `Cache-Control: no-cache` -> false; If-None-Match wins
 * over If-Modified-Since (`*`, or a listed tag equal under weak comparison); else the file
 * is not modified when Last-Modified <= If-Modified-Since (whole seconds, as sent).
 */
export function notModified(ifNoneMatch: string | undefined, ifModifiedSince: string | undefined, cacheControl: string | undefined, etag: string, lastModified: string): boolean {
  if (!ifNoneMatch && !ifModifiedSince) return false
  if (cacheControl !== undefined && NO_CACHE.test(cacheControl)) return false
  if (ifNoneMatch) {
    if (ifNoneMatch.trim() === '*') return true
    const bare = etag.startsWith('W/') ? etag.slice(2) : etag
    for (const part of ifNoneMatch.split(',')) {
      const tag = part.trim()
      if (tag === etag || tag === bare || tag === `W/${bare}`) return true
    }
    return false
  }
  const since = Date.parse(ifModifiedSince as string)
  const modified = Date.parse(lastModified)
  return !Number.isNaN(since) && !Number.isNaN(modified) && modified <= since
}

const NO_CACHE = /(?:^|,)\s*?no-cache\s*?(?:,|$)/
