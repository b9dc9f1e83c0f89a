// The `upstreams:` section: a map of name -> group of servers with balancing, timeouts
// and health settings.

import { readBuffering } from './buffering.js'
import { readUpstreamTls } from './upstream-tls.js'
import { readHashKey, readSticky } from './affinity.js'
import { DEFAULTS } from './defaults.js'
import { checkMap, readBool, readDuration, readEnum, readInt, readList, readString, REQUIRED } from './fields.js'
import type { Cursor } from './fields.js'
import { parseServerUrl } from './network.js'
import { describe } from './problems.js'
import type {
  BalanceName,
  HealthCheckConfig,
  PassiveHealthConfig,
  ServerConfig,
  StatusRanges,
  TimeoutsConfig,
  UpstreamConfig,
} from './types.js'

const UPSTREAM_NAME = /^[A-Za-z0-9_.-]+$/
const BALANCES: readonly BalanceName[] = ['round_robin', 'least_connections', 'ip_hash', 'hash', 'random_two']

const UPSTREAM_KEYS = ['balance', 'servers', 'max_connections_per_server', 'retries', 'timeouts', 'health_check', 'passive_health',
  'hash_key', 'sticky', 'slow_start', 'buffering', 'tls', 'http2']
const SERVER_KEYS = ['url', 'weight']
const TIMEOUT_KEYS = ['connect', 'response_headers', 'idle']
const HEALTH_CHECK_KEYS = ['path', 'interval', 'timeout', 'healthy_threshold', 'unhealthy_threshold', 'expected_status']
const PASSIVE_HEALTH_KEYS = ['consecutive_failures', 'eject_duration']

/** All upstreams, in the file's order. Names of every entry (even invalid ones) go to `names`. */
export function readUpstreams(c: Cursor): { upstreams: UpstreamConfig[]; names: Set<string> } {
  const names = new Set<string>()
  if (c.absent) {
    c.missing(null)
    return { upstreams: [], names }
  }
  if (!(c.value instanceof Map)) {
    c.report(`must be a map of upstream name -> settings (got ${describe(c.value)})`)
    return { upstreams: [], names }
  }
  if (c.value.size === 0) c.report('must define at least one upstream')

  const upstreams: UpstreamConfig[] = []
  for (const key of c.value.keys()) {
    const name = String(key)
    names.add(name)
    // Look up by the YAML key itself: a key like `1:` is a number, and its line is found by that.
    const entry = c.field(key)
    if (typeof key !== 'string') {
      c.problems.atKey(entry.path, `upstream name must be a string: quote it ("${name}")`)
    } else if (!UPSTREAM_NAME.test(name)) {
      c.problems.atKey(entry.path, `upstream name "${name}" may only contain letters, digits, "_", "." and "-"`)
    }
    upstreams.push(readUpstream(entry, name))
  }
  return { upstreams, names }
}

function readUpstream(c: Cursor, name: string): UpstreamConfig {
  checkMap(c, UPSTREAM_KEYS)
  const balanceCursor = c.field('balance')
  const balance = readEnum(balanceCursor, BALANCES, DEFAULTS.balance)
  const balanceValid = balanceCursor.absent || balanceCursor.value === balance
  const servers = readServers(c.field('servers'))
  return {
    name,
    balance,
    servers,
    maxConnectionsPerServer: readInt(c.field('max_connections_per_server'), { min: 1 }, DEFAULTS.maxConnectionsPerServer),
    retries: readInt(c.field('retries'), { min: 0, max: 10 }, DEFAULTS.retries),
    timeouts: readTimeouts(c.field('timeouts')),
    healthCheck: readHealthCheck(c.field('health_check')),
    passiveHealth: readPassiveHealth(c.field('passive_health')),
    ...readBuffering(c.field('buffering')),
    hashKey: readHashKey(c.field('hash_key'), balanceValid ? balance : null),
    sticky: readSticky(c.field('sticky')),
    slowStartMs: readDuration(c.field('slow_start'), DEFAULTS.slowStartMs),
    tls: readUpstreamTls(c.field('tls'), servers.some((s) => s.url.startsWith('https:'))),
    http2: readBool(c.field('http2'), false),
  }
}

