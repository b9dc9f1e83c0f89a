// What a plain request (forward.ts) and a WebSocket handshake (websocket.ts) share: the
// attempts at an upstream's servers. Picking a server (one not tried yet when there is one),
// counting the request in that server's in-flight requests, the one trial request of a
// server whose ejection just ended, and what a failed attempt means: passive health, the
// error metric, and whether to try again. A base class rather than a member object, so a
// request stays one allocation.
import type { Dispatcher } from 'undici'
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

  constructor(upstream: Upstream) {
    this.upstream = upstream
  }

  /**
   * Picks the server for the next attempt and counts the request in its in-flight
   * requests; undefined when none takes traffic. A retry goes to a server not tried yet
   * when one exists, else to any available one (a single-server upstream still gets its
   * retry, e.g. after a stale keep-alive socket).
   */
  protected pick(): Server | undefined {
    const up = this.upstream
    const member = up.balancer.pick(up.available, this.#tried) ?? (this.#tried === null ? undefined : up.balancer.pick(up.available, null))
    if (member === undefined) return undefined
    const server = member.server
    this.#member = member
    this.server = server
    server.inFlight++
    this.#counted = true
    if (server.health.passive.trialOpen) this.#trial = server.notePicked()
    return server
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
