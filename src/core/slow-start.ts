// Slow start (`slow_start: 30s`): a server that joins (added by a reload, or back from
// being unhealthy or ejected) ramps linearly from ~0 to its weight over the duration,
// like nginx Plus's slow_start and Envoy's slow_start_window, so a cold server (empty
// caches, JIT not warm, connection pools to its database not open) is not handed its
// full share at once.
//
// Balancers compare weights as integers, and a weight-1 server can not ramp between
// 0 and 1: an upstream with slow_start therefore gives its balancer every weight times
// SCALE (the balancers only compare weights with each other, so this changes no share),
// and a ramping server's weight moves from 1 to weight * SCALE. The shell updates the
// ramping members' weights on a timer tick (rampTickMs), never per request.

export const SLOW_START_SCALE = 100

/** The weight the balancer sees `elapsedMs` into a ramp of `durationMs` (already scaled). */
export function rampWeight(weight: number, elapsedMs: number, durationMs: number): number {
  const full = weight * SLOW_START_SCALE
  if (elapsedMs >= durationMs || durationMs <= 0) return full
  return Math.max(1, Math.floor((full * Math.max(0, elapsedMs)) / durationMs))
}

/** How often ramping weights are updated: 1/50 of the ramp, between 50 ms and 1 s. */
export function rampTickMs(durationMs: number): number {
  return Math.min(1000, Math.max(50, Math.floor(durationMs / 50)))
}
