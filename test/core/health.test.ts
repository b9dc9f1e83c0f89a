import { describe, expect, it } from 'vitest'
import type { PassiveHealthConfig } from '../../src/config/types.js'
import {
  activeResult,
  ejectDurationMs,
  ejectionOver,
  initialHealth,
  passiveFailure,
  passiveSuccess,
  trialAbandoned,
  trialStarted,
  setDraining,
  stateOf,
  takesTraffic,
  type Health,
  type ServerState,
  type Step,
} from '../../src/core/health.js'

const ACTIVE = { healthyThreshold: 2, unhealthyThreshold: 3 }
const PASSIVE: PassiveHealthConfig = { consecutiveFailures: 3, ejectDurationMs: 10_000 }

// One event of a sequence. Time is explicit: `fail` and `over` carry `now` in ms.
type Event =
  | readonly ['probe', boolean, string] // active check result, detail
  | readonly ['fail', string, number] // passive failure: reason, now
  | readonly ['ok'] // passive success (a response head arrived)
  | readonly ['over', number] // the ejection timer fired at now
  | readonly ['start'] // trial request sent
  | readonly ['abandon'] // trial request ended without a verdict
  | readonly ['drain', boolean]

// After each event: derived state, takesTraffic, Step.changed, Step.reason.
type Row = readonly [Event, ServerState, boolean, boolean, string]

interface Cfg {
  readonly active: typeof ACTIVE
  readonly passive: PassiveHealthConfig
}

function apply(h: Health, e: Event, cfg: Cfg): Step {
  switch (e[0]) {
    case 'probe':
      return activeResult(h, e[1], e[2], cfg.active)
    case 'fail':
      return passiveFailure(h, e[1], e[2], cfg.passive)
    case 'ok':
      return passiveSuccess(h)
    case 'over':
      return ejectionOver(h, e[1])
    case 'start':
      return { health: trialStarted(h), changed: false, reason: '' }
    case 'abandon':
      return { health: trialAbandoned(h), changed: false, reason: '' }
    case 'drain':
      return setDraining(h, e[1])
  }
}

/** Runs the rows from `start`, checking each; returns every health value along the way. */
function run(rows: readonly Row[], start: Health = initialHealth, cfg: Cfg = { active: ACTIVE, passive: PASSIVE }): Health[] {
  const seen: Health[] = []
  let h = start
  rows.forEach(([event, state, takes, changed, reason], i) => {
    const s = apply(h, event, cfg)
    h = s.health
    seen.push(h)
    const where = `row ${i}: ${JSON.stringify(event)}`
    expect({ state: stateOf(h), takes: takesTraffic(h), changed: s.changed, reason: s.reason }, where).toEqual({
      state,
      takes,
      changed,
      reason,
    })
  })
  return seen
}

const last = (hs: readonly Health[]): Health => hs[hs.length - 1] as Health

/** Three same-reason failures at t, t+1, t+2: ejected until t+2 + duration. */
const ejectRows = (t: number, reason = 'connect refused'): Row[] => [
  [['fail', reason, t], 'healthy', true, false, ''],
  [['fail', reason, t + 1], 'healthy', true, false, ''],
  [['fail', reason, t + 2], 'ejected', false, true, `${reason} x3`],
]

describe('initialHealth', () => {
  it('starts healthy and takes traffic', () => {
    expect(stateOf(initialHealth)).toBe('healthy')
    expect(takesTraffic(initialHealth)).toBe(true)
    expect(initialHealth.passive.ejectedUntil).toBe(0)
  })

  it('serialises to just its three fields (the /status page)', () => {
    expect(Object.keys(JSON.parse(JSON.stringify(initialHealth)) as object)).toEqual(['active', 'passive', 'draining'])
  })
})

