// Health of one server as an immutable value, and the pure transitions on it.
//
// Two independent sources of evidence keep two separate flags, as Envoy's health flags
// do: active checks (probes on `health_check.path`) and passive results (how real
// requests fare). The state an operator sees is derived from both by stateOf(), so one
// source can never overwrite what the other decided: a server that fails its probes
// while also ejected stays unhealthy when the ejection ends, and vice versa.
//
// Nothing here does I/O, reads a clock or starts a timer: time (`now`, in ms) comes
// in as an argument, so every sequence of events is a plain table test. The shell
// owns the timers (probe interval, end of an ejection) and calls in.
//
// Every transition returns a Step: the new value, whether the derived state changed
// (only those are logged, once, with `reason`) and the reason. `reason` is also set
// for transitions that keep the derived state (an ejection ending in a trial, a
// failed trial request re-ejecting with a longer duration) so the shell may log them at
// a lower level; it is '' when only a counter moved.
//
// Speed: passiveSuccess runs on every response, so its common case (no failures, not
// trialOpen) returns a Step whose `health` is the very same object, and allocates
// nothing: each Health value made here memoises its own "unchanged" Step on first use.
// Counters saturate at their threshold, so a steady stream of equal probe results also
// returns the same object. Nothing is frozen (cost), and no input is ever mutated.

import type { HealthCheckConfig, PassiveHealthConfig, StatusRanges } from '../config/types.js'

export type ServerState = 'healthy' | 'unhealthy' | 'ejected' | 'draining'

/** Active checks. Consecutive counts; each saturates at its threshold. */
export interface ActiveHealth {
  readonly healthy: boolean
  readonly successes: number
  readonly failures: number
}

export interface PassiveHealth {
  /** Consecutive passive failures (connect errors, resets, timeouts). */
  readonly failures: number
  /** Reason of the last failure ('' when none). */
  readonly reason: string
  /** All `failures` had that same reason. */
  readonly sameReason: boolean
  /** ms timestamp; 0 = not ejected. Stays set during the trial. */
  readonly ejectedUntil: number
  /** Ejections in a row without a successful trial (drives the backoff). */
  readonly ejections: number
  /** The ejection is over: one trial request may go. */
  readonly trialOpen: boolean
  /** That trial request is on its way. */
  readonly trialInFlight: boolean
}

export interface Health {
  readonly active: ActiveHealth
  readonly passive: PassiveHealth
  readonly draining: boolean
}

export interface Step {
  readonly health: Health
  /** The derived ServerState differs before/after: log it. */
  readonly changed: boolean
  /** Why, for the log line ('' when only a counter moved). */
  readonly reason: string
}

/**
 * The one Health implementation. A class only so each value can hold a private memo of
 * its "nothing happened" Step: private fields are not properties, so JSON.stringify
 * (the /status page) and structural test equality see just the three public fields.
 */
class HealthValue implements Health {
  readonly active: ActiveHealth
  readonly passive: PassiveHealth
  readonly draining: boolean
  #unchanged: Step | undefined = undefined

  constructor(active: ActiveHealth, passive: PassiveHealth, draining: boolean) {
    this.active = active
    this.passive = passive
    this.draining = draining
  }

