// When an ACME certificate is renewed (core/acme-renewal.ts): renew_before before notAfter,
// a third of the lifetime when renew_before would cover all of it, at once when a configured
// domain is missing; and the backoff after failed orders.
import { describe, expect, it } from 'vitest'
import { orderRetryMs, renewalDue } from '../../src/core/acme-renewal.js'

const DAY = 86_400_000
const NINETY_DAYS = { names: ['example.com', 'www.example.com'], notBeforeMs: 0, notAfterMs: 90 * DAY }

describe('renewalDue', () => {
  it.each([
    ['30 days before notAfter', NINETY_DAYS, ['example.com', 'www.example.com'], 30 * DAY, 60 * DAY],
    ['a subset of the names is covered', NINETY_DAYS, ['www.example.com'], 30 * DAY, 60 * DAY],
    ['names compare without case', { ...NINETY_DAYS, names: ['Example.COM'] }, ['example.com'], 30 * DAY, 60 * DAY],
    ['a domain the certificate lacks: now', NINETY_DAYS, ['example.com', 'new.example.com'], 30 * DAY, -Infinity],
    ['short-lived (6 days) with 30 days: a third left', { names: ['a.test'], notBeforeMs: 0, notAfterMs: 6 * DAY }, ['a.test'], 30 * DAY, 4 * DAY],
    ['renew_before equal to the lifetime: a third left', { names: ['a.test'], notBeforeMs: 1000, notAfterMs: 121_000 }, ['a.test'], 120_000, 81_000],
    ['renew_before just under the lifetime: as written', { names: ['a.test'], notBeforeMs: 1000, notAfterMs: 121_000 }, ['a.test'], 118_000, 3_000],
  ])('%s', (_why, cert, domains, renewBefore, due) => {
    expect(renewalDue(cert, domains, renewBefore)).toBe(due)
  })
})

describe('orderRetryMs', () => {
  it.each([
    [1, 60_000],
    [2, 120_000],
    [3, 240_000],
    [6, 1_920_000],
    [7, 3_600_000],
    [1000, 3_600_000],
  ])('after %i failures: %i ms', (failures, ms) => {
    expect(orderRetryMs(failures)).toBe(ms)
  })
})
