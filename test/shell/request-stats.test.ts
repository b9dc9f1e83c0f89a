import { describe, expect, it } from 'vitest'
import { DURATION_BUCKETS, METHOD_LABELS, RequestStats, methodIndex } from '../../src/shell/observe/request-stats.js'

describe('methodIndex', () => {
  it.each([
    ['GET', 'GET'], ['HEAD', 'HEAD'], ['POST', 'POST'], ['PUT', 'PUT'], ['DELETE', 'DELETE'], ['PATCH', 'PATCH'],
    ['OPTIONS', 'OPTIONS'], ['CONNECT', 'CONNECT'], ['TRACE', 'TRACE'],
    ['PURGE', 'OTHER'], ['get', 'OTHER'], ['PROPFIND', 'OTHER'], ['', 'OTHER'],
  ])('%s counts as %s', (method, label) => {
    expect(METHOD_LABELS[methodIndex(method)]).toBe(label)
  })
})

describe('RequestStats', () => {
  it('counts by method label and code', () => {
    const s = new RequestStats('app', '127.0.0.1:1')
    for (const [m, c] of [['GET', 200], ['GET', 200], ['PURGE', 200], ['MKCOL', 200], ['GET', 502], ['POST', 599]] as const) s.record(m, c, 0.01)
    expect([...s.requests()].sort()).toEqual([['GET', 200, 2], ['GET', 502, 1], ['OTHER', 200, 2], ['POST', 599, 1]].sort())
  })

  it.each([
    [0, 0], [0.001, 0], [0.0010001, 1], [0.003, 2], [1, 9], [29.9, 13], [30, 13], [30.0001, 14], [3600, 14],
  ])('a duration of %s s falls in bucket %i (upper bounds inclusive, as Prometheus le)', (seconds, bucket) => {
    const s = new RequestStats('a', 'b')
    s.record('GET', 200, seconds)
    expect([...s.buckets].indexOf(1)).toBe(bucket)
    expect(s.buckets.length).toBe(DURATION_BUCKETS.length + 1)
    expect(s.sum).toBe(seconds)
    expect(s.count).toBe(1)
  })
})
