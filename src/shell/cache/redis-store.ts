// The `store: redis` response store: several switchyard instances (and workers) on one Redis
// and key_prefix share one cache. Redis trouble never fails a request.
//
// Layout: one Redis hash per URL at `${key_prefix}${key}`, one field per Vary variant (the
// field is varyId(vary), store.ts). Each value is
//   4 bytes: n, big-endian | n bytes: JSON of the CachedResponse without its body | the body
// so a get (HGETALL) is one round trip and each body comes back as one Buffer (a view into
// the value, no copy). A put is one Lua script: HSET the variant, then PEXPIREAT the key at
// the variant's deleteAt if that is later than the key's expiry: the key lives as long as
// its longest-lived variant (a variant replaced by a shorter-lived one can leave the key
// living longer; get skips variants past deleteAt). clear is SCAN MATCH prefix* + UNLINK.
//
// Robustness (as the store built on undici-cache-redis had it before issue #19):
// - The client fails fast: connect and every command are limited by `redis.timeout`, the
//   commands waiting for a connection fail at each failed connection attempt
//   (maxRetriesPerRequest: 0), and once connected the offline queue is off: a command sent
//   while the connection is down fails at once. Why: a queued command is not dropped when
//   `redis.timeout` rejects it, and used to be sent when Redis came back, after a purge
//   made since (a write of the request whose lookup had just failed, seen with
//   `redis-cli monitor`). The queue is on for the first connection only, so requests right
//   after start wait for it instead of failing.
// - The first failed command marks the store down (`up` false, one warn log line); every
//   failed command counts (onError: switchyard_cache_redis_errors_total). While down the
//   cache is bypassed (the caller reads `up`), get and put do nothing, and a check lookup
//   runs every second until one succeeds (`cache store up`, info). delete and clear are
//   tried even while down: a purge should reach Redis whenever it can.
// - Connection errors (each failed reconnect) are only logged at debug: the commands that
//   fail are what counts, and listening keeps the client from printing
//   "[ioredis] Unhandled error event" on stderr.
import type { Redis } from 'iovalkey'
import { redisClient } from './redis-client.js'
import type { RedisStoreConfig } from '../../config/types.js'
import type { CachedResponse } from '../../core/cached-response.js'
import type { Logger } from '../observe/log.js'
import { varyId, type ResponseStore } from './store.js'

const CHECK_EVERY_MS = 1000
/** Keys per SCAN step (and per UNLINK) of clear(). */
const CLEAR_BATCH = 500

/** KEYS[1] the URL's hash; ARGV: field, value, deleteAt (ms epoch). The key's expiry only moves later. */
const PUT_SCRIPT = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if ttl >= 0 then
  local t = redis.call('TIME')
  if tonumber(ARGV[3]) <= tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + ttl then return 0 end
