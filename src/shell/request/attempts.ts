// What a plain request (forward.ts) and a WebSocket handshake (websocket.ts) share: the
// attempts at an upstream's servers. Picking a server (one not tried yet when there is one),
// counting the request in that server's in-flight requests, the one trial request of a
// server whose ejection just ended, and what a failed attempt means: passive health, the
// error metric, and whether to try again. A base class rather than a member object, so a
// request stays one allocation.
// Affinity (runtime/affinity.ts): the request's hash key and the member its sticky cookie
// names are read once, when the request is given (retries reuse them); the pinned member
// is taken while it takes traffic and is neither tried nor full, else the balancer picks
// and stickyCookie() says which Set-Cookie re-pins the client.
import type { IncomingMessage } from 'node:http'
import type { Dispatcher } from 'undici'
import { NO_KEY } from '../../core/balancers.js'
import { takesTraffic } from '../../core/health.js'
import { classifyError, errorCode, mayRetry, type ErrorClass } from '../../core/errors.js'
import type { Member, Server, Upstream } from '../runtime/upstreams.js'

export abstract class Attempts {
  protected readonly upstream: Upstream
  /** The server of the current (or last) attempt. */
  protected server: Server | null = null
  protected controller: Dispatcher.DispatchController | null = null
  protected retries = 0
  protected lastError: ErrorClass | null = null
  /** The code of the last failed attempt's error, for the access log ('' when none). */
  protected errorCode = ''
  #member: Member | null = null
  #counted = false // whether this request is counted in server.inFlight
  #trial = false // this request is the one trial of a server whose ejection just ended
  #tried: Set<Member> | null = null // allocated only when a retry happens
  #key = NO_KEY // the affinity hash key (ip_hash, hash)
  #pinned = -1 // the member index the sticky cookie names; -1 none

  /** `req`: the client request affinity reads (hash key, sticky cookie); null for a cache fill, which has none. */
  constructor(upstream: Upstream, req: IncomingMessage | null = null) {
    this.upstream = upstream
    const affinity = upstream.affinity
    if (affinity !== null && req !== null) {
      this.#key = affinity.keyOf(req)
      this.#pinned = affinity.pinnedOf(req)
    }
  }

  /**
   * Picks the server for the next attempt and counts the request in its in-flight
   * requests; undefined when none takes traffic. A retry goes to a server not tried yet
   * when one exists, else to any available one (a single-server upstream still gets its
   * retry, e.g. after a stale keep-alive socket).
   */
  protected pick(): Server | undefined {
    const up = this.upstream
    const key = this.#key
    const member = (this.#pinned >= 0 ? this.#pinnedMember() : undefined) ??
      up.balancer.pick(up.available, this.#tried, key) ?? (this.#tried === null ? undefined : up.balancer.pick(up.available, null, key))
    if (member === undefined) return undefined
    const server = member.server
    this.#member = member
    this.server = server
    server.inFlight++
    this.#counted = true
    if (server.health.passive.trialOpen) this.#trial = server.notePicked()
    return server
  }

  /** The member the sticky cookie names, when it takes traffic and is neither tried nor full. */
  #pinnedMember(): Member | undefined {
    const m = this.upstream.members[this.#pinned]
    if (m === undefined || m.full || !takesTraffic(m.server.health)) return undefined
    return this.#tried !== null && this.#tried.has(m) ? undefined : m
  }

  /**
   * The Set-Cookie header value to add to the response head: with `sticky`, when the
   * client did not present the cookie naming the server that answered (none, garbled, or
   * a server that is down, draining or full); else null. `secure`: the client came over
   * TLS (the cookie gets `Secure`); always false until switchyard has TLS listeners.
   */
  protected stickyCookie(secure: boolean): string | null {
    const affinity = this.upstream.affinity
    const member = this.#member
    if (affinity === null || member === null || !affinity.sticky || member.index === this.#pinned) return null
    return (secure ? affinity.secureSetCookies : affinity.setCookies)[member.index] ?? null
  }

  /** The status when no server is left: 503 if none was tried, else the last failure's. */
  protected noServerStatus(): number {
    return this.lastError === null ? 503 : this.lastError.status
  }

  /** The attempt is over (answered, failed or abandoned): it no longer counts in flight. */
  protected release(): void {
    if (this.#counted) {
      this.#counted = false
      ;(this.server as Server).inFlight--
    }
  }

  /**
   * A failed attempt (not caused by the client): counts the error, steps passive health,
   * and returns its class.
   */
  protected failed(err: Error): ErrorClass {
    const server = this.server as Server
    const cls = classifyError(err)
    server.metrics.error(cls.reason)
    if (cls.passive) server.noteFailure(cls.reason)
    // A trial that failed for a passive reason has re-ejected the server; any other ending is no verdict.
    this.endTrial()
    this.lastError = cls
    return cls
  }

  /** Whether a failed attempt may be tried again (no response byte yet): then it is recorded as a retry. */
  protected retryAfter(cls: ErrorClass, method: string, hasBody: boolean): boolean {
    if (this.retries >= this.upstream.config.retries || !mayRetry(cls, method, hasBody)) return false
    this.retries++
    this.upstream.metrics.retries.inc()
    ;(this.#tried ??= new Set()).add(this.#member as Member)
    return true
  }

  protected noteErrorCode(err: unknown): void {
    this.errorCode = errorCode(err)
  }

  /** The trial request ended without a verdict: another request may be the trial. */
  protected endTrial(): void {
    if (!this.#trial) return
    this.#trial = false
    ;(this.server as Server).noteAbandoned()
  }
}
