// Readers for single config values. Each one reports what is wrong with the value at its
// cursor and still returns something of the right type, so validation can go on and
// collect every problem in the file. Invalid values come back as NaN / "" placeholders,
// which cross-checks (duplicate ports, unknown upstreams) skip; a config with problems is
// never returned, so a placeholder can never reach the daemon.

import { MAX_TIMER_MS, parseDuration } from './duration.js'
import { describe } from './problems.js'
import { parseSize } from './size.js'
import type { Problems } from './problems.js'
import type { Path } from './yaml-source.js'

/** Marks a key without a default. */
export const REQUIRED = Symbol('required')
type Default<T> = T | typeof REQUIRED

/** Where we are in the document: a key path and the plain value found there. */
export class Cursor {
  constructor(
    readonly problems: Problems,
    readonly path: Path,
    readonly value: unknown,
    /** Set under a value that is not a map: its problem is already reported, say nothing more. */
    readonly silent = false,
  ) {}

  /** Absent or written as an empty value (`key:` / `key: null`): the default applies. */
  get absent(): boolean {
    return this.value === undefined || this.value === null
  }

  /** The value under `key` of this map (keys are usually strings; YAML allows others). */
  field(key: unknown): Cursor {
    const value = this.value instanceof Map ? this.value.get(key) : undefined
    const silent = this.silent || !(this.value instanceof Map || this.absent)
    return new Cursor(this.problems, [...this.path, key], value, silent)
  }

  /** The `index`-th item of this list. */
  item(index: number): Cursor {
    const value = Array.isArray(this.value) ? (this.value[index] as unknown) : undefined
    return new Cursor(this.problems, [...this.path, index], value, this.silent)
  }

  report(message: string): void {
    if (!this.silent) this.problems.at(this.path, message)
  }

  /** Reports that this required key is missing; returns `placeholder` for the caller to go on with. */
  missing<T>(placeholder: T, message?: string): T {
    if (!this.silent) this.problems.missing(this.path, message)
    return placeholder
  }
}

/**
 * Checks that the value is a map whose keys are all in `known`; unknown keys are errors
 * (a typo such as `sevrers` must not be silently ignored). Absent is fine: the caller
 * fills in defaults. Returns false when the value is present but not a map.
 */
export function checkMap(c: Cursor, known: readonly string[]): boolean {
  c.problems.onMap?.(c.path, known)
  if (c.absent || c.silent) return true
  if (!(c.value instanceof Map)) {
    c.report(`must be a map with the keys ${known.join(', ')} (got ${describe(c.value)})`)
    return false
  }
  for (const key of c.value.keys()) {
    if (typeof key === 'string' && known.includes(key)) continue
    const hint = suggest(String(key), known)
    c.problems.atKey([...c.path, key], `unknown key "${String(key)}"${hint ? `; did you mean "${hint}"?` : ''}`)
  }
  return true
}

/** The items of a list with at least `min` entries (`noun` names one item in messages). */
export function readList(c: Cursor, min: number, noun: string): Cursor[] {
  if (c.silent) return []
  if (c.absent) {
    if (min > 0) c.missing(null)
    return []
  }
  if (!Array.isArray(c.value)) {
    c.report(`must be a list (got ${describe(c.value)})`)
    return []
  }
  if (c.value.length < min) c.report(`must list at least ${min === 1 ? 'one' : min} ${noun}`)
  return c.value.map((_, i) => c.item(i))
}

export function readInt(c: Cursor, range: { min: number; max?: number }, def: Default<number>): number {
  if (c.absent) return def === REQUIRED ? c.missing(NaN) : def
  const v = c.value
  // Safe integers only: 1e40 or 0x7fffffffffffffff are integers to JavaScript, not counts.
  const max = range.max ?? Number.MAX_SAFE_INTEGER
  const inRange = typeof v === 'number' && Number.isSafeInteger(v) && v >= range.min && v <= max
  if (inRange) return v
  const wanted = range.max === undefined ? `an integer >= ${range.min}` : `an integer from ${range.min} to ${range.max}`
  c.report(`must be ${wanted} (got ${describe(v)})`)
  return NaN
}

