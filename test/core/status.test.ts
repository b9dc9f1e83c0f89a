// The primary's /status: the workers' views merged (worst state, summed in-flight counts).
import { describe, expect, it } from 'vitest'
import { mergeStatus, type StatusDoc } from '../../src/core/status.js'

const doc = (servers: [string, string, number][]): StatusDoc => ({
  upstreams: { app: { balance: 'round_robin', servers: servers.map(([url, state, n]) => ({
    url, id: url, weight: 1, config_weight: 1, state, admin_state: 'active', drained: false, active_requests: n, websockets: 0,
  })) } },
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

  it('drained only when every worker says so, and only when every worker answered', () => {
    const one = (drained: boolean, mode: 'active' | 'draining' | 'disabled', n: number, ws = 0): StatusDoc => ({
      upstreams: { app: { balance: 'round_robin', servers: [{
        url: 'a', id: 'a', weight: 1, config_weight: 1, state: 'draining', admin_state: mode, drained, active_requests: n, websockets: ws,
      }] } },
    })
    const s = (docs: StatusDoc[], complete = true) => mergeStatus(docs, complete).upstreams.app!.servers[0]!
    expect(s([one(true, 'draining', 0), one(true, 'draining', 0)])).toMatchObject({ drained: true, active_requests: 0 })
    expect(s([one(true, 'draining', 0), one(false, 'draining', 2, 1)])).toMatchObject({ drained: false, active_requests: 2, websockets: 1 })
    expect(s([one(true, 'draining', 0)], false).drained).toBe(false)
    expect(s([one(false, 'draining', 1), one(true, 'disabled', 0)]).admin_state).toBe('disabled')
  })
})