describe('active checks', () => {
  it('hysteresis down: failures below the threshold keep a healthy server in; a success resets the count', () => {
    run([
      [['probe', false, 'status 500'], 'healthy', true, false, ''],
      [['probe', false, 'status 500'], 'healthy', true, false, ''],
      [['probe', true, 'status 200'], 'healthy', true, false, ''],
      [['probe', false, 'status 500'], 'healthy', true, false, ''],
      [['probe', false, 'timeout after 1s'], 'healthy', true, false, ''],
      [['probe', false, 'connect refused'], 'unhealthy', false, true, '3 consecutive probe failures: connect refused'],
      [['probe', false, 'connect refused'], 'unhealthy', false, false, ''],
    ])
  })

  it('hysteresis up: a single success does not bring an unhealthy server back; a failure resets the count', () => {
    const down = last(run([
      [['probe', false, 'status 500'], 'healthy', true, false, ''],
      [['probe', false, 'status 500'], 'healthy', true, false, ''],
      [['probe', false, 'status 500'], 'unhealthy', false, true, '3 consecutive probe failures: status 500'],
    ]))
    run(
      [
        [['probe', true, 'status 200'], 'unhealthy', false, false, ''],
        [['probe', false, 'status 503'], 'unhealthy', false, false, ''],
        [['probe', true, 'status 200'], 'unhealthy', false, false, ''],
        [['probe', true, 'status 200'], 'healthy', true, true, '2 consecutive probe successes'],
        [['probe', true, 'status 200'], 'healthy', true, false, ''],
      ],
      down,
    )
  })

  it('thresholds of 1: one result flips the state', () => {
    const cfg = { active: { healthyThreshold: 1, unhealthyThreshold: 1 }, passive: PASSIVE }
    run(
      [
        [['probe', false, 'timeout after 1s'], 'unhealthy', false, true, '1 consecutive probe failure: timeout after 1s'],
        [['probe', true, 'status 200'], 'healthy', true, true, '1 consecutive probe success'],
        [['probe', false, 'status 500'], 'unhealthy', false, true, '1 consecutive probe failure: status 500'],
      ],
      initialHealth,
      cfg,
    )
  })

  it('a steady stream of equal results returns the same object once the count saturates', () => {
    let h = initialHealth
    for (let i = 0; i < 5; i++) h = activeResult(h, true, 'status 200', ACTIVE).health
    const s = activeResult(h, true, 'status 200', ACTIVE)
    expect(s.health).toBe(h)
    expect(s.changed).toBe(false)

    for (let i = 0; i < 5; i++) h = activeResult(h, false, 'status 500', ACTIVE).health
    expect(stateOf(h)).toBe('unhealthy')
    expect(activeResult(h, false, 'connect refused', ACTIVE).health).toBe(h)
  })
})

describe('passive ejection', () => {
  it('N failures with the same reason eject: "<reason> xN", until now + eject_duration', () => {
    const hs = run(ejectRows(1000))
    expect(last(hs).passive).toMatchObject({ ejectedUntil: 11_002, ejections: 1, trialOpen: false, failures: 3, sameReason: true })
  })

  it('mixed reasons: "N consecutive failures, last: <reason>"', () => {
    run([
      [['fail', 'connect refused', 0], 'healthy', true, false, ''],
      [['fail', 'reset', 1], 'healthy', true, false, ''],
      [['fail', 'reset', 2], 'ejected', false, true, '3 consecutive failures, last: reset'],
    ])
  })

  it('a success in the middle resets the count', () => {
    run([
      [['fail', 'reset', 0], 'healthy', true, false, ''],
      [['fail', 'reset', 1], 'healthy', true, false, ''],
      [['ok'], 'healthy', true, false, ''],
      [['fail', 'timeout', 3], 'healthy', true, false, ''],
      [['fail', 'timeout', 4], 'healthy', true, false, ''],
      [['fail', 'timeout', 5], 'ejected', false, true, 'timeout x3'],
    ])
  })

  it('the success also forgets the earlier reasons', () => {
    run([
      [['fail', 'reset', 0], 'healthy', true, false, ''],
      [['ok'], 'healthy', true, false, ''],
      [['fail', 'timeout', 2], 'healthy', true, false, ''],
      [['fail', 'timeout', 3], 'healthy', true, false, ''],
      [['fail', 'timeout', 4], 'ejected', false, true, 'timeout x3'],
    ])
  })

  it('consecutive_failures 1: the first failure ejects, reason as is', () => {
    const cfg = { active: ACTIVE, passive: { consecutiveFailures: 1, ejectDurationMs: 5000 } }
    const hs = run([[['fail', 'reset', 100], 'ejected', false, true, 'reset']], initialHealth, cfg)
    expect(last(hs).passive.ejectedUntil).toBe(5100)
  })

  it('while ejected and no trial open, late failures and successes are ignored (same object)', () => {
    const h = last(run(ejectRows(0)))
    const f = passiveFailure(h, 'reset', 5, PASSIVE)
    expect(f).toMatchObject({ health: h, changed: false, reason: '' })
    expect(f.health).toBe(h)
    // Even past ejectedUntil: only ejectionOver opens the door.
    expect(passiveFailure(h, 'reset', 50_000, PASSIVE).health).toBe(h)
    expect(passiveSuccess(h).health).toBe(h)
  })
})

