// A route with edge policies (contract section 8, docs/policies.md): the router's target for
// it, built once per config load. It holds the route's chain, in the contract's order:
// redirect, allow/deny, basic auth, rate limit, maintenance, rewrite, request header rules;
// then its inner target (a ProxyRoute, CachedRoute or StaticSite) serves the
// request. Each step is a pure decision of core/policies/ with what it needs bound at load
// (BlockLists, the GCRA parameters and store, the users); it answers null (go on), a Denial
// (answered here), or a Promise of either (the Redis store, a bcrypt check). On the way out,
// `outbound` applies response header rules, intercept_errors and compression (last,
// runtime/route-compression.ts). A route without policies is not wrapped: the request path
// pays one instanceof.
import type { IncomingMessage } from 'node:http'
import type { RouteConfig } from '../../config/types.js'
import type { ErrorPagesConfig, RoutePoliciesConfig } from '../../config/policy-types.js'
import { blockListOf } from '../../config/policies.js'
import type { UpstreamHeaders } from '../../core/headers.js'
import { accessAllowed, type AccessLists } from '../../core/policies/access.js'
import { basicChallenge } from '../../core/policies/basic-auth.js'
import { gcraParams, wholeSeconds } from '../../core/policies/gcra.js'
import { applyHeaderRules, compileHeaderRules, type HeaderRules } from '../../core/policies/header-rules.js'
import { rateLimitPolicy, rateLimitState } from '../../core/policies/ratelimit-headers.js'
import { compileRedirect, redirectLocation, type RedirectTemplate } from '../../core/policies/redirect.js'
import { compileRewrite, rewritePath, type Rewrite } from '../../core/policies/rewrite.js'
import type { Logger } from '../observe/log.js'
import type { Metrics } from '../observe/metrics.js'
import { BasicAuthVerifier } from './basic-auth.js'
import { clientAddress } from './client-address.js'
import { MemoryRateLimitStore, RedisRateLimitStore, type RateLimitStore } from './rate-limit-store.js'
import { ProxyRoute } from './proxy-route.js'
import { RouteCompression } from './route-compression.js'
import type { CachedRoute } from './cached-route.js'
import type { StaticSite } from './static-site.js'

/** What a PolicyRoute leads to (context.ts's RouteTarget without PolicyRoute; not imported from there: no cycle). */
export type InnerTarget = ProxyRoute | CachedRoute | StaticSite

export type DenialPolicy = 'rate_limit' | 'access' | 'auth' | 'maintenance'
export const DENIAL_POLICIES: readonly DenialPolicy[] = ['rate_limit', 'access', 'auth', 'maintenance']

/** An answer given by a step instead of the route's target. */
export interface Denial {
  readonly status: number
  /** The switchyard_policy_denials_total label; null for a redirect (not a denial). */
  readonly policy: DenialPolicy | null
  /** Extra response headers (Location, WWW-Authenticate, Retry-After, RateLimit...). */
  readonly headers: readonly string[]
}

export type StepResult = Denial | null | Promise<Denial | null>

export interface PolicyStep {
  run(req: IncomingMessage, headers: UpstreamHeaders, now: number): StepResult
}

/** What the way out does for this route (response header rules, intercept_errors). */
export interface Outbound {
  readonly responseRules: HeaderRules | null
  /** intercept_errors: an app's 5xx with a page here is replaced by the page. */
  readonly interceptPages: ErrorPagesConfig | null
  /** `compress`: last on the way out (request/compressor.ts). */
  readonly compression: RouteCompression | null
}

export class PolicyRoute {
  /** null on a redirect route (its first step always answers). */
  readonly target: InnerTarget | null
  /** The route's name: the `route` label of its metrics. */
  readonly label: string
  /** The access log's `,"route":..` of what this route answers itself. */
  readonly accessRoute: Buffer
  readonly steps: readonly PolicyStep[]
  /** The route's pages over the top-level ones; null when neither has any. */
  readonly errorPages: ErrorPagesConfig | null
  readonly outbound: Outbound | null
  readonly #denials: Record<DenialPolicy, { inc(): void }>
  readonly #stores: RateLimitStore[] = []

