import { describe, expect, it } from 'vitest'
import { parseServerCounters, serverRates, windowQuantile } from '../../src/core/live-stats.js'

const EXPOSITION = `# HELP switchyard_requests_total Requests answered, by upstream, server, method and status code.
# TYPE switchyard_requests_total counter
switchyard_requests_total{upstream="app",server="127.0.0.1:3001",method="GET",code="200"} 90
switchyard_requests_total{upstream="app",server="127.0.0.1:3001",method="POST",code="502"} 10
switchyard_requests_total{upstream="app",server="unix:/run/a \\"b\\".sock",method="GET",code="200"} 3
switchyard_requests_total{upstream="",server="",method="GET",code="404"} 7
switchyard_request_duration_seconds_bucket{upstream="app",server="127.0.0.1:3001",le="0.01"} 50
switchyard_request_duration_seconds_bucket{upstream="app",server="127.0.0.1:3001",le="0.1"} 90
switchyard_request_duration_seconds_bucket{upstream="app",server="127.0.0.1:3001",le="+Inf"} 100
switchyard_request_duration_seconds_sum{upstream="app",server="127.0.0.1:3001"} 3.2
switchyard_server_up{upstream="app",server="127.0.0.1:3001"} 1
switchyard_requests_total{upstream="app",server="broken" 12
`

describe('parseServerCounters', () => {
  it('sums requests and 5xx per server, keeps cumulative buckets, skips unrouted and broken lines', () => {
    const c = parseServerCounters(EXPOSITION)
    expect(Object.keys(c).sort()).toEqual(['app 127.0.0.1:3001', 'app unix:/run/a "b".sock'])
    expect(c['app 127.0.0.1:3001']).toEqual({ requests: 100, errors: 10, buckets: [[0.01, 50], [0.1, 90], [Infinity, 100]] })
    expect(c['app unix:/run/a "b".sock']).toEqual({ requests: 3, errors: 0, buckets: [] })
  })

  it.each([
    ['', {}],
    ['switchyard_requests_total 5\n', {}],
    ['switchyard_requests_total{upstream="a",server="s",code="200"} NaN\n', {}],
    ['xswitchyard_requests_total{upstream="a",server="s",code="200"} 1\n', {}],
  ])('%j -> %j', (text, expected) => {
    expect(parseServerCounters(text)).toEqual(expected)
  })
})

describe('windowQuantile', () => {
  const b = (...pairs: [number, number][]): [number, number][] => pairs
  it.each([
    ['no request in the window', b([0.1, 5], [Infinity, 5]), b([0.1, 5], [Infinity, 5]), 0.5, null],
    ['all in the first bucket: linear from 0', b(), b([0.1, 10], [Infinity, 10]), 0.5, 0.05],
    ['the second bucket', b([0.01, 0], [0.1, 0], [Infinity, 0]), b([0.01, 50], [0.1, 90], [Infinity, 100]), 0.5, 0.01],
    ['p99 in +Inf: the highest finite bound', b(), b([0.01, 50], [0.1, 90], [Infinity, 100]), 0.99, 0.1],
    ['only the window counts', b([0.01, 100], [0.1, 100], [Infinity, 100]), b([0.01, 100], [0.1, 110], [Infinity, 110]), 0.5, 0.055],
  ])('%s', (_name, before, after, q, expected) => {
    const got = windowQuantile(before, after, q)
    if (expected === null) expect(got).toBeNull()
    else expect(got).toBeCloseTo(expected, 6)
  })
})

describe('serverRates', () => {
  const at = (requests: number, errors: number, fast: number): { requests: number; errors: number; buckets: [number, number][] } =>
    ({ requests, errors, buckets: [[0.01, fast], [Infinity, requests]] })
  it('rates over the window', () => {
    expect(serverRates(at(100, 1, 100), at(300, 11, 300), 2)).toEqual({ rps: 100, errorRatio: 0.05, p50: 0.005, p99: expect.closeTo(0.0099, 6) })
  })
  it('no request in the window: rates 0, ratios null', () => {
    expect(serverRates(at(5, 0, 5), at(5, 0, 5), 1)).toEqual({ rps: 0, errorRatio: null, p50: null, p99: null })
  })
  it('a counter that went back (the daemon restarted) counts from zero; no previous scrape likewise', () => {
    expect(serverRates(at(500, 0, 500), at(10, 0, 10), 1).rps).toBe(10)
    expect(serverRates(undefined, at(10, 0, 10), 1).rps).toBe(10)
  })
})

describe('the page embeds these functions by their source text', () => {
  it('each runs alone from its toString(), with only the others in scope', () => {
    const source = [parseServerCounters, windowQuantile, serverRates].map((f) => f.toString()).join('\n')
    const run = new Function(`${source}\nreturn serverRates(undefined, parseServerCounters(arguments[0])['app 127.0.0.1:3001'], 1)`) as (text: string) => unknown
    expect(run(EXPOSITION)).toEqual({ rps: 100, errorRatio: 0.1, p50: 0.01, p99: 0.1 })
  })
})
