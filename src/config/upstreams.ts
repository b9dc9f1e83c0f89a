// The `upstreams:` section: a map of name -> group of servers with balancing, timeouts
// and health settings.

import { readBuffering } from './buffering.js'
import { readUpstreamTls } from './upstream-tls.js'
import { readHashKey, readSticky } from './affinity.js'
import { readQueue } from './queue.js'
import { readRetryBudget, readRetryOn } from './retries.js'
import { DEFAULTS } from './defaults.js'
import { checkMap, readBool, readDuration, readEnum, readInt, readList, readString, REQUIRED } from './fields.js'
import type { Cursor } from './fields.js'
import { readHealthCheck } from './health-check.js'
import { parseDnsServer, parseSrvServer, readDiscoverySettings } from './discovery.js'
import { parseServerUrl } from './network.js'
import { describe } from './problems.js'
import type {
  BalanceName,
  DiscoveryConfig,
  PassiveHealthConfig,
  ServerConfig,
  TimeoutsConfig,
  UpstreamConfig,
} from './types.js'

const UPSTREAM_NAME = /^[A-Za-z0-9_.-]+$/
const BALANCES: readonly BalanceName[] = ['round_robin', 'least_connections', 'ip_hash', 'hash', 'random_two']

const UPSTREAM_KEYS = ['balance', 'servers', 'max_connections_per_server', 'retries', 'timeouts', 'health_check', 'passive_health',
  'hash_key', 'sticky', 'slow_start', 'buffering', 'queue', 'retry_on', 'retry_budget', 'tls', 'http2',
  'resolve_interval', 'resolver']
const SERVER_KEYS = ['url', 'weight', 'max_requests', 'dns', 'srv']
const TIMEOUT_KEYS = ['connect', 'response_headers', 'idle']
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
  const before = c.problems.count
  const { servers, discovery, discovers } = readServers(c.field('servers'))
  const serversValid = c.problems.count === before
  return {
    name,
    balance,
    servers,
    discovery,
    ...readDiscoverySettings(c, discovers),
    maxConnectionsPerServer: readInt(c.field('max_connections_per_server'), { min: 1 }, DEFAULTS.maxConnectionsPerServer),
    retries: readInt(c.field('retries'), { min: 0, max: 10 }, DEFAULTS.retries),
    timeouts: readTimeouts(c.field('timeouts')),
    healthCheck: readHealthCheck(c.field('health_check')),
    passiveHealth: readPassiveHealth(c.field('passive_health')),
    ...readBuffering(c.field('buffering')),
    hashKey: readHashKey(c.field('hash_key'), balanceValid ? balance : null),
    sticky: readSticky(c.field('sticky')),
    slowStartMs: readDuration(c.field('slow_start'), DEFAULTS.slowStartMs),
    queue: readQueue(c.field('queue'), [...servers, ...discovery], serversValid),
    retryOn: readRetryOn(c.field('retry_on')),
    retryBudget: readRetryBudget(c.field('retry_budget')),
    tls: readUpstreamTls(c.field('tls'), servers.some((s) => s.url.startsWith('https:'))),
    http2: readBool(c.field('http2'), false),
  }
}

/** `discovers`: some entry is a dns: or srv: server, valid or not (resolver and resolve_interval then belong). */
function readServers(c: Cursor): { servers: ServerConfig[]; discovery: DiscoveryConfig[]; discovers: boolean } {
  const servers: ServerConfig[] = []
  const discovery: DiscoveryConfig[] = []
  let discovers = false
  const seen = new Map<string, number>() // origin, or "dns:name:port" / "srv:name" -> index of its first server
  for (const [i, s] of readList(c, 1, 'server').entries()) {
    if (!checkMap(s, SERVER_KEYS)) continue
    if (s.absent) {
      s.report('must be a map with at least `url` (or `dns` or `srv`)')
      continue
    }
    const kinds = (['url', 'dns', 'srv'] as const).filter((k) => !s.field(k).absent)
    if (kinds.length > 1) {
      s.field(kinds[1] as string).report(`a server has one of url, dns or srv, not both ${kinds.join(' and ')}: write two servers`)
      continue
    }
    const kind = kinds[0] ?? 'url'
    const urlCursor = s.field(kind)
    const raw = readString(urlCursor, REQUIRED)
    const weightCursor = s.field('weight')
    if (kind !== 'url') discovers = true
    if (kind === 'srv' && !weightCursor.absent) weightCursor.report('an srv: server takes each SRV record\'s weight: leave weight out')
    const weight = kind === 'srv' ? 0 : readInt(weightCursor, { min: 1, max: 1000 }, DEFAULTS.weight)
    const maxRequests = readInt(s.field('max_requests'), { min: 0, max: 1_000_000 }, DEFAULTS.maxRequests)
    if (raw === '') continue
    if (kind !== 'url') {
      const parsed = kind === 'dns' ? parseDnsServer(raw) : parseSrvServer(raw)
      if ('error' in parsed) {
        urlCursor.report(parsed.error)
        continue
      }
      const port: number = 'port' in parsed ? (parsed as { port: number }).port : 0
      const key = kind === 'dns' ? `dns:${parsed.name}:${port}` : `srv:${parsed.name}`
      const first = seen.get(key)
      if (first !== undefined) {
        urlCursor.report(`duplicate server ${kind}: ${kind === 'dns' ? `${parsed.name}:${port}` : parsed.name} (same as servers.${first})`)
        continue
      }
      seen.set(key, i)
      discovery.push({ kind, name: parsed.name, port, weight, maxRequests })
      continue
    }
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
    servers.push(parsed.socketPath === undefined ? { url: parsed.url, id: parsed.id, weight, maxRequests } : { url: parsed.url, id: parsed.id, weight, maxRequests, socketPath: parsed.socketPath })
  }
  return { servers, discovery, discovers }
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

function readPassiveHealth(c: Cursor): PassiveHealthConfig {
  checkMap(c, PASSIVE_HEALTH_KEYS)
  const d = DEFAULTS.passiveHealth
  return {
    consecutiveFailures: readInt(c.field('consecutive_failures'), { min: 1 }, d.consecutiveFailures),
    ejectDurationMs: readDuration(c.field('eject_duration'), d.ejectDurationMs),
  }
}
