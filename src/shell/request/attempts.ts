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
// Caps and the queue (issue #16): a pick that finds every server at its max_requests puts
// the request in the upstream's queue (waitForSlot); a slot freed by release() wakes the
// head of that queue, which picks again. Nothing of this runs on an upstream without caps.
// Retries (issue #16): a failure is retried only when the upstream's retry_on lists its
// condition (core/retry-on.ts), it is safe (core/errors.ts mayRetry), and the retry budget
// allows it (core/retry-budget.ts); a listed status (502, 503, 504) only on a server not
// tried yet.
import type { IncomingMessage } from 'node:http'
import type { Dispatcher } from 'undici'
import { NO_KEY } from '../../core/balancers.js'
import { classifyError, errorCode, isIdempotent, mayRetry, type ErrorClass } from '../../core/errors.js'
import { listed, retryCondition, statusCondition, type RetryOn } from '../../core/retry-on.js'
import type { Member, Server, Upstream } from '../runtime/upstreams.js'
import type { RequestQueue, Waiter } from '../runtime/request-queue.js'

/** Why a request found no server: none takes traffic, every one is full (no queue, or the queue is full). */
export type NoSlot = 'SY_NO_SERVER' | 'SY_SERVERS_FULL' | 'SY_QUEUE_FULL'

/** `Retry-After` of a 503 for a full upstream: a slot frees up as soon as a request ends. */
export const FULL_RETRY_AFTER = '1'

export abstract class Attempts implements Waiter {
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
  #queue: RequestQueue | null = null // the queue this request waits in; null when not waiting

  /**
   * `req`: the client request affinity reads (hash key, sticky cookie); null for a cache
   * fill, which has none. `now`: when the request began (performance.now()), for the retry budget.
   */
  constructor(upstream: Upstream, req: IncomingMessage | null = null, now = performance.now()) {
    this.upstream = upstream
    upstream.retryBudget.request(now)
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
    if (this.#queue !== null) this.#leaveQueue()
    if (server.health.passive.trialOpen) this.#trial = server.notePicked()
    return server
  }

  /** The member the sticky cookie names, when it takes traffic and is neither tried nor full. */
  #pinnedMember(): Member | undefined {
    const m = this.upstream.members[this.#pinned]
    if (m === undefined || m.full || !m.server.takesTraffic) return undefined
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

  /**
   * After pick() found nothing: when every server that takes traffic is at its
   * max_requests, wait in the upstream's queue (null: waiting, slotFreed() or
   * queueTimedOut() comes later; a request already waiting keeps its place). Else why not.
   */
  protected waitForSlot(): NoSlot | null {
    const up = this.upstream
    const why: NoSlot | null = !up.capped || !up.available.some(isFull) ? 'SY_NO_SERVER'
      : up.queue === null ? 'SY_SERVERS_FULL'
        : this.#queue !== null || up.queue.add(this) ? null : 'SY_QUEUE_FULL'
    if (why !== null) this.leaveQueue() // woken, and no server takes traffic any more
    else this.#queue ??= up.queue
    return why
  }

  /** Waiting in a queue now. */
  protected get queued(): boolean {
    return this.#queue !== null
  }

  /** The client left while waiting: out of the queue; true when it was in one. */
  protected leaveQueue(): boolean {
    if (this.#queue === null) return false
    this.#leaveQueue()
    return true
  }

  #leaveQueue(): void {
    ;(this.#queue as RequestQueue).remove(this)
    this.#queue = null
  }

  /** A slot may be free (the queue's head): try again. */
  slotFreed(): void {
    this.resume()
  }

  /** queue.timeout passed (the queue has removed it). */
  queueTimedOut(): void {
    this.#queue = null
    this.timedOutInQueue()
  }

  /** Hook: pick again after waiting (attempt() or start()). */
  protected abstract resume(): void

  /** Hook: answer the request that waited queue.timeout (503, SY_QUEUE_TIMEOUT). */
  protected abstract timedOutInQueue(): void

  /** The attempt is over (answered, failed or abandoned): it no longer counts in flight, and its slot goes to the queue. */
  protected release(): void {
    if (this.#counted) {
      this.#counted = false
      ;(this.server as Server).inFlight--
      const queue = this.upstream.queue
      if (queue !== null && queue.length !== 0) queue.wake()
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
    const up = this.upstream
    if (this.retries >= up.config.retries || !mayRetry(cls, method, hasBody)) return false
    const condition = retryCondition(cls)
    if (condition === null || !listed(up.retryOn, condition)) return false
    return this.#spend(condition)
  }

  /**
   * Whether a response head with this status is dropped for a retry: retry_on lists it (a
   * 503 asking to wait with Retry-After never), the request is idempotent without a body
   * (it reached the server), a try is left and a server not tried yet is free.
   */
  protected retryStatus(status: number, retryAfter: string | undefined, method: string, hasBody: boolean): boolean {
    const up = this.upstream
    const condition = statusCondition(up.retryOn, status, retryAfter)
    if (condition === null || this.retries >= up.config.retries || hasBody || !isIdempotent(method)) return false
    const member = this.#member
    const tried = this.#tried
    let other = false
    for (const m of up.available) {
      if (m !== member && !m.full && (tried === null || !tried.has(m))) {
        other = true
        break
      }
    }
    return other && this.#spend(condition)
  }

  /** A retry for `condition`, if the budget allows it: counted, and this attempt's server is tried. */
  #spend(condition: RetryOn): boolean {
    const up = this.upstream
    if (!up.retryBudget.tryRetry(performance.now())) {
      up.metrics.retryBudgetExhausted.inc()
      return false
    }
    this.retries++
    up.metrics.retries[condition].inc()
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

function isFull(m: Member): boolean {
  return m.full
}