  constructor(route: RouteConfig, label: string, target: InnerTarget | null, topPages: ErrorPagesConfig | null, metrics: Metrics, log: Logger) {
    const p = route.policies as RoutePoliciesConfig | undefined
    this.target = target
    this.label = label
    this.accessRoute = ProxyRoute.accessRoute(label)
    const pages = p?.errorPages ?? null
    this.errorPages = pages === null ? topPages : topPages === null ? pages : new Map([...topPages, ...pages])
    const counter = (policy: DenialPolicy): { inc(): void } => {
      const child = metrics.policyDenials.labels(label, policy)
      child.inc(0)
      return child
    }
    const steps: PolicyStep[] = []
    const noCount = { inc() {} }
    const denials: Record<DenialPolicy, { inc(): void }> = { rate_limit: noCount, access: noCount, auth: noCount, maintenance: noCount }
    if (p?.redirect) steps.push(new RedirectStep(compileRedirect(p.redirect.to) as RedirectTemplate, p.redirect.status))
    if (p && (p.allow !== null || p.deny !== null)) {
      steps.push(new AccessStep({ allow: p.allow === null ? null : blockListOf(p.allow), deny: p.deny === null ? null : blockListOf(p.deny) }))
      denials.access = counter('access')
    }
    if (p?.basicAuth) {
      steps.push(new AuthStep(new BasicAuthVerifier(p.basicAuth), basicChallenge(p.basicAuth.realm), p.basicAuth.forward))
      denials.auth = counter('auth')
      if (p.basicAuth.shaLines.length > 0) log.warn({ route: label, users_file: p.basicAuth.usersFile, lines: p.basicAuth.shaLines }, 'basic_auth: {SHA} hashes are unsalted SHA-1; regenerate them with `htpasswd -B` (bcrypt)')
    }
    if (p?.rateLimit) {
      const rl = p.rateLimit
      const gcra = gcraParams(rl.requests, rl.perMs, rl.burst)
      const errors = metrics.rateLimitStoreErrors.labels(label)
      errors.inc(0)
      const store = rl.redis === null ? new MemoryRateLimitStore(gcra, rl.maxKeys) : new RedisRateLimitStore({ ...rl.redis, keyPrefix: `${rl.redis.keyPrefix}${label}:` }, gcra, log, () => errors.inc())
      this.#stores.push(store)
      steps.push(new RateLimitStep(store, rl.key, label, rateLimitPolicy(label, rl.requests, rl.perMs)))
      denials.rate_limit = counter('rate_limit')
    }
    if (p?.maintenance === true) {
      steps.push(MAINTENANCE)
      denials.maintenance = counter('maintenance')
    }
    if (p?.rewritePrefix != null) steps.push(new RewriteStep(compileRewrite(route.pathPrefix, p.rewritePrefix)))
    if (p?.requestHeaders != null) steps.push(new RequestHeadersStep(compileHeaderRules(p.requestHeaders)))
    this.steps = steps
    this.#denials = denials
    const responseRules = p?.responseHeaders == null ? null : compileHeaderRules(p.responseHeaders)
    const interceptPages = p?.interceptErrors === true ? this.errorPages : null
    const compression = p?.compress == null ? null : new RouteCompression(p.compress, label, metrics)
    // A cached route's hits are written without an exchange: its CachedRoute holds the compression.
    if (compression !== null && target !== null && 'cache' in target) target.compression = compression
    this.outbound = responseRules === null && interceptPages === null && compression === null ? null : { responseRules, interceptPages, compression }
  }

  /**
   * A WebSocket handshake on this route: the same steps, synchronously. A step that would wait
   * passes, except basic auth, which answers 401 unless the credentials were verified lately
   * (a browser's page requests verify them; the check started here caches them for a retry).
   * A Redis rate limit does not count upgrades.
   */
  upgradeGate(req: IncomingMessage, headers: UpstreamHeaders): Denial | null {
    const now = Date.now()
    for (const step of this.steps) {
      let result = step.run(req, headers, now)
      if (result !== null && 'then' in result) {
        result.catch(() => undefined)
        if (!(step instanceof AuthStep)) continue
        result = step.denial
      }
      if (result === null) continue
      if (result.policy !== null) this.denied(result.policy)
      return result
    }
    return null
  }

