// `rate_limit: { requests, per, burst, key, store, max_keys, redis }` (docs/policies.md#rate-limits).
import { checkMap, readDuration, readEnum, readInt, readString, REQUIRED } from './fields.js'
import type { Cursor } from './fields.js'
import { describe } from './problems.js'
import { redisUrlProblem } from './caches.js'
import type { RateLimitConfig } from './policy-types.js'

const KEYS = ['requests', 'per', 'burst', 'key', 'store', 'max_keys', 'redis']
const REDIS_KEYS = ['url', 'key_prefix', 'timeout']
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

export const RATE_LIMIT_DEFAULTS = { perMs: 1000, burst: 0, maxKeys: 100_000, keyPrefix: 'switchyard:rl:', redisTimeoutMs: 100 } as const

export function readRateLimit(c: Cursor): RateLimitConfig | null {
  if (c.absent || !checkMap(c, KEYS) || !(c.value instanceof Map)) return null
  const d = RATE_LIMIT_DEFAULTS
  const store = readEnum(c.field('store'), ['memory', 'redis'] as const, 'memory')
  const redisCursor = c.field('redis')
  let redis: RateLimitConfig['redis'] = null
  if (store === 'redis') {
    if (redisCursor.absent) redisCursor.missing(null, 'required with store: redis (at least `url`)')
    else if (checkMap(redisCursor, REDIS_KEYS)) {
      const urlCursor = redisCursor.field('url')
      const url = readString(urlCursor, REQUIRED)
      const problem = url === '' ? undefined : redisUrlProblem(url)
      if (problem !== undefined) urlCursor.report(problem)
      redis = { url, keyPrefix: readString(redisCursor.field('key_prefix'), d.keyPrefix), timeoutMs: readDuration(redisCursor.field('timeout'), d.redisTimeoutMs) }
    }
  } else if (!redisCursor.absent) redisCursor.report('applies to store: redis only (this rate limit has store: memory)')
  return {
    requests: readInt(c.field('requests'), { min: 1, max: 1_000_000_000 }, REQUIRED),
    perMs: readDuration(c.field('per'), d.perMs),
    burst: readInt(c.field('burst'), { min: 0, max: 1_000_000_000 }, d.burst),
    key: readKey(c.field('key')),
    store,
    maxKeys: readInt(c.field('max_keys'), { min: 1, max: 100_000_000 }, d.maxKeys),
    redis,
  }
}

function readKey(c: Cursor): RateLimitConfig['key'] {
  if (c.absent || c.value === 'client_ip') return { source: 'client_ip', name: '' }
  if (c.value === 'route') return { source: 'route', name: '' }
  if (typeof c.value === 'string' && c.value.startsWith('header:')) {
    const name = c.value.slice('header:'.length)
    if (TOKEN.test(name)) return { source: 'header', name: name.toLowerCase() }
    c.report(`"${name}" is not a valid header name`)
    return { source: 'header', name: '' }
  }
  c.report(`must be client_ip, route or header:NAME (got ${describe(c.value)})`)
  return { source: 'client_ip', name: '' }
}
