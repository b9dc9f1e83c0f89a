// Which failed attempts may be tried again (`retry_on`, issue #16 item 9), on top of the
// safety rule of errors.ts (mayRetry: never replay a body, never repeat a non-idempotent
// request that reached a server).
//
// A request whose head was fully sent and then timed out has most likely run on the app:
// retrying it by default re-runs reports, exports and payments. So the default is nginx's
// and HAProxy's safe core: connect failures (the request never left) and resets before any
// response byte (a stale keep-alive socket); `response_timeout` and the statuses 502, 503,
// 504 are retried only when listed.
//
// A listed status is retried on another server only, never the same one (a server that
// answered 503 is not asked again), and a 503 that carries a `Retry-After` with a delay is
// never retried: the app asked the client to come back later (maintenance mode, load
// shedding), and trying the other servers at once would defeat it. It goes to the client
// with its Retry-After. `Retry-After: 0` reads as no delay.
//
// The set is a bit mask made at config load: a check is one AND.

import type { ErrorClass } from './errors.js'

export const RETRY_ON = ['connect_failure', 'reset_before_response', 'response_timeout', '502', '503', '504'] as const
export type RetryOn = (typeof RETRY_ON)[number]

/** The default: connect failures and resets before any response byte. */
export const DEFAULT_RETRY_ON: readonly RetryOn[] = ['connect_failure', 'reset_before_response']

export function retryOnMask(names: readonly RetryOn[]): number {
  let mask = 0
  for (const n of names) mask |= 1 << RETRY_ON.indexOf(n)
  return mask
}

export function listed(mask: number, name: RetryOn): boolean {
  return (mask & (1 << RETRY_ON.indexOf(name))) !== 0
}

/**
 * The retry_on condition a failed attempt (no response head) meets, or null for a failure
 * that is never retried (a malformed response, a size limit, anything unknown).
 */
export function retryCondition(cls: ErrorClass): RetryOn | null {
  switch (cls.reason) {
    case 'connect_refused':
    case 'connect_timeout':
      return 'connect_failure'
    case 'reset':
      return 'reset_before_response'
    case 'response_timeout':
      return 'response_timeout'
    default:
      return null
  }
}

/**
 * The retry_on condition a response status meets when the upstream lists it, else null.
 * `retryAfter`: the response's Retry-After header; a 503 with a delay in it is not retried.
 */
export function statusCondition(mask: number, status: number, retryAfter: string | undefined): RetryOn | null {
  let name: RetryOn
  switch (status) {
    case 502: name = '502'; break
    case 503: name = '503'; break
    case 504: name = '504'; break
    default: return null
  }
  if (!listed(mask, name)) return null
  if (status === 503 && retryAfter !== undefined && asksToWait(retryAfter)) return null
  return name
}

/** RFC 9110 10.2.3: delay-seconds or an HTTP date. "0" is no wait; any other value, a date included, asks to wait. */
function asksToWait(value: string): boolean {
  const v = value.trim()
  if (/^\d+$/.test(v)) return Number(v) > 0
  return v !== ''
}
