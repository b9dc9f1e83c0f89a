// The primary's /status: the workers' views merged (worst state, summed in-flight counts).
import { describe, expect, it } from 'vitest'
import { mergeStatus, type StatusDoc } from '../../src/core/status.js'

const doc = (servers: [string, string, number][]): StatusDoc => ({
  upstreams: { app: { balance: 'round_robin', servers: servers.map(([url, state, n]) => ({ url, weight: 1, state, active_requests: n })) } },
})

describe('mergeStatus', () => {
  it.each([
    ['one worker: unchanged', [[['a', 'healthy', 2]]], [['a', 'healthy', 2]]],
    ['in-flight counts add up', [[['a', 'healthy', 2]], [['a', 'healthy', 3]]], [['a', 'healthy', 5]]],
    ['ejected in one worker shows ejected', [[['a', 'healthy', 0]], [['a', 'ejected', 0]]], [['a', 'ejected', 0]]],
    ['unhealthy beats ejected', [[['a', 'ejected', 0]], [['a', 'unhealthy', 0]]], [['a', 'unhealthy', 0]]],
    ['draining beats everything', [[['a', 'unhealthy', 1]], [['a', 'draining', 1]]], [['a', 'draining', 2]]],
    ['a server one worker still drains is listed', [[['a', 'healthy', 0]], [['a', 'healthy', 0], ['b', 'draining', 1]]], [['a', 'healthy', 0], ['b', 'draining', 1]]],
  ] as [string, [string, string, number][][], [string, string, number][]][])('%s', (_, views, expected) => {
    expect(mergeStatus(views.map(doc))).toEqual(doc(expected))
  })

  it('no worker answered: no upstreams', () => {
    expect(mergeStatus([])).toEqual({ upstreams: {} })
  })
})
