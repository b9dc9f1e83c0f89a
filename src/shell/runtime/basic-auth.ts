// basic_auth's password check (the pure parts are core/policies/basic-auth.ts and
// htpasswd.ts). bcrypt costs ~50-100 ms of CPU per check at the usual cost 10 (bcryptjs, pure
// JS, run async in slices so the event loop keeps turning), so a verified header is
// remembered: the key is the SHA-256 of the whole Authorization value (the password is never
// kept), for VERIFIED_TTL_MS, at most VERIFIED_MAX entries (the oldest go first). The cache
// belongs to one compiled config: a reload (which re-reads the users file) starts it empty.
// Failures are never cached. An unknown user is checked against a dummy hash, so the answer
// takes as long as for a wrong password (no user enumeration by timing); {SHA} hashes are
// compared with timingSafeEqual.
import { createHash, timingSafeEqual } from 'node:crypto'
import bcrypt from 'bcryptjs'
import type { BasicAuthConfig } from '../../config/policy-types.js'
import { parseBasic } from '../../core/policies/basic-auth.js'

export const VERIFIED_TTL_MS = 60_000
export const VERIFIED_MAX = 1024
/** A bcrypt hash of a random string at cost 10: what an unknown user's password is checked against. */
const DUMMY = '$2b$10$Wv1yAxa1lCZle9UcdncBKuKkHBkvKafQaCQTCNg8bS3R.0a4pUiLm'

const decodeBase64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8')

export class BasicAuthVerifier {
  readonly #users: BasicAuthConfig['users']
  /** sha256(header) -> expiry (ms, Date.now clock), in insertion order. */
  readonly #verified = new Map<string, number>()

  constructor(config: BasicAuthConfig) {
    this.#users = config.users
  }

  /**
   * The user name when the header holds a known user's password (the access log's user), else
   * null. Sync when cached or {SHA}; async for bcrypt.
   */
  verify(header: string | undefined, now: number): string | null | Promise<string | null> {
    const credentials = parseBasic(header, decodeBase64)
    if (credentials === null || header === undefined) return null
    const name = credentials.user
    const digest = createHash('sha256').update(header).digest('base64')
    const expires = this.#verified.get(digest)
    if (expires !== undefined) {
      if (expires > now) return name
      this.#verified.delete(digest)
    }
    const user = this.#users.get(name)
    if (user?.kind === 'sha') {
      const want = Buffer.from(user.hash.slice(5), 'base64')
      const got = createHash('sha1').update(credentials.password, 'utf8').digest()
      return this.#remember(timingSafeEqual(want, got), name, digest, now)
    }
    return bcrypt.compare(credentials.password, user?.hash.replace(/^\$2y\$/, '$2b$') ?? DUMMY)
      .then((ok) => this.#remember(ok && user !== undefined, name, digest, now), () => null)
  }

  #remember(ok: boolean, name: string, digest: string, now: number): string | null {
    if (!ok) return null
    if (this.#verified.size >= VERIFIED_MAX) {
      const oldest = this.#verified.keys().next().value
      if (oldest !== undefined) this.#verified.delete(oldest)
    }
    this.#verified.set(digest, now + VERIFIED_TTL_MS)
    return name
  }
}
