// The runtime API's state of a server (src/core/admin-state.ts): actions, how the mode
// combines with health into "takes traffic" and the /status state, the drained signal, the
// weight in effect, and the table a reload keeps.
import { describe, expect, it } from 'vitest'
import {
  ACTIVE, admits, applyAction, effectiveWeight, fromEntries, isDrained, keepFor, mergeModes, shownState, stateIn, tableKey, toEntries,
  type AdminAction, type AdminMode, type AdminState,
} from '../../src/core/admin-state.js'

const s = (mode: AdminMode, weight: number | null = null): AdminState => ({ mode, weight })

describe('applyAction', () => {
  it.each<[string, AdminState, AdminAction, AdminState, boolean]>([
    ['drain an active server', ACTIVE, { kind: 'drain' }, s('draining'), true],
    ['drain again: nothing changes', s('draining'), { kind: 'drain' }, s('draining'), false],
    ['disable a draining server', s('draining'), { kind: 'disable' }, s('disabled'), true],
    ['enable a disabled one', s('disabled'), { kind: 'enable' }, ACTIVE, true],
    ['enable keeps a weight override', s('draining', 5), { kind: 'enable' }, s('active', 5), true],
    ['enable an active server: no change', ACTIVE, { kind: 'enable' }, ACTIVE, false],
    ['weight on an active server', ACTIVE, { kind: 'weight', weight: 5 }, s('active', 5), true],
    ['weight keeps the mode', s('draining'), { kind: 'weight', weight: 3 }, s('draining', 3), true],
    ['the same weight: no change', s('active', 3), { kind: 'weight', weight: 3 }, s('active', 3), false],
    ['weight null: back to the config', s('active', 3), { kind: 'weight', weight: null }, ACTIVE, true],
  ])('%s', (_, from, action, to, changed) => {
    const r = applyAction(from, action)
    expect(r.state).toEqual(to)
    expect(r.changed).toBe(changed)
  })

  it('a change back to the default is the shared ACTIVE value (the table drops it)', () => {
    expect(applyAction(s('disabled'), { kind: 'enable' }).state).toBe(ACTIVE)
  })
})

describe('admits, shownState, isDrained, effectiveWeight', () => {
  it.each<[AdminMode, boolean, boolean]>([
    ['active', true, true],
    ['active', false, false],
    ['draining', true, false],
    ['disabled', true, false],
  ])('mode %s, health takes traffic %s: admits %s', (mode, health, expected) => {
    expect(admits(mode, health)).toBe(expected)
  })

  it.each<[AdminMode, string, string]>([
    ['active', 'healthy', 'healthy'],
    ['active', 'ejected', 'ejected'],
    ['draining', 'healthy', 'draining'],
    ['disabled', 'unhealthy', 'draining'],
  ])('mode %s over health %s shows %s', (mode, health, shown) => {
    expect(shownState(mode, health)).toBe(shown)
  })

  it.each<[boolean, number, number, boolean]>([
    [true, 0, 0, true],
    [true, 1, 0, false],
    [true, 0, 1, false],
    [false, 0, 0, false],
  ])('out %s, in flight %d, tunnels %d: drained %s', (out, inFlight, tunnels, expected) => {
    expect(isDrained(out, inFlight, tunnels)).toBe(expected)
  })

  it('the override wins over the configured weight', () => {
    expect(effectiveWeight(ACTIVE, 4)).toBe(4)
    expect(effectiveWeight(s('draining', 9), 4)).toBe(9)
  })

  it.each<[AdminMode, AdminMode, AdminMode]>([
    ['active', 'active', 'active'],
    ['active', 'draining', 'draining'],
    ['disabled', 'draining', 'disabled'],
    ['draining', 'disabled', 'disabled'],
  ])('merging %s and %s shows %s', (a, b, expected) => {
    expect(mergeModes(a, b)).toBe(expected)
  })
})

describe('the table', () => {
  const table = new Map<string, AdminState>([
    [tableKey('app', '10.0.0.5:8000'), s('draining')],
    [tableKey('app', 'unix:/run/app.sock'), s('active', 7)],
    [tableKey('old', '10.0.0.9:80'), s('disabled')],
  ])

  it('round-trips through IPC entries', () => {
    const entries = toEntries(table)
    expect(entries).toContainEqual({ upstream: 'app', server: 'unix:/run/app.sock', mode: 'active', weight: 7 })
    expect(fromEntries(JSON.parse(JSON.stringify(entries)) as typeof entries)).toEqual(table)
  })

  it('looks a server up, ACTIVE when absent', () => {
    expect(stateIn(table, 'app', '10.0.0.5:8000')).toEqual(s('draining'))
    expect(stateIn(table, 'app', '10.0.0.6:8000')).toBe(ACTIVE)
  })

  it('a reload keeps the entries of servers still in the config, and says which it dropped', () => {
    const config = new Map([['app', new Set(['10.0.0.5:8000', '10.0.0.6:8000'])]])
    const { kept, dropped } = keepFor(table, (u) => config.get(u))
    expect([...kept.keys()]).toEqual([tableKey('app', '10.0.0.5:8000')])
    expect(dropped.map((e) => `${e.upstream} ${e.server}`)).toEqual(['app unix:/run/app.sock', 'old 10.0.0.9:80'])
  })
})
