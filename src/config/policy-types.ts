// The validated edge policies of a route (contract section 8, docs/policies.md): kept apart
// from types.ts so the policy keys read as one block. Durations in milliseconds, files read
// at load (error pages' bytes, the htpasswd users).
import type { HtpasswdUser } from '../core/policies/htpasswd.js'
import type { HeaderRulesInput } from '../core/policies/header-rules.js'
import type { Encoding } from '../core/policies/compression.js'

/** status -> the page's bytes (text/html), read at load. */
export type ErrorPagesConfig = ReadonlyMap<number, Buffer>

export interface RedirectConfig {
  readonly to: string // may hold {path} and {host}
  readonly status: 301 | 302 | 307 | 308 // default 302
}

export interface RateLimitConfig {
  readonly requests: number // integer >= 1
  readonly perMs: number // default 1s
  readonly burst: number // integer >= 0, default 0 (nginx limit_req's burst, nodelay)
  /** client_ip | header (name lower-cased) | route (one budget for the whole route). */
  readonly key: { readonly source: 'client_ip' | 'header' | 'route'; readonly name: string }
  readonly store: 'memory' | 'redis'
  readonly maxKeys: number // memory store: keys remembered per route (LRU); default 100000
  readonly redis: { readonly url: string; readonly keyPrefix: string; readonly timeoutMs: number } | null
}

export interface BasicAuthConfig {
  readonly realm: string
  readonly usersFile: string
  readonly users: ReadonlyMap<string, HtpasswdUser>
  /** Lines with {SHA} hashes (accepted; warned about at load). */
  readonly shaLines: readonly number[]
  readonly forward: boolean // pass Authorization on to the server; default false
}

export interface RoutePoliciesConfig {
  readonly redirect: RedirectConfig | null
  readonly allow: readonly string[] | null // CIDRs as written ("10.0.0.0/8", "::1"), null = absent
  readonly deny: readonly string[] | null
  readonly basicAuth: BasicAuthConfig | null
  readonly rateLimit: RateLimitConfig | null
  readonly maintenance: boolean
  readonly rewritePrefix: string | null
  readonly requestHeaders: HeaderRulesInput | null
  readonly responseHeaders: HeaderRulesInput | null
  /** The route's own pages (merged over the top-level ones by the runtime). */
  readonly errorPages: ErrorPagesConfig | null
  readonly interceptErrors: boolean
  /** `compress`: null when absent or false. */
  readonly compress: CompressConfig | null
}

export interface CompressConfig {
  /** Most preferred first (the tie-break between equal q-values). */
  readonly algorithms: readonly Encoding[]
  readonly minSize: number // bytes; a response with a smaller Content-Length is sent as is
  /** Media types, lower case; `text/*` covers every text type. */
  readonly types: readonly string[]
  readonly levels: Readonly<Record<Encoding, number>>
}

/** The statuses switchyard answers itself that may have a page. */
export const ERROR_PAGE_STATUSES = [401, 403, 404, 429, 502, 503, 504] as const