describe('ejection over -> one trial request', () => {
  it('too early is a no-op; then exactly one trial; its success restores the server and the backoff', () => {
    const ejected = last(run(ejectRows(0))) // ejected until 10_002
    const hs = run(
      [
        [['over', 10_001], 'ejected', false, false, ''],
        [['over', 10_002], 'ejected', true, false, 'ejection over; one trial request may go'],
        [['over', 10_003], 'ejected', true, false, ''], // the trial is open already
        [['start'], 'ejected', false, false, ''],
        [['ok'], 'healthy', true, true, 'trial request succeeded'],
      ],
      ejected,
    )
    expect(ejectionOver(ejected, 10_001).health).toBe(ejected)
    expect(last(hs).passive).toEqual({
      failures: 0,
      reason: '',
      sameReason: true,
      ejectedUntil: 0,
      ejections: 0,
      trialOpen: false,
      trialInFlight: false,
    })
    // The next ejection starts from the base duration again.
    const again = last(run(ejectRows(20_000), last(hs)))
    expect(again.passive.ejectedUntil).toBe(20_002 + 10_000)
  })

  it('a failed trial ejects again at once with the doubled duration; backoff caps at 10x', () => {
    const ejected = last(run(ejectRows(0))) // until 10_002, ejections 1
    const trialFails = (t: number, secs: number): Row[] => [
      [['over', t], 'ejected', true, false, 'ejection over; one trial request may go'],
      [['start'], 'ejected', false, false, ''],
      [['fail', 'reset', t + 50], 'ejected', false, false, `trial request failed: reset; ejected for ${secs}s`],
    ]
    let h = ejected
    let t = 10_002
    for (const secs of [20, 40, 80, 100, 100, 100]) {
      h = last(run(trialFails(t, secs), h))
      expect(h.passive.ejectedUntil).toBe(t + 50 + secs * 1000)
      expect(h.passive.trialOpen).toBe(false)
      // Too early for the next trial.
      expect(ejectionOver(h, h.passive.ejectedUntil - 1).health).toBe(h)
      t = h.passive.ejectedUntil
    }
    expect(h.passive.ejections).toBe(7)
    h = last(run(
      [
        [['over', t], 'ejected', true, false, 'ejection over; one trial request may go'],
        [['start'], 'ejected', false, false, ''],
        [['ok'], 'healthy', true, true, 'trial request succeeded'],
      ],
      h,
    ))
    expect(h.passive.ejections).toBe(0)
  })

  it('an abandoned trial (client went away) lets the next request be the trial', () => {
    const ejected = last(run(ejectRows(0)))
    run(
      [
        [['over', 10_002], 'ejected', true, false, 'ejection over; one trial request may go'],
        [['start'], 'ejected', false, false, ''],
        [['start'], 'ejected', false, false, ''],
        [['abandon'], 'ejected', true, false, ''],
        [['abandon'], 'ejected', true, false, ''],
        [['start'], 'ejected', false, false, ''],
        [['fail', 'connect refused', 10_100], 'ejected', false, false, 'trial request failed: connect refused; ejected for 20s'],
      ],
      ejected,
    )
  })

  it('during a trial, a late failure (trial not yet sent) re-ejects too', () => {
    const ejected = last(run(ejectRows(0)))
    run(
      [
        [['over', 10_002], 'ejected', true, false, 'ejection over; one trial request may go'],
        [['fail', 'timeout', 10_010], 'ejected', false, false, 'trial request failed: timeout; ejected for 20s'],
      ],
      ejected,
    )
  })

  it('trialStarted / trialAbandoned return the same object when there is nothing to do', () => {
    expect(trialStarted(initialHealth)).toBe(initialHealth)
    expect(trialAbandoned(initialHealth)).toBe(initialHealth)
    const ejected = last(run(ejectRows(0)))
    expect(trialStarted(ejected)).toBe(ejected) // no trial yet
    const inFlight = trialStarted(ejectionOver(ejected, 10_002).health)
    expect(trialStarted(inFlight)).toBe(inFlight)
  })
})

