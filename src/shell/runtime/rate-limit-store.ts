// Where a rate limit keeps its GCRA state (core/policies/gcra.ts): one TAT per key.
// - memory: a Map per process used as an LRU (a touched key moves to the end; past
//   `max_keys` the oldest goes), so a flood of client addresses costs at most max_keys
//   entries (~100 bytes each). An evicted key starts afresh: a flood can reset a few budgets,
//   never exhaust memory. With workers, each worker has its own budget.
// - redis: one atomic Lua script per check, clocked by Redis's TIME, so every worker and
//   every instance on that Redis shares one budget. Redis down: the request passes (fail
//   open), the failure is counted (switchyard_rate_limit_store_errors_total) and
//   switchyard_rate_limit_store_up turns 0; while down no command is sent, a check every
//   second brings it back (as the Redis cache store does, shell/cache/redis-store.ts).
import type { Redis } from 'iovalkey'
import { redisClient } from '../cache/redis-client.js'
import { gcraCheck, type Gcra, type GcraResult } from '../../core/policies/gcra.js'
import type { Logger } from '../observe/log.js'

export interface RateLimitStore {
  /** null: fail open (the store could not answer). */
  check(key: string, now: number): GcraResult | null | Promise<GcraResult | null>
  readonly up: boolean
  close(): Promise<void>
}

export class MemoryRateLimitStore implements RateLimitStore {
  readonly #gcra: Gcra
  readonly #maxKeys: number
  readonly #tats = new Map<string, number>()
  readonly up = true

  constructor(gcra: Gcra, maxKeys: number) {
    this.#gcra = gcra
    this.#maxKeys = maxKeys
  }

  get size(): number {
    return this.#tats.size
  }

  check(key: string, now: number): GcraResult {
    const stored = this.#tats.get(key)
    const result = gcraCheck(this.#gcra, stored ?? 0, now)
    if (!result.allowed) return result
    if (stored !== undefined) this.#tats.delete(key)
    else if (this.#tats.size >= this.#maxKeys) {
      const oldest = this.#tats.keys().next().value
      if (oldest !== undefined) this.#tats.delete(oldest)
    }
    this.#tats.set(key, result.tat)
    return result
  }

  async close(): Promise<void> {}
}

/**
 * KEYS[1] the key; ARGV[1] T and ARGV[2] (burst + 1) * T, in microseconds. Returns
 * {allowed, ahead, retry} in microseconds: ahead = TAT - now after the check. Times are
 * written with %.0f: Lua's tostring would round a microsecond epoch to 14 digits.
 */
const GCRA_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local nxt = tat + interval
if nxt - now > limit then return {0, tat - now, nxt - now - limit} end
redis.call('SET', KEYS[1], string.format('%.0f', nxt), 'PX', math.ceil((nxt - now) / 1000))
return {1, nxt - now, 0}`

const CHECK_EVERY_MS = 1000

export class RedisRateLimitStore implements RateLimitStore {
  readonly #client: Redis
  readonly #prefix: string
  readonly #interval: string
  readonly #limit: string
  readonly #gcra: Gcra
  readonly #log: Logger
  readonly #onError: () => void
  up = true
  #check: NodeJS.Timeout | null = null
  #closed = false

  constructor(cfg: { url: string; keyPrefix: string; timeoutMs: number }, gcra: Gcra, log: Logger, onError: () => void) {
    this.#prefix = cfg.keyPrefix
    this.#gcra = gcra
    this.#interval = String(Math.max(1, Math.round(gcra.intervalMs * 1000)))
    this.#limit = String(Math.max(1, Math.round(gcra.limitMs * 1000)))
    this.#log = log
    this.#onError = onError
    const client = redisClient(cfg.url, cfg.timeoutMs, log, 'rate limit store')
    client.defineCommand('syGcra', { numberOfKeys: 1, lua: GCRA_SCRIPT })
    this.#client = client
  }

  check(key: string): Promise<GcraResult | null> | null {
    if (!this.up || this.#closed) return null
    const client = this.#client as Redis & { syGcra(key: string, interval: string, limit: string): Promise<[number, number, number]> }
    return client.syGcra(this.#prefix + key, this.#interval, this.#limit).then(
      ([allowed, ahead, retry]) => {
        const g = this.#gcra
        const aheadMs = ahead / 1000
        return allowed === 1
          ? { allowed: true, tat: 0, remaining: Math.floor((g.limitMs - aheadMs) / g.intervalMs + 1e-9), resetMs: aheadMs, retryAfterMs: 0 }
          : { allowed: false, tat: 0, remaining: 0, resetMs: aheadMs, retryAfterMs: retry / 1000 }
      },
      (err: unknown) => {
        this.#failed(err)
        return null
      },
    )
  }

  async close(): Promise<void> {
    this.#closed = true
    if (this.#check !== null) clearInterval(this.#check)
    if (this.#client.status === 'ready') await this.#client.quit().catch(() => this.#client.disconnect())
    else this.#client.disconnect()
  }

  #failed(err: unknown): void {
    this.#onError()
    if (!this.up || this.#closed) return
    this.up = false
    this.#log.warn({ err: err instanceof Error ? err.message : String(err) }, 'rate limit store down: Redis failed, requests pass unlimited until it answers again')
    this.#check = setInterval(() => {
      this.#client.ping().then(() => {
        if (this.up || this.#closed) return
        this.up = true
        if (this.#check !== null) clearInterval(this.#check)
        this.#check = null
        this.#log.info('rate limit store up: Redis answers again')
      }, () => this.#onError())
    }, CHECK_EVERY_MS)
    this.#check.unref()
  }
}
