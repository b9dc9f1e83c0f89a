// Request framing checks made before a request is forwarded: values another hop could read
// differently (request smuggling) are refused, and the declared body length is read once.
// Node's parser has already checked the syntax; these are the decisions on top of it.

/**
 * HTTP/1.1 or HTTP/1.0 only (a version-less "HTTP/0.9" line with headers after it is read
 * differently by other servers), and no Transfer-Encoding on HTTP/1.0, which does not have
 * it (RFC 9112 6.1: such framing is faulty). HTTP/2 frames its messages itself (nghttp2 has
 * refused connection-specific headers such as Transfer-Encoding already). `overH2`: the request
 * came in an h2 stream; an "HTTP/2.0" request line on an HTTP/1 connection is not HTTP/2.
 */
export function framingIsSafe(major: number, minor: number, transferEncoding: boolean, overH2 = false): boolean {
  if (major === 2) return overH2 && minor === 0 && !transferEncoding
  if (major !== 1) return false
  if (minor === 1) return true
  return minor === 0 && !transferEncoding
}

/** The request's Content-Length (Node's parser has checked it is digits), or -1 when absent. */
export function declaredLength(contentLength: string | undefined): number {
  return contentLength === undefined ? -1 : Number(contentLength)
}

const SLASH = 47

/** Origin-form targets only ("/path"); absolute-form and "*" are refused (400). */
export function isOriginForm(target: string): boolean {
  return target.charCodeAt(0) === SLASH
}
