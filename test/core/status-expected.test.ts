// expected_status for active health checks: codes and inclusive ranges.
import { describe, expect, it } from 'vitest'
import { statusExpected } from '../../src/core/health.js'

describe('statusExpected', () => {
  const ranges = [[200, 299], [301, 301], [404, 404]] as const
  it.each([
    [200, true], [299, true], [300, false], [301, true], [302, false], [404, true], [500, false], [199, false],
  ])('%i -> %s', (status, ok) => {
    expect(statusExpected(ranges, status)).toBe(ok)
  })
})