export function readString(c: Cursor, def: Default<string>): string {
  if (c.absent) return def === REQUIRED ? c.missing('') : def
  if (typeof c.value === 'string' && c.value !== '') return c.value
  c.report(c.value === '' ? 'must not be empty' : `must be a string (got ${describe(c.value)})`)
  return ''
}

export function readBool(c: Cursor, def: boolean): boolean {
  if (c.absent) return def
  if (typeof c.value === 'boolean') return c.value
  c.report(`must be true or false (got ${describe(c.value)})`)
  return def
}

export function readEnum<T extends string>(c: Cursor, allowed: readonly T[], def: T): T {
  if (c.absent) return def
  if (typeof c.value === 'string' && (allowed as readonly string[]).includes(c.value)) return c.value as T
  c.report(`must be one of ${allowed.join(', ')} (got ${describe(c.value)})`)
  return def
}

/** A duration string ("2s", "250ms") -> milliseconds; must be > 0 and fit a Node.js timer. */
export function readDuration(c: Cursor, defMs: number): number {
  if (c.absent) return defMs
  const v = c.value
  if (typeof v === 'number') {
    c.report(`needs a unit: write it like "2s" or "250ms", not a bare number (got ${v})`)
    return NaN
  }
  const ms = typeof v === 'string' ? parseDuration(v) : undefined
  if (ms === undefined) {
    c.report(`must be a duration with a unit (ms, s, m or h) such as "2s" or "250ms" (got ${describe(v)})`)
    return NaN
  }
  if (ms <= 0) {
    c.report('must be greater than 0')
    return NaN
  }
  if (ms > MAX_TIMER_MS) {
    c.report('must be at most 596h (the longest delay a Node.js timer supports)')
    return NaN
  }
  return ms
}

/** The known key a typo most likely meant, if one is close enough. */
export function suggest(key: string, known: readonly string[]): string | undefined {
  const squash = (s: string): string => s.toLowerCase().replace(/[-_]/g, '')
  // camelCase or kebab-case spelling of a snake_case key ("accessLog" for "access_log").
  const same = known.find((k) => squash(k) === squash(key))
  if (same !== undefined) return same
  let best: string | undefined
  let bestDistance = Math.max(1, Math.floor(key.length / 3)) + 1
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k)
    if (d < bestDistance) [best, bestDistance] = [k, d]
  }
  return best
}

/** Optimal string alignment distance: Levenshtein where swapping two neighbours costs 1. */
function editDistance(a: string, b: string): number {
  // rows[i][j] = distance between the first i characters of a and the first j of b.
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => Math.max(i, j)))
  const at = (i: number, j: number): number => rows[i]?.[j] ?? Infinity
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i] ?? []
    for (let j = 1; j <= b.length; j++) {
      const substitute = at(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1)
      const swap = i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1] ? at(i - 2, j - 2) + 1 : Infinity
      row[j] = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, substitute, swap)
    }
  }
  return at(a.length, b.length)
}

/** A size in bytes (`512`, `"16k"`, `"10m"`, `"1g"`) within [min, max]. */
export function readSize(c: Cursor, def: number, range: { min: number; max: number }): number {
  if (c.absent) return def
  const bytes = typeof c.value === 'string' || typeof c.value === 'number' ? parseSize(c.value) : undefined
  if (bytes === undefined) {
    c.report(`must be a size: a number of bytes, or with a unit k, m or g such as "16k" or "10m" (got ${describe(c.value)})`)
    return NaN
  }
  if (bytes < range.min || bytes > range.max) {
    c.report(`must be between ${range.min} and ${range.max} bytes (got ${bytes})`)
    return NaN
  }
  return bytes
}