function readServers(c: Cursor): ServerConfig[] {
  const servers: ServerConfig[] = []
  const seen = new Map<string, number>() // origin -> index of its first server
  for (const [i, s] of readList(c, 1, 'server').entries()) {
    if (!checkMap(s, SERVER_KEYS)) continue
    if (s.absent) {
      s.report('must be a map with at least `url`')
      continue
    }
    const urlCursor = s.field('url')
    const raw = readString(urlCursor, REQUIRED)
    const weight = readInt(s.field('weight'), { min: 1, max: 1000 }, DEFAULTS.weight)
    if (raw === '') continue
    const parsed = parseServerUrl(raw)
    if ('error' in parsed) {
      urlCursor.report(parsed.error)
      continue
    }
    const first = seen.get(parsed.url)
    if (first !== undefined) {
      urlCursor.report(`duplicate server ${parsed.url} (same as servers.${first}); use weight to give a server more traffic`)
      continue
    }
    seen.set(parsed.url, i)
    servers.push({ url: parsed.url, id: parsed.id, weight })
  }
  return servers
}

function readTimeouts(c: Cursor): TimeoutsConfig {
  checkMap(c, TIMEOUT_KEYS)
  const d = DEFAULTS.timeouts
  return {
    connectMs: readDuration(c.field('connect'), d.connectMs),
    responseHeadersMs: readDuration(c.field('response_headers'), d.responseHeadersMs),
    idleMs: readDuration(c.field('idle'), d.idleMs),
  }
}

/** Absent or `health_check: null` -> no active checks; `health_check: {}` -> checks with all defaults. */
function readHealthCheck(c: Cursor): HealthCheckConfig | null {
  if (c.absent) return null
  checkMap(c, HEALTH_CHECK_KEYS)
  const d = DEFAULTS.healthCheck
  const pathCursor = c.field('path')
  const path = readString(pathCursor, d.path)
  if (path !== '' && !path.startsWith('/')) pathCursor.report(`must start with "/" (got ${describe(path)})`)
  else if (/[\s#]/.test(path)) pathCursor.report(`must be a URL path without spaces or "#" (got ${describe(path)})`)
  return {
    path,
    intervalMs: readDuration(c.field('interval'), d.intervalMs),
    timeoutMs: readDuration(c.field('timeout'), d.timeoutMs),
    healthyThreshold: readInt(c.field('healthy_threshold'), { min: 1 }, d.healthyThreshold),
    unhealthyThreshold: readInt(c.field('unhealthy_threshold'), { min: 1 }, d.unhealthyThreshold),
    expectedStatus: readExpectedStatus(c.field('expected_status')),
  }
}

function readPassiveHealth(c: Cursor): PassiveHealthConfig {
  checkMap(c, PASSIVE_HEALTH_KEYS)
  const d = DEFAULTS.passiveHealth
  return {
    consecutiveFailures: readInt(c.field('consecutive_failures'), { min: 1 }, d.consecutiveFailures),
    ejectDurationMs: readDuration(c.field('eject_duration'), d.ejectDurationMs),
  }
}

/** `200`, `"200-399"`, or a list of those -> inclusive ranges. */
function readExpectedStatus(c: Cursor): StatusRanges {
  if (c.absent) return DEFAULTS.healthCheck.expectedStatus
  if (!Array.isArray(c.value)) {
    const range = statusRange(c)
    return range ? [range] : []
  }
  return readList(c, 1, 'status code or range').flatMap((item) => {
    const range = statusRange(item)
    return range ? [range] : []
  })
}

const RANGE = /^\s*(\d{3})\s*(?:-\s*(\d{3})\s*)?$/

function statusRange(c: Cursor): [number, number] | undefined {
  const wanted = 'must be a status code (100-599) or a range such as "200-399"'
  const v = c.value
  let lo: number | undefined
  let hi: number | undefined
  if (typeof v === 'number' && Number.isInteger(v)) [lo, hi] = [v, v]
  else if (typeof v === 'string') {
    const m = RANGE.exec(v)
    if (m) [lo, hi] = [Number(m[1]), Number(m[2] ?? m[1])]
  }
  if (lo === undefined || hi === undefined || lo < 100 || hi > 599) {
    c.report(`${wanted} (got ${describe(v)})`)
    return undefined
  }
  if (lo > hi) {
    c.report(`range ${lo}-${hi} is empty: write the lower code first`)
    return undefined
  }
  return [lo, hi]
}