  denied(policy: DenialPolicy): void {
    this.#denials[policy].inc()
  }

  /** Rate limit store states, for switchyard_rate_limit_store_up. */
  storesUp(): boolean {
    return this.#stores.every((s) => s.up)
  }

  get hasRateLimit(): boolean {
    return this.#stores.length > 0
  }

  async close(): Promise<void> {
    await Promise.all(this.#stores.map((s) => s.close()))
  }
}

class RedirectStep implements PolicyStep {
  constructor(readonly template: RedirectTemplate, readonly status: number) {}
  run(req: IncomingMessage, headers: UpstreamHeaders): Denial {
    return { status: this.status, policy: null, headers: ['Location', redirectLocation(this.template, headers.host, req.url as string)] }
  }
}

const FORBIDDEN: Denial = { status: 403, policy: 'access', headers: [] }

class AccessStep implements PolicyStep {
  constructor(readonly lists: AccessLists) {}
  run(req: IncomingMessage): Denial | null {
    return accessAllowed(this.lists, clientAddress(req)) ? null : FORBIDDEN
  }
}

class AuthStep implements PolicyStep {
  readonly denial: Denial
  constructor(readonly verifier: BasicAuthVerifier, challenge: string, readonly forward: boolean) {
    this.denial = { status: 401, policy: 'auth', headers: ['WWW-Authenticate', challenge] }
  }

  run(req: IncomingMessage, headers: UpstreamHeaders, now: number): StepResult {
    const user = this.verifier.verify(req.headers.authorization, now)
    if (user === null) return this.denial
    if (typeof user === 'string') return this.#pass(headers, user)
    return user.then((name) => (name === null ? this.denial : this.#pass(headers, name)))
  }

  /** Let in: the access log names the user (combined's %u). */
  #pass(headers: UpstreamHeaders, user: string): null {
    headers.authUser = user
    if (!this.forward) applyHeaderRules(headers.headers, DROP_AUTHORIZATION)
    return null
  }
}

const DROP_AUTHORIZATION = compileHeaderRules({ set: [], add: [], remove: ['authorization'] })

class RateLimitStep implements PolicyStep {
  constructor(readonly store: RateLimitStore, readonly key: { source: string; name: string }, readonly label: string, readonly policy: string) {}

  run(req: IncomingMessage, _headers: UpstreamHeaders, now: number): StepResult {
    const k = this.key
    const value = k.source === 'client_ip' ? clientAddress(req) : k.source === 'route' ? '' : headerValue(req, k.name)
    const result = this.store.check(`${k.source}:${value}`, now)
    if (result === null) return null
    if (!('then' in result)) return this.#decide(result)
    return result.then((r) => (r === null ? null : this.#decide(r)))
  }

  #decide(r: { allowed: boolean; remaining: number; resetMs: number; retryAfterMs: number }): Denial | null {
    if (r.allowed) return null
    const retry = String(Math.max(1, wholeSeconds(r.retryAfterMs)))
    return {
      status: 429,
      policy: 'rate_limit',
      headers: ['Retry-After', retry, 'RateLimit-Policy', this.policy, 'RateLimit', rateLimitState(this.label, 0, Math.max(1, wholeSeconds(r.retryAfterMs)))],
    }
  }
}

function headerValue(req: IncomingMessage, name: string): string {
  const v = req.headers[name]
  return v === undefined ? '' : Array.isArray(v) ? v.join(',') : v
}

/** Retry-After of a maintenance 503: a minute, as a guess an operator can live with. */
const MAINTENANCE: PolicyStep = { run: () => ({ status: 503, policy: 'maintenance', headers: ['Retry-After', '60'] }) }

class RewriteStep implements PolicyStep {
  constructor(readonly rewrite: Rewrite) {}
  run(req: IncomingMessage): null {
    req.url = rewritePath(this.rewrite, req.url as string)
    return null
  }
}

class RequestHeadersStep implements PolicyStep {
  constructor(readonly rules: HeaderRules) {}
  run(_req: IncomingMessage, headers: UpstreamHeaders): null {
    applyHeaderRules(headers.headers, this.rules)
    return null
  }
}
