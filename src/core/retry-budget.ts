// The retry budget (`retry_budget: { ratio, min_per_second }`, issue #16 item 9): retries
// may add at most `ratio` of the upstream's requests, plus `min_per_second` so a quiet
// upstream can still retry. The same budget as Linkerd's (retryRatio, minRetriesPerSecond)
// and Envoy's retry_budget in spirit: a failing server must not triple the load on the
// others (with retries: 2, every request could become three).
//
// Counted over a sliding window of whole buckets (10 buckets of 1 s by default): a retry is
// allowed while retries in the window + 1 <= ratio * requests in the window + min_per_second
// * window seconds. Time is passed in (milliseconds, any monotonic origin); nothing here
// reads a clock. Per process: with workers each worker keeps its own budget.

export class RetryBudget {
  readonly ratio: number
  readonly minPerSecond: number
  readonly #bucketMs: number
  readonly #requests: Float64Array
  readonly #retries: Float64Array
  #epoch = -1 // the bucket number (now / bucketMs) of the newest bucket
  #requestSum = 0
  #retrySum = 0
  readonly #floor: number

  constructor(ratio: number, minPerSecond: number, buckets = 10, bucketMs = 1_000) {
    this.ratio = ratio
    this.minPerSecond = minPerSecond
    this.#bucketMs = bucketMs
    this.#requests = new Float64Array(buckets)
    this.#retries = new Float64Array(buckets)
    this.#floor = minPerSecond * (buckets * bucketMs) / 1000
  }

  /** A request (its first attempt) began at `now`. */
  request(now: number): void {
    const i = this.#roll(now)
    this.#requests[i]! += 1
    this.#requestSum++
  }

  /** Whether a retry at `now` fits the budget; when it does, it is counted. */
  tryRetry(now: number): boolean {
    const i = this.#roll(now)
    if (this.#retrySum + 1 > this.ratio * this.#requestSum + this.#floor) return false
    this.#retries[i]! += 1
    this.#retrySum++
    return true
  }

  /** Retries and requests in the window now (for tests and /status). */
  window(now: number): { requests: number; retries: number } {
    this.#roll(now)
    return { requests: this.#requestSum, retries: this.#retrySum }
  }

  /** Moves the window to `now`'s bucket, emptying the buckets it leaves behind; returns its index. */
  #roll(now: number): number {
    const n = this.#requests.length
    const bucket = Math.floor(now / this.#bucketMs)
    if (bucket > this.#epoch) {
      const steps = this.#epoch < 0 ? n : Math.min(n, bucket - this.#epoch)
      for (let s = 1; s <= steps; s++) {
        const i = (((this.#epoch + s) % n) + n) % n
        this.#requestSum -= this.#requests[i]!
        this.#retrySum -= this.#retries[i]!
        this.#requests[i] = 0
        this.#retries[i] = 0
      }
      this.#epoch = bucket
    }
    // A clock that stepped back counts in the newest bucket.
    return ((this.#epoch % n) + n) % n
  }
}