describe('ejectDurationMs', () => {
  it.each([
    [0, 10_000],
    [1, 20_000],
    [2, 40_000],
    [3, 80_000],
    [4, 100_000],
    [5, 100_000],
    [6, 100_000],
    [1000, 100_000],
  ])('ejections %i -> %i ms', (n, ms) => {
    expect(ejectDurationMs(n, PASSIVE)).toBe(ms)
  })

  it('non-round bases are formatted in the reason as in the config', () => {
    const cfg = { active: ACTIVE, passive: { consecutiveFailures: 1, ejectDurationMs: 750 } }
    run(
      [
        [['fail', 'reset', 0], 'ejected', false, true, 'reset'],
        [['over', 750], 'ejected', true, false, 'ejection over; one trial request may go'],
        [['fail', 'reset', 800], 'ejected', false, false, 'trial request failed: reset; ejected for 1.5s'],
        [['over', 2300], 'ejected', true, false, 'ejection over; one trial request may go'],
        [['fail', 'reset', 2300], 'ejected', false, false, 'trial request failed: reset; ejected for 3s'],
      ],
      initialHealth,
      cfg,
    )
  })
})

describe('derived state', () => {
  it('draining overrides everything, and ending it shows what lies beneath', () => {
    run([
      [['drain', true], 'draining', false, true, 'draining'],
      [['drain', true], 'draining', false, false, ''],
      [['probe', false, 'status 500'], 'draining', false, false, ''],
      [['probe', false, 'status 500'], 'draining', false, false, ''],
      [['probe', false, 'status 500'], 'draining', false, false, '3 consecutive probe failures: status 500'],
      [['fail', 'reset', 0], 'draining', false, false, ''],
      [['fail', 'reset', 1], 'draining', false, false, ''],
      [['fail', 'reset', 2], 'draining', false, false, 'reset x3'],
      [['drain', false], 'unhealthy', false, true, 'no longer draining'],
    ])
  })

  it('draining a server in its trial: no trial goes', () => {
    const trial = ejectionOver(last(run(ejectRows(0))), 10_002).health
    expect(takesTraffic(trial)).toBe(true)
    run([[['drain', true], 'draining', false, true, 'draining']], trial)
  })

  it('active unhealthy + passive ejected: unhealthy wins; each recovers on its own evidence', () => {
    const ejected = last(run(ejectRows(0)))
    run(
      [
        [['probe', false, 'status 500'], 'ejected', false, false, ''],
        [['probe', false, 'status 500'], 'ejected', false, false, ''],
        [['probe', false, 'status 500'], 'unhealthy', false, true, '3 consecutive probe failures: status 500'],
        // The ejection ends, but the active flag still keeps traffic away.
        [['over', 10_002], 'unhealthy', false, false, 'ejection over; one trial request may go'],
        [['probe', true, 'status 200'], 'unhealthy', false, false, ''],
        [['probe', true, 'status 200'], 'ejected', true, true, '2 consecutive probe successes'],
        [['start'], 'ejected', false, false, ''],
        [['ok'], 'healthy', true, true, 'trial request succeeded'],
      ],
      ejected,
    )
  })

  it('unhealthy first, then ejected: the shown state does not change', () => {
    const down = last(run([
      [['probe', false, 'status 500'], 'healthy', true, false, ''],
      [['probe', false, 'status 500'], 'healthy', true, false, ''],
      [['probe', false, 'status 500'], 'unhealthy', false, true, '3 consecutive probe failures: status 500'],
    ]))
    run(
      [
        [['fail', 'reset', 0], 'unhealthy', false, false, ''],
        [['fail', 'reset', 1], 'unhealthy', false, false, ''],
        [['fail', 'reset', 2], 'unhealthy', false, false, 'reset x3'],
        [['probe', true, 'status 200'], 'unhealthy', false, false, ''],
        [['probe', true, 'status 200'], 'ejected', false, true, '2 consecutive probe successes'],
      ],
      down,
    )
  })
})

