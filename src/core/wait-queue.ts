// The queue of requests waiting for a server slot (`queue: { size, timeout }`, issue #16
// item 3): first in, first out, bounded, each entry with a deadline. Every entry gets the
// same timeout, so deadlines are in queue order and the shell needs one timer, for the
// head (after a reload changed the timeout, adopt() keeps the old entries' deadlines, and
// expired() looks past an entry that is not due yet). An entry leaves from anywhere (its
// client went away) in O(1): a Map keeps insertion order. Time is passed in (milliseconds,
// any monotonic origin).

export class WaitQueue<T> {
  readonly size: number
  readonly timeoutMs: number
  readonly #deadlines = new Map<T, number>()
  /** Adopted entries may have later deadlines than newer ones: scan them all. */
  #mixed = false

  constructor(size: number, timeoutMs: number) {
    this.size = size
    this.timeoutMs = timeoutMs
  }

  get length(): number {
    return this.#deadlines.size
  }

  has(item: T): boolean {
    return this.#deadlines.has(item)
  }

  /** Adds at the tail; false when the queue is full (or the item is already in it). */
  add(item: T, now: number): boolean {
    if (this.#deadlines.size >= this.size || this.#deadlines.has(item)) return false
    this.#deadlines.set(item, now + this.timeoutMs)
    return true
  }

  remove(item: T): boolean {
    return this.#deadlines.delete(item)
  }

  /** The oldest entry, left in place. */
  head(): T | undefined {
    for (const item of this.#deadlines.keys()) return item
    return undefined
  }

  /** Every entry of `other`, in order, with its deadline (a reload's new settings); over size too. */
  adopt(other: WaitQueue<T>): void {
    for (const [item, deadline] of other.#deadlines) this.#deadlines.set(item, deadline)
    this.#mixed = this.#deadlines.size !== 0
  }

  /** Removes and returns the entries whose deadline is at or before `now`, oldest first. */
  expired(now: number): T[] {
    const out: T[] = []
    for (const [item, deadline] of this.#deadlines) {
      if (deadline <= now) out.push(item)
      else if (!this.#mixed) break
    }
    for (const item of out) this.#deadlines.delete(item)
    if (this.#deadlines.size === 0) this.#mixed = false
    return out
  }

  /** The earliest deadline; -1 when empty. */
  nextDeadline(): number {
    let next = -1
    for (const deadline of this.#deadlines.values()) {
      if (next < 0 || deadline < next) next = deadline
      if (!this.#mixed) break
    }
    return next
  }
}
