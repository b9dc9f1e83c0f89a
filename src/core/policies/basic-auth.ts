// basic_auth: the pure parts. The credentials of an `Authorization: Basic ...` header
// (RFC 7617: base64 of "user:password", the password may hold ":"), and the challenge of a
// 401. Verifying a password (bcrypt, {SHA}) is the shell's, with its short cache.

export interface Credentials {
  readonly user: string
  readonly password: string
}

/** null when the header is absent, not Basic, not base64 or has no ":". */
export function parseBasic(header: string | undefined, decodeBase64: (s: string) => string): Credentials | null {
  if (header === undefined || header.length < 7 || header.length > 4096) return null
  if (header.slice(0, 6).toLowerCase() !== 'basic ') return null
  const b64 = header.slice(6).trim()
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return null
  const decoded = decodeBase64(b64)
  const colon = decoded.indexOf(':')
  if (colon < 0) return null
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

/** WWW-Authenticate of a 401; the realm was checked at load (no " or \ or control characters). */
export function basicChallenge(realm: string): string {
  return `Basic realm="${realm}", charset="UTF-8"`
}
