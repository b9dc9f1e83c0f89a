// An upstream's queue (`queue: { size, timeout }`, issue #16 item 3) around the pure FIFO of
// core/wait-queue.ts: one timer for the head's deadline (every entry has the same timeout,
// so the head is always the first to expire), the timeout counter, and the hand-over of a
// freed server slot to the head of the queue.
// - Built only for an upstream with a queue: without one, the request path never touches
//   this (Upstream.queue is null).
// - A slot freed by a request that ends (Attempts.release) wakes the head at once, in the
//   same turn: a request arriving meanwhile can not take the slot before the one waiting.
//   The head picks again through the balancer (so a retry still avoids the servers it
//   tried); when it finds nothing free it keeps its place and its deadline.
// - Kept across a reload while the upstream stays (runtime.ts): requests waiting keep
//   their place, new settings apply to new entries.
import type { QueueConfig } from '../../config/types.js'
import { WaitQueue } from '../../core/wait-queue.js'
import { MAX_TIMER_MS } from '../../config/duration.js'

/** A request waiting for a slot (Attempts). */
export interface Waiter {
  /** A server slot may be free: pick again. */
  slotFreed(): void
  /** queue.timeout passed: answer 503 (it has left the queue). */
  queueTimedOut(): void
}

/** What the queue counts: switchyard_queue_timeouts_total of its upstream. */
export interface TimeoutCounter {
  inc(): void
}

export class RequestQueue {
  #queue: WaitQueue<Waiter>
  readonly #timeouts: TimeoutCounter
  #timer: NodeJS.Timeout | null = null
  readonly #fire = (): void => this.#expire()

  constructor(config: QueueConfig, timeouts: TimeoutCounter) {
    this.#queue = new WaitQueue(config.size, config.timeoutMs)
    this.#timeouts = timeouts
  }

  get length(): number {
    return this.#queue.length
  }

  /** A reload changed size or timeout: entries already waiting keep their deadline. */
  configure(config: QueueConfig): void {
    const q = this.#queue
    if (q.size === config.size && q.timeoutMs === config.timeoutMs) return
    const next = new WaitQueue<Waiter>(config.size, config.timeoutMs)
    next.adopt(q)
    this.#queue = next
  }

  /** At the tail; false when the queue is full. */
  add(w: Waiter): boolean {
    if (!this.#queue.add(w, performance.now())) return false
    if (this.#timer === null) this.#arm()
    return true
  }

  /** Left before its turn (its client went away, or it got a slot). */
  remove(w: Waiter): void {
    this.#queue.remove(w)
  }

  /** A slot was freed: the head takes it (and leaves the queue) or keeps its place. */
  wake(): void {
    this.#queue.head()?.slotFreed()
  }

  #arm(): void {
    const deadline = this.#queue.nextDeadline()
    if (deadline < 0) return
    this.#timer = setTimeout(this.#fire, Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil(deadline - performance.now()))))
    this.#timer.unref()
  }

  #expire(): void {
    this.#timer = null
    for (const w of this.#queue.expired(performance.now())) {
      this.#timeouts.inc()
      w.queueTimedOut()
    }
    if (this.#queue.length !== 0) this.#arm()
  }
}
