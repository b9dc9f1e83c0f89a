// `compress: true | false | { algorithms, min_size, types, level }` on a route
// (docs/policies.md#compression). `true` takes every default; `false` (or absent) is no
// compression. The levels are the ones measured in docs/policies.md#levels: cheap enough that
// compression costs about what nginx's gzip level 1 does, and smaller output than it.
import { checkMap, readInt, readSize } from './fields.js'
import type { Cursor } from './fields.js'
import { describe } from './problems.js'
import { DEFAULT_TYPES, ENCODINGS, mediaTypeProblem, type Encoding } from '../core/policies/compression.js'
import type { CompressConfig } from './policy-types.js'

const COMPRESS_KEYS = ['algorithms', 'min_size', 'types', 'level']
const LEVEL_KEYS = ['zstd', 'br', 'gzip']

/** Each algorithm's level range (zlib's, brotli's quality, zstd's levels without the negative "fast" ones). */
const LEVEL_RANGES: Readonly<Record<Encoding, { min: number; max: number }>> = { zstd: { min: 1, max: 19 }, br: { min: 0, max: 11 }, gzip: { min: 1, max: 9 } }

export const COMPRESS_DEFAULTS = {
  algorithms: ENCODINGS,
  minSize: 1024,
  types: DEFAULT_TYPES,
  levels: { zstd: 3, br: 3, gzip: 4 } as Readonly<Record<Encoding, number>>,
} as const

export function readCompress(c: Cursor): CompressConfig | null {
  if (c.absent) return null
  if (typeof c.value === 'boolean') return c.value ? COMPRESS_DEFAULTS : null
  if (!(c.value instanceof Map)) {
    c.report(`must be true, false or a map with the keys ${COMPRESS_KEYS.join(', ')} (got ${describe(c.value)})`)
    return null
  }
  checkMap(c, COMPRESS_KEYS)
  const d = COMPRESS_DEFAULTS
  return {
    algorithms: readAlgorithms(c.field('algorithms')),
    minSize: readSize(c.field('min_size'), d.minSize, { min: 0, max: 1024 ** 3 }),
    types: readTypes(c.field('types')),
    levels: readLevels(c.field('level')),
  }
}

function readAlgorithms(c: Cursor): readonly Encoding[] {
  if (c.absent) return COMPRESS_DEFAULTS.algorithms
  if (!Array.isArray(c.value) || c.value.length === 0) {
    c.report(`must be a non-empty list of ${ENCODINGS.join(', ')}, most preferred first (got ${describe(c.value)})`)
    return COMPRESS_DEFAULTS.algorithms
  }
  const out: Encoding[] = []
  c.value.forEach((v: unknown, i) => {
    const item = c.item(i)
    if (!(ENCODINGS as readonly unknown[]).includes(v)) item.report(`must be one of ${ENCODINGS.join(', ')} (got ${describe(v)})`)
    else if (out.includes(v as Encoding)) item.report(`"${String(v)}" is listed twice`)
    else out.push(v as Encoding)
  })
  return out
}

function readTypes(c: Cursor): readonly string[] {
  if (c.absent) return COMPRESS_DEFAULTS.types
  if (!Array.isArray(c.value) || c.value.length === 0) {
    c.report(`must be a non-empty list of media types such as "application/json" or "text/*" (got ${describe(c.value)})`)
    return []
  }
  const out: string[] = []
  c.value.forEach((v: unknown, i) => {
    const item = c.item(i)
    const problem = typeof v === 'string' ? mediaTypeProblem(v.trim()) : `must be a media type such as "application/json" (got ${describe(v)})`
    if (problem !== undefined) item.report(problem)
    else out.push((v as string).trim().toLowerCase())
  })
  return out
}

function readLevels(c: Cursor): Readonly<Record<Encoding, number>> {
  const d = COMPRESS_DEFAULTS.levels
  if (c.absent || !checkMap(c, LEVEL_KEYS) || !(c.value instanceof Map)) return d
  const level = (e: Encoding): number => readInt(c.field(e), LEVEL_RANGES[e], d[e])
  return { zstd: level('zstd'), br: level('br'), gzip: level('gzip') }
}
