// retry_on (src/core/retry-on.ts): which failure meets which condition, and when a status
// is retried (listed, and a 503 only without a Retry-After asking to wait).
import { describe, expect, it } from 'vitest'
import { classifyError } from '../../src/core/errors.js'
import { DEFAULT_RETRY_ON, listed, retryCondition, retryOnMask, statusCondition, type RetryOn } from '../../src/core/retry-on.js'

const err = (code: string, syscall?: string): Error => Object.assign(new Error(code), { code, syscall })

describe('retryCondition', () => {
  it.each<[string, string | undefined, RetryOn | null]>([
    ['ECONNREFUSED', undefined, 'connect_failure'],
    ['ENOTFOUND', undefined, 'connect_failure'],
    ['UND_ERR_CONNECT_TIMEOUT', undefined, 'connect_failure'],
    ['ETIMEDOUT', 'connect', 'connect_failure'],
    ['ECONNRESET', undefined, 'reset_before_response'],
    ['UND_ERR_SOCKET', undefined, 'reset_before_response'],
    ['ETIMEDOUT', 'read', 'reset_before_response'],
    ['UND_ERR_HEADERS_TIMEOUT', undefined, 'response_timeout'],
    ['HPE_INVALID_CONSTANT', undefined, null], // a malformed response: never retried
    ['UND_ERR_RES_EXCEEDED_MAX_SIZE', undefined, null],
  ])('%s (%s) -> %s', (code, syscall, expected) => {
    expect(retryCondition(classifyError(err(code, syscall)))).toBe(expected)
  })
})

describe('retry_on mask', () => {
  it('the default lists connect failures and resets before a response only', () => {
    const mask = retryOnMask(DEFAULT_RETRY_ON)
    expect(listed(mask, 'connect_failure')).toBe(true)
    expect(listed(mask, 'reset_before_response')).toBe(true)
    for (const n of ['response_timeout', '502', '503', '504'] as const) expect(listed(mask, n)).toBe(false)
    expect(retryOnMask([])).toBe(0)
  })
})

describe('statusCondition', () => {
  const all = retryOnMask(['502', '503', '504'])
  it.each<[string, number, number, string | undefined, RetryOn | null]>([
    ['a listed 502', all, 502, undefined, '502'],
    ['a 502 not listed', retryOnMask(['503']), 502, undefined, null],
    ['a listed 504', all, 504, undefined, '504'],
    ['a 500 is never a condition', all, 500, undefined, null],
    ['a 200', all, 200, undefined, null],
    ['a 503 without Retry-After', all, 503, undefined, '503'],
    ['a 503 with Retry-After: 0', all, 503, '0', '503'],
    ['a 503 with Retry-After: 120 (the app asks to wait)', all, 503, '120', null],
    ['a 503 with Retry-After as a date', all, 503, 'Wed, 21 Oct 2026 07:28:00 GMT', null],
    ['a 502 with Retry-After is still retried (only a 503 is read)', all, 502, '120', '502'],
  ])('%s', (_name, mask, status, retryAfter, expected) => {
    expect(statusCondition(mask, status, retryAfter)).toBe(expected)
  })
})