  unchanged(): Step {
    return (this.#unchanged ??= { health: this, changed: false, reason: '' })
  }
}

/** A Step that leaves `h` as it is. Allocation-free for values made by this module. */
function unchanged(h: Health): Step {
  return h instanceof HealthValue ? h.unchanged() : { health: h, changed: false, reason: '' }
}

function step(before: Health, active: ActiveHealth, passive: PassiveHealth, draining: boolean, reason: string): Step {
  const health = new HealthValue(active, passive, draining)
  return { health, changed: stateOf(before) !== stateOf(health), reason }
}

const ACTIVE_HEALTHY: ActiveHealth = { healthy: true, successes: 0, failures: 0 }

const PASSIVE_CLEAR: PassiveHealth = {
  failures: 0,
  reason: '',
  sameReason: true,
  ejectedUntil: 0,
  ejections: 0,
  trialOpen: false,
  trialInFlight: false,
}

/** Healthy: a server is not taken out before there is any evidence against it. */
export const initialHealth: Health = new HealthValue(ACTIVE_HEALTHY, PASSIVE_CLEAR, false)

// ---------------------------------------------------------------------------------
// Active checks

const plural = (n: number, word: string, many: string): string => `${n} consecutive ${n === 1 ? word : many}`

/**
 * One probe result. Hysteresis both ways: a healthy server goes unhealthy after
 * `unhealthyThreshold` failures in a row, an unhealthy one comes back after
 * `healthyThreshold` successes in a row; a result of the other kind resets the count.
 * `detail` describes the probe ("status 500", "connect refused", "timeout after 1s").
 */
export function activeResult(
  h: Health,
  ok: boolean,
  detail: string,
  cfg: Pick<HealthCheckConfig, 'healthyThreshold' | 'unhealthyThreshold'>,
): Step {
  const a = h.active
  if (ok) {
    const successes = Math.min(a.successes + 1, cfg.healthyThreshold)
    if (successes === a.successes && a.failures === 0) return unchanged(h)
    if (!a.healthy && successes >= cfg.healthyThreshold) {
      return step(h, { healthy: true, successes, failures: 0 }, h.passive, h.draining, plural(successes, 'probe success', 'probe successes'))
    }
    return step(h, { healthy: a.healthy, successes, failures: 0 }, h.passive, h.draining, '')
  }
  const failures = Math.min(a.failures + 1, cfg.unhealthyThreshold)
  if (failures === a.failures && a.successes === 0) return unchanged(h)
  if (a.healthy && failures >= cfg.unhealthyThreshold) {
    return step(h, { healthy: false, successes: 0, failures }, h.passive, h.draining, `${plural(failures, 'probe failure', 'probe failures')}: ${detail}`)
  }
  return step(h, { healthy: a.healthy, successes: 0, failures }, h.passive, h.draining, '')
}

// ---------------------------------------------------------------------------------
// Passive results

/**
 * How long ejection number `ejections` (0-based: ejections in a row so far) lasts:
 * the base duration doubled each time, capped at 10x (1x, 2x, 4x, 8x, 10x, 10x...).
 */
export function ejectDurationMs(ejections: number, cfg: PassiveHealthConfig): number {
  const base = cfg.ejectDurationMs
  if (ejections >= 4) return base * 10 // 2^4 = 16 > 10; also keeps 2^n finite
  return ejections <= 0 ? base : base * 2 ** ejections
}

/** "250ms", "10s", "1.5s": the same units as the config file. */
function formatMs(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${ms / 1000}s`
}

/**
 * A request to the server failed in a way that says something about the server
 * (connect error, reset, timeout). `reason` names the kind, e.g. "connect refused".
 *
 * - not ejected: one more in the run; at `consecutiveFailures` the server is ejected
 *   until now + ejectDurationMs(ejections).
 * - trialOpen: the trial request failed (or a request that was still on its way did:
 *   the verdict is the same): ejected again at once, for the next, longer duration.
 * - ejected and not trialOpen: ignored. Requests already on their way when the server
 *   was ejected may still fail; they are old news.
 */
export function passiveFailure(h: Health, reason: string, now: number, cfg: PassiveHealthConfig): Step {
  const p = h.passive
  if (p.ejectedUntil !== 0 && !p.trialOpen) return unchanged(h)

  const failures = p.failures + 1
  const sameReason = p.failures === 0 || (p.sameReason && p.reason === reason)

  if (p.trialOpen) {
    const duration = ejectDurationMs(p.ejections, cfg)
    return step(
      h,
      h.active,
      { failures, reason, sameReason, ejectedUntil: now + duration, ejections: p.ejections + 1, trialOpen: false, trialInFlight: false },
      h.draining,
      `trial request failed: ${reason}; ejected for ${formatMs(duration)}`,
    )
  }

  if (failures < cfg.consecutiveFailures) {
    return step(h, h.active, { ...p, failures, reason, sameReason }, h.draining, '')
  }

  const why = failures === 1 ? reason : sameReason ? `${reason} x${failures}` : `${failures} consecutive failures, last: ${reason}`
  return step(
    h,
    h.active,
    {
      failures,
      reason,
      sameReason,
      ejectedUntil: now + ejectDurationMs(p.ejections, cfg),
      ejections: p.ejections + 1,
      trialOpen: false,
      trialInFlight: false,
    },
    h.draining,
    why,
  )
}

/**
 * A response head arrived: the server answers. Resets the failure run; during a trial
 * it ends the ejection for good (and the backoff with it). While ejected and not yet
 * in a trial it is ignored, like a failure would be: it belongs to a request that was on
 * its way before the ejection.
 *
 * Runs on every response: the common case returns the same `h`, allocation-free.
 */
export function passiveSuccess(h: Health): Step {
  const p = h.passive
  if (!p.trialOpen) {
    if (p.failures === 0 || p.ejectedUntil !== 0) return unchanged(h)
    return step(h, h.active, { ...p, failures: 0, reason: '', sameReason: true }, h.draining, '')
  }
  return step(h, h.active, PASSIVE_CLEAR, h.draining, 'trial request succeeded')
}

/**
 * The shell's timer for the end of an ejection fired: from now on one trial request
 * may go (the state stays 'ejected' until it succeeds). Too early, or not ejected, or
 * already trialOpen: nothing happens.
 */
export function ejectionOver(h: Health, now: number): Step {
  const p = h.passive
  if (p.ejectedUntil === 0 || p.trialOpen || now < p.ejectedUntil) return unchanged(h)
  return step(h, h.active, { ...p, trialOpen: true, trialInFlight: false }, h.draining, 'ejection over; one trial request may go')
}

/** The trial request was sent: no other request until it has a verdict. */
export function trialStarted(h: Health): Health {
  const p = h.passive
  if (!p.trialOpen || p.trialInFlight) return h
  return new HealthValue(h.active, { ...p, trialInFlight: true }, h.draining)
}

/** The trial request ended without a verdict (the client went away): another may go. */
export function trialAbandoned(h: Health): Health {
  const p = h.passive
  if (!p.trialInFlight) return h
  return new HealthValue(h.active, { ...p, trialInFlight: false }, h.draining)
}

// ---------------------------------------------------------------------------------
// Draining and the derived state

/** Draining (server leaving on a reload, or shutdown): no new traffic, whatever else holds. */
export function setDraining(h: Health, draining: boolean): Step {
  if (h.draining === draining) return unchanged(h)
  return step(h, h.active, h.passive, draining, draining ? 'draining' : 'no longer draining')
}

/** What operators see: draining > unhealthy (active) > ejected (passive, the trial included) > healthy. */
export function stateOf(h: Health): ServerState {
  if (h.draining) return 'draining'
  if (!h.active.healthy) return 'unhealthy'
  if (h.passive.ejectedUntil !== 0) return 'ejected'
  return 'healthy'
}

/** May a new request go to this server? While the trial is open, exactly one may. */
export function takesTraffic(h: Health): boolean {
  const p = h.passive
  return !h.draining && h.active.healthy && (p.ejectedUntil === 0 || (p.trialOpen && !p.trialInFlight))
}

/** Whether a probe's status is one of `health_check.expected_status` (inclusive ranges). */
export function statusExpected(ranges: StatusRanges, status: number): boolean {
  for (const [lo, hi] of ranges) if (status >= lo && status <= hi) return true
  return false
}
