// GCRA (the generic cell rate algorithm, as redis-cell and Stripe's limiter use it): one number
// per key, the theoretical arrival time (TAT) of the next request. Requests at the steady rate
// (`requests` per `per`) always pass; up to `burst` more may arrive at once (nginx limit_req
// with burst and nodelay). Pure: the caller passes `now` and keeps the TAT in its store (a
// Map per process, or Redis, where the same arithmetic runs as a Lua script).
// Times are milliseconds (fractions allowed: 100 requests per 1s is one every 10 ms).

export interface Gcra {
  /** T: the time one request "costs" (per / requests). */
  readonly intervalMs: number
  /** tau + T: how far ahead of now the TAT may run; (burst + 1) * T. */
  readonly limitMs: number
}

export function gcraParams(requests: number, perMs: number, burst: number): Gcra {
  const intervalMs = perMs / requests
  return { intervalMs, limitMs: (burst + 1) * intervalMs }
}

export interface GcraResult {
  readonly allowed: boolean
  /** The TAT to store (unchanged when denied). */
  readonly tat: number
  /** Requests that could still pass right now (after this one when allowed). */
  readonly remaining: number
  /** Until the key is back to its full burst (ms). */
  readonly resetMs: number
  /** Denied: until one request would pass (ms); 0 when allowed. */
  readonly retryAfterMs: number
}

/** One request at `now` against a stored TAT (0 or anything in the past: a fresh key). */
export function gcraCheck(g: Gcra, storedTat: number, now: number): GcraResult {
  const tat = storedTat > now ? storedTat : now
  const next = tat + g.intervalMs
  const ahead = next - now
  if (ahead > g.limitMs) {
    return { allowed: false, tat: storedTat, remaining: 0, resetMs: tat - now, retryAfterMs: ahead - g.limitMs }
  }
  return { allowed: true, tat: next, remaining: Math.floor((g.limitMs - ahead) / g.intervalMs + 1e-9), resetMs: ahead, retryAfterMs: 0 }
}

/** Whole seconds for Retry-After and the RateLimit `t` parameter: rounded up, at least 1 when waiting is needed. */
export function wholeSeconds(ms: number): number {
  return ms <= 0 ? 0 : Math.ceil(ms / 1000 - 1e-9)
}
