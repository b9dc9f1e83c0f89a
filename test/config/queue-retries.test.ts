// `servers[].max_requests`, `queue`, `retry_on` and `retry_budget` (issue #16 items 3, 9):
// values, defaults, and every problem with its key path and line, as `switchyard check`
// prints them.
import { describe, expect, test } from 'vitest'
import { parseConfig } from '../../src/config/load.js'
import { configOf, problemsOf } from '../helpers/config.js'

const upstream = (extra: string, server = ''): string => `listeners: [{port: 1}]
upstreams:
  app:
    servers: [{url: "http://127.0.0.1:3001"${server}}, {url: "http://127.0.0.1:3002"}]
${extra.split('\n').map((l) => `    ${l}`).join('\n')}
`


describe('valid', () => {
  test('defaults: no caps, no queue, connect failures and resets, budget 0.2 + 10/s, response_headers 60s', () => {
    const u = configOf(parseConfig(upstream(''))).upstreams[0]!
    expect(u.servers.map((s) => s.maxRequests)).toEqual([0, 0])
    expect(u.queue).toBeNull()
    expect(u.retryOn).toEqual(['connect_failure', 'reset_before_response'])
    expect(u.retryBudget).toEqual({ ratio: 0.2, minPerSecond: 10 })
    expect(u.timeouts.responseHeadersMs).toBe(60_000)
  })

  test('caps and a queue with defaults (size 100, timeout 30s)', () => {
    const u = configOf(parseConfig(upstream('queue: {}', ', max_requests: 4'))).upstreams[0]!
    expect(u.servers.map((s) => s.maxRequests)).toEqual([4, 0])
    expect(u.queue).toEqual({ size: 100, timeoutMs: 30_000 })
  })

  test('every key set; statuses as numbers or strings, duplicates kept once', () => {
    const u = configOf(parseConfig(upstream('queue: { size: 5, timeout: 250ms }\nretry_on: [connect_failure, response_timeout, 502, "503", 502]\nretry_budget: { ratio: 0, min_per_second: 0 }', ', max_requests: 1'))).upstreams[0]!
    expect(u.queue).toEqual({ size: 5, timeoutMs: 250 })
    expect(u.retryOn).toEqual(['connect_failure', 'response_timeout', '502', '503'])
    expect(u.retryBudget).toEqual({ ratio: 0, minPerSecond: 0 })
  })

  test('retry_on: [] never retries; a budget with one key keeps the other default', () => {
    const u = configOf(parseConfig(upstream('retry_on: []\nretry_budget: { ratio: 1 }'))).upstreams[0]!
    expect(u.retryOn).toEqual([])
    expect(u.retryBudget).toEqual({ ratio: 1, minPerSecond: 10 })
  })
})

describe('problems', () => {
  test.each<[string, string, string, string[]]>([
    ['max_requests negative', '', ', max_requests: -1', ['upstreams.app.servers.0.max_requests: must be an integer from 0 to 1000000 (got -1) (line 4)']],
    ['max_requests not an integer', '', ', max_requests: 2.5', ['upstreams.app.servers.0.max_requests: must be an integer from 0 to 1000000 (got 2.5) (line 4)']],
    ['max_requests a string', '', ', max_requests: "4"', ['upstreams.app.servers.0.max_requests: must be an integer from 0 to 1000000 (got "4") (line 4)']],
    ['a queue without any max_requests', 'queue: { size: 10 }', '', ['upstreams.app.queue: needs a server with max_requests: requests wait here only when every server is at its max_requests (set servers[].max_requests) (line 5)']],
    ['a queue of size 0', 'queue: { size: 0 }', ', max_requests: 1', ['upstreams.app.queue.size: must be an integer from 1 to 1000000 (got 0) (line 5)']],
    ['a queue timeout without a unit', 'queue: { timeout: 30 }', ', max_requests: 1', ['upstreams.app.queue.timeout: needs a unit: write it like "2s" or "250ms", not a bare number (got 30) (line 5)']],
    ['a queue key misspelt', 'queue: { sise: 3 }', ', max_requests: 1', ['upstreams.app.queue.sise: unknown key "sise"; did you mean "size"? (line 5)']],
    ['a queue that is not a map', 'queue: 100', ', max_requests: 1', ['upstreams.app.queue: must be a map with the keys size, timeout (got 100) (line 5)']],
    ['an unknown retry_on entry', 'retry_on: [connect_failure, timeout, 500]', '', [
      'upstreams.app.retry_on.1: must be one of connect_failure, reset_before_response, response_timeout, 502, 503, 504 (got "timeout") (line 5)',
      'upstreams.app.retry_on.2: must be one of connect_failure, reset_before_response, response_timeout, 502, 503, 504 (got 500) (line 5)',
    ]],
    ['retry_on not a list', 'retry_on: 502', '', ['upstreams.app.retry_on: must be a list (got 502) (line 5)']],
    ['a ratio above 1', 'retry_budget: { ratio: 1.5 }', '', ['upstreams.app.retry_budget.ratio: must be a number from 0 to 1, the share of requests that may be retried, such as 0.2 (got 1.5) (line 5)']],
    ['a negative ratio', 'retry_budget: { ratio: -0.1 }', '', ['upstreams.app.retry_budget.ratio: must be a number from 0 to 1, the share of requests that may be retried, such as 0.2 (got -0.1) (line 5)']],
    ['a ratio as a percentage string', 'retry_budget: { ratio: "20%" }', '', ['upstreams.app.retry_budget.ratio: must be a number from 0 to 1, the share of requests that may be retried, such as 0.2 (got "20%") (line 5)']],
    ['min_per_second negative', 'retry_budget: { min_per_second: -1 }', '', ['upstreams.app.retry_budget.min_per_second: must be an integer from 0 to 1000000 (got -1) (line 5)']],
    ['a budget key misspelt', 'retry_budget: { ratio: 0.2, min_per_sec: 1 }', '', ['upstreams.app.retry_budget.min_per_sec: unknown key "min_per_sec"; did you mean "min_per_second"? (line 5)']],
  ])('%s', (_name, extra, server, expected) => {
    expect(problemsOf(upstream(extra, server))).toEqual(expected)
  })

  test('a queue next to an invalid max_requests: only the max_requests problem', () => {
    expect(problemsOf(upstream('queue: {}', ', max_requests: -4'))).toEqual(['upstreams.app.servers.0.max_requests: must be an integer from 0 to 1000000 (got -4) (line 4)'])
  })
})
