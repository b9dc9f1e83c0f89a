// The DNS discovery keys of an upstream (docs/discovery.md): `servers[].dns` ("name:port",
// A/AAAA), `servers[].srv` (an SRV name), `resolve_interval` and `resolver`. Kept apart from
// upstreams.ts so the rules read in one place. Nothing is looked up here: `switchyard check`
// never touches the network, and a name that does not resolve yet is a run-time state (503
// until it does), not a config error.

import { isIP, isIPv6 } from 'node:net'
import { MIN_LOOKUP_MS } from '../core/discovery.js'
import { DEFAULTS } from './defaults.js'
import { readDuration, readString, type Cursor } from './fields.js'
import { isHostname } from './network.js'

const SRV_LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/

/** A name as DNS is asked for it: lower case, without the root's trailing dot. */
function bareName(raw: string): string {
  return (raw.endsWith('.') ? raw.slice(0, -1) : raw).toLowerCase()
}

function parsePort(text: string): number | null {
  if (!/^\d{1,5}$/.test(text)) return null
  const port = Number(text)
  return port >= 1 && port <= 65535 ? port : null
}

/** `dns: "app.internal:8000"` -> name and port, or an error message. */
export function parseDnsServer(raw: string): { name: string; port: number } | { error: string } {
  if (raw.includes('://')) return { error: `write the name and port without a scheme, as in "app.internal:8000" (got "${raw}"); dns: servers are reached over http://` }
  const colon = raw.lastIndexOf(':')
  const host = colon < 0 ? raw : raw.slice(0, colon)
  if (isIP(host) !== 0 || isIP(raw) !== 0 || (host.startsWith('[') && isIPv6(host.slice(1, -1)))) {
    return { error: `an IP address needs no lookup: write url: http://${raw} instead (got "${raw}")` }
  }
  if (colon < 0) return { error: `needs a port, as in "${raw}:8000" (got "${raw}")` }
  const port = parsePort(raw.slice(colon + 1))
  if (port === null) return { error: `the port must be an integer from 1 to 65535 (got "${raw.slice(colon + 1)}")` }
  const name = bareName(host)
  if (!isHostname(name)) return { error: `must be a DNS name and a port, as in "app.internal:8000" (got "${raw}")` }
  return { name, port }
}

/** `srv: "_http._tcp.app.service.consul"` -> the name, or an error message. */
export function parseSrvServer(raw: string): { name: string } | { error: string } {
  if (raw.includes('://')) return { error: `write the SRV name only, as in "_http._tcp.app.service.consul" (got "${raw}")` }
  if (raw.includes(':')) return { error: `an SRV record gives the port: write the name only, as in "_http._tcp.app.service.consul" (got "${raw}")` }
  const name = bareName(raw)
  if (name.length > 253 || !name.split('.').every((l) => SRV_LABEL.test(l))) {
    return { error: `must be a DNS name such as "_http._tcp.app.service.consul" (got "${raw}")` }
  }
  return { name }
}

/** `resolver: "127.0.0.1:8600"` -> the node:dns setServers form ("ip:port", "[v6]:port"), or an error message. */
export function parseResolver(raw: string): { server: string } | { error: string } {
  const example = 'as in "127.0.0.1", "127.0.0.1:8600" or "[::1]:53"'
  if (isIP(raw) === 4) return { server: `${raw}:53` }
  if (isIP(raw) === 6) return { server: `[${raw}]:53` }
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(raw)
  if (v6 !== null) {
    const port = v6[2] === undefined ? 53 : parsePort(v6[2])
    if (!isIPv6(v6[1] as string) || port === null) return { error: `must be an IP address with an optional port, ${example} (got "${raw}")` }
    return { server: `[${v6[1]}]:${port}` }
  }
  const colon = raw.lastIndexOf(':')
  const host = colon < 0 ? raw : raw.slice(0, colon)
  if (isIP(host) !== 4) return { error: `must be an IP address with an optional port, ${example}: a DNS server is not found by name (got "${raw}")` }
  const port = parsePort(raw.slice(colon + 1))
  if (port === null) return { error: `the port must be an integer from 1 to 65535 (got "${raw.slice(colon + 1)}")` }
  return { server: `${host}:${port}` }
}

/**
 * `resolve_interval` and `resolver` of an upstream. Both only mean something next to a
 * `dns:` or `srv:` server: written on an upstream without one, each is an error (it would
 * silently do nothing).
 */
export function readDiscoverySettings(c: Cursor, discovers: boolean): { resolveIntervalMs: number; resolver: string | null } {
  const intervalCursor = c.field('resolve_interval')
  const resolverCursor = c.field('resolver')
  const none = 'applies only to dns: and srv: servers, and this upstream has none'
  if (!discovers) {
    if (!intervalCursor.absent) intervalCursor.report(none)
    if (!resolverCursor.absent) resolverCursor.report(none)
    if (!intervalCursor.absent || !resolverCursor.absent) return { resolveIntervalMs: NaN, resolver: null } // one problem per key
  }
  let resolveIntervalMs = readDuration(intervalCursor, DEFAULTS.resolveIntervalMs)
  if (resolveIntervalMs < MIN_LOOKUP_MS) {
    intervalCursor.report(`must be at least 1s: no name is looked up more often (got ${resolveIntervalMs}ms)`)
    resolveIntervalMs = NaN
  }
  const raw = readString(resolverCursor, '')
  let resolver: string | null = null
  if (raw !== '') {
    const parsed = parseResolver(raw)
    if ('error' in parsed) resolverCursor.report(parsed.error)
    else resolver = parsed.server
  }
  return { resolveIntervalMs, resolver }
}
