// The retry keys of an upstream (issue #16 item 9): `retry_on`, the failures that may be
// tried again (core/retry-on.ts says what each means), and `retry_budget`, the cap on
// retries as a share of requests (core/retry-budget.ts). `retries` (how many extra
// attempts) stays in upstreams.ts.

import { DEFAULTS } from './defaults.js'
import { checkMap, readInt, readList } from './fields.js'
import type { Cursor } from './fields.js'
import { describe } from './problems.js'
import { DEFAULT_RETRY_ON, RETRY_ON, type RetryOn } from '../core/retry-on.js'
import type { RetryBudgetConfig } from './types.js'

const RETRY_BUDGET_KEYS = ['ratio', 'min_per_second']

/** A list of RETRY_ON names; a status may be written as a number (502) or a string ("502"). `[]`: never retry. */
export function readRetryOn(c: Cursor): readonly RetryOn[] {
  if (c.absent) return DEFAULT_RETRY_ON
  const out: RetryOn[] = []
  for (const item of readList(c, 0, 'condition')) {
    const v = typeof item.value === 'number' ? String(item.value) : item.value
    if (typeof v === 'string' && (RETRY_ON as readonly string[]).includes(v)) {
      if (!out.includes(v as RetryOn)) out.push(v as RetryOn)
      continue
    }
    item.report(`must be one of ${RETRY_ON.join(', ')} (got ${describe(item.value)})`)
  }
  return out
}

export function readRetryBudget(c: Cursor): RetryBudgetConfig {
  const d = DEFAULTS.retryBudget
  if (c.absent) return d
  checkMap(c, RETRY_BUDGET_KEYS)
  return {
    ratio: readRatio(c.field('ratio'), d.ratio),
    minPerSecond: readInt(c.field('min_per_second'), { min: 0, max: 1_000_000 }, d.minPerSecond),
  }
}

function readRatio(c: Cursor, def: number): number {
  if (c.absent) return def
  const v = c.value
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1) return v
  c.report(`must be a number from 0 to 1, the share of requests that may be retried, such as 0.2 (got ${describe(v)})`)
  return NaN
}