describe('passiveSuccess fast path', () => {
  it('returns the identical object (and the identical Step) when there is nothing to do', () => {
    const a = passiveSuccess(initialHealth)
    expect(a.health).toBe(initialHealth)
    expect(a.changed).toBe(false)
    expect(a.reason).toBe('')
    expect(passiveSuccess(initialHealth)).toBe(a) // no allocation: the Step is memoised

    const h = activeResult(initialHealth, true, 'status 200', ACTIVE).health
    expect(passiveSuccess(h).health).toBe(h)
  })

  it('after a reset, the new value is again a fixed point', () => {
    const failed = passiveFailure(initialHealth, 'reset', 0, PASSIVE).health
    const s = passiveSuccess(failed)
    expect(s.health).not.toBe(failed)
    expect(s.changed).toBe(false)
    expect(s.health.passive.failures).toBe(0)
    expect(passiveSuccess(s.health).health).toBe(s.health)
  })

  it('works on a Health built outside the module (plain object)', () => {
    const plain: Health = JSON.parse(JSON.stringify(initialHealth)) as Health
    const s = passiveSuccess(plain)
    expect(s.health).toBe(plain)
    expect(s.changed).toBe(false)
  })
})

describe('immutability', () => {
  it('never mutates its inputs', () => {
    const events: Event[] = [
      ['probe', false, 'status 500'],
      ['fail', 'reset', 0],
      ['fail', 'reset', 1],
      ['ok'],
      ['fail', 'reset', 2],
      ['fail', 'reset', 3],
      ['fail', 'reset', 4],
      ['over', 20_000],
      ['start'],
      ['abandon'],
      ['start'],
      ['fail', 'timeout', 20_001],
      ['over', 60_001],
      ['ok'],
      ['drain', true],
      ['drain', false],
    ]
    let h = initialHealth
    const cfg = { active: ACTIVE, passive: PASSIVE }
    for (const e of events) {
      const before = JSON.stringify(h)
      const next = apply(h, e, cfg).health
      expect(JSON.stringify(h), JSON.stringify(e)).toBe(before)
      h = next
    }
    expect(stateOf(h)).toBe('healthy')
    expect(JSON.stringify(initialHealth)).toBe(JSON.stringify({
      active: { healthy: true, successes: 0, failures: 0 },
      passive: { failures: 0, reason: '', sameReason: true, ejectedUntil: 0, ejections: 0, trialOpen: false, trialInFlight: false },
      draining: false,
    }))
  })
})