end
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
return 1`

type Meta = Omit<CachedResponse, 'body'>

export class RedisStore implements ResponseStore {
  readonly #client: Redis
  readonly #prefix: string
  readonly #maxEntrySize: number
  readonly #log: Logger
  readonly #onError: () => void
  /** false while Redis fails: the cache is bypassed. */
  up = true
  #errors = 0
  #check: NodeJS.Timeout | null = null
  #checking = false
  #closed = false

  constructor(cfg: RedisStoreConfig, maxEntrySize: number, log: Logger, onError: () => void) {
    this.#prefix = cfg.keyPrefix
    this.#maxEntrySize = maxEntrySize
    this.#log = log
    this.#onError = onError
    const client = redisClient(cfg.url, cfg.timeoutMs, log, 'cache store')
    this.#client = client
  }

  get(key: string): Promise<readonly CachedResponse[] | undefined> {
    if (!this.up || this.#closed) return Promise.resolve(undefined)
    return this.#client.hgetallBuffer(this.#prefix + key).then(
      (fields) => variants(fields, Date.now()),
      (err: unknown) => { this.#failed(err); return undefined },
    )
  }

  put(key: string, response: CachedResponse): void {
    if (!this.up || this.#closed || response.body.length > this.#maxEntrySize || response.deleteAt <= Date.now()) return
    const value = encode(response)
    if (value.length > this.#maxEntrySize) return
    this.#client.eval(PUT_SCRIPT, 1, this.#prefix + key, varyId(response.vary), value, String(response.deleteAt)).catch((err: unknown) => this.#failed(err))
  }

  async delete(key: string): Promise<void> {
    try {
      await this.#client.del(this.#prefix + key)
    } catch (err) {
      this.#failed(err)
    }
  }

  async clear(): Promise<void> {
    const pattern = `${this.#prefix.replace(/[*?[\]\\]/g, '\\$&')}*`
    try {
      let cursor = '0'
      do {
        const [next, keys] = await this.#client.scanBuffer(cursor, 'MATCH', pattern, 'COUNT', CLEAR_BATCH)
        if (keys.length > 0) await this.#client.unlink(...keys)
        cursor = next.toString()
      } while (cursor !== '0')
    } catch (err) {
      this.#failed(err)
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    if (this.#check !== null) clearInterval(this.#check)
    this.#check = null
    if (this.#client.status === 'ready') await this.#client.quit().catch(() => this.#client.disconnect())
    else this.#client.disconnect()
  }

  #failed(err: unknown): void {
    this.#errors++
    this.#onError()
    if (!this.up || this.#closed) return
    this.up = false
    this.#log.warn({ err: err instanceof Error ? err.message : String(err) }, 'cache store down: Redis failed, requests bypass the cache until it answers again')
    this.#check = setInterval(() => void this.#tryCheck(), CHECK_EVERY_MS)
    this.#check.unref()
  }

  /** One lookup (of a key no response is stored under); up again when it succeeds and nothing failed meanwhile. */
  async #tryCheck(): Promise<void> {
    if (this.#checking) return
    this.#checking = true
    const before = this.#errors
    try {
      await this.#client.exists(this.#prefix)
    } catch (err) {
      this.#errors++
      this.#onError()
      this.#log.debug({ err: err instanceof Error ? err.message : String(err) }, 'cache store: check lookup failed')
      return
    } finally {
      this.#checking = false
    }
    if (this.#errors !== before || this.up || this.#closed) return
    this.up = true
    if (this.#check !== null) clearInterval(this.#check)
    this.#check = null
    this.#log.info('cache store up: Redis answers again, the cache is used again')
  }
}

/** 4-byte length, the metadata's JSON, the body. */
function encode(r: CachedResponse): Buffer {
  const meta: Meta = { status: r.status, headers: r.headers, requestTime: r.requestTime, responseTime: r.responseTime, vary: r.vary, policy: r.policy, deleteAt: r.deleteAt }
  const json = JSON.stringify(meta)
  const n = Buffer.byteLength(json)
  const value = Buffer.allocUnsafe(4 + n + r.body.length)
  value.writeUInt32BE(n, 0)
  value.write(json, 4, 'utf8')
  r.body.copy(value, 4 + n)
  return value
}

function decode(value: Buffer): CachedResponse | undefined {
  if (value.length < 4) return undefined
  const n = value.readUInt32BE(0)
  if (4 + n > value.length) return undefined
  try {
    const meta = JSON.parse(value.toString('utf8', 4, 4 + n)) as Meta
    if (typeof meta.deleteAt !== 'number' || !Array.isArray(meta.headers)) return undefined
    return { ...meta, body: value.subarray(4 + n) }
  } catch {
    return undefined
  }
}

/** The variants of one hash still of use at `now` (undefined when none: never an empty array). */
function variants(fields: Record<string, Buffer>, now: number): CachedResponse[] | undefined {
  let out: CachedResponse[] | undefined
  for (const field in fields) {
    const r = decode(fields[field] as Buffer)
    if (r !== undefined && r.deleteAt > now) (out ??= []).push(r)
  }
  return out
}
