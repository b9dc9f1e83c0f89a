// The `health_check:` block of an upstream: what a probe asks (path, Host, extra headers),
// how often, and what answer counts as healthy.
// `host` and `headers` exist for apps that refuse a request naming an unknown host: Django's
// ALLOWED_HOSTS answers 400 to `Host: 127.0.0.1:8000`, and a probe that is refused marks a
// working server down. Both are checked here, once, so a probe never carries a header undici
// would refuse (or one that could split the request): names are RFC 9110 tokens, values
// visible characters, spaces and tabs; headers that frame the request or name the host are
// refused with the key to use instead.

import { isIP, isIPv6 } from 'node:net'
import { DEFAULTS } from './defaults.js'
import { checkMap, readDuration, readInt, readList, readString, REQUIRED } from './fields.js'
import type { Cursor } from './fields.js'
import { isHostname } from './network.js'
import { describe } from './problems.js'
import type { HealthCheckConfig, StatusRanges } from './types.js'

const HEALTH_CHECK_KEYS = ['path', 'interval', 'timeout', 'healthy_threshold', 'unhealthy_threshold', 'expected_status', 'host', 'headers']

/** RFC 9110 token: a header name. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
/** RFC 9110 field-value: visible ASCII and obs-text, spaces and tabs inside; no CR, LF or NUL. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/

/** Headers a probe may not set through `headers`: the request's framing, hop-by-hop ones, and Host (`host` sets it). */
const REFUSED_HEADERS: ReadonlyMap<string, string> = new Map([
  ['host', 'set the probes\' Host with health_check.host'],
  ['content-length', 'a probe is a GET without a body'],
  ['transfer-encoding', 'a probe is a GET without a body'],
  ['connection', 'hop-by-hop: each probe uses a fresh connection'],
  ['keep-alive', 'hop-by-hop: each probe uses a fresh connection'],
  ['proxy-connection', 'hop-by-hop: each probe uses a fresh connection'],
  ['upgrade', 'hop-by-hop: a probe is a plain GET'],
  ['te', 'hop-by-hop: a probe is a plain GET'],
  ['trailer', 'a probe is a GET without a body'],
  ['expect', 'a probe is a GET without a body'],
])

/** Absent or `health_check: null` -> no active checks; `health_check: {}` -> checks with all defaults. */
export function readHealthCheck(c: Cursor): HealthCheckConfig | null {
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
    host: readProbeHost(c.field('host')),
    headers: readProbeHeaders(c.field('headers')),
  }
}

/** A Host header value: a hostname or IP literal ([v6] in brackets), with an optional port. */
function readProbeHost(c: Cursor): string | null {
  if (c.absent) return null
  const raw = readString(c, REQUIRED)
  if (raw === '') return null
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d{1,5}))?$/.exec(raw)
  const name = m?.[1] ?? ''
  const port = m?.[2] === undefined ? 0 : Number(m[2])
  const v6 = name.startsWith('[') && isIPv6(name.slice(1, -1))
  if (m === null || !(v6 || isIP(name) === 4 || isHostname(name)) || port > 65535 || (m[2] !== undefined && port === 0)) {
    c.report(`must be a Host header value: a hostname or IP address with an optional port, such as "app.local" or "app.local:8000" (got ${describe(raw)})`)
    return null
  }
  return raw
}

/** `headers: { X-Probe: "1" }`: a map of header name -> string value. */
function readProbeHeaders(c: Cursor): readonly (readonly [string, string])[] {
  if (c.absent) return []
  if (!(c.value instanceof Map)) {
    c.report(`must be a map of header name -> value, such as { X-Probe: "1" } (got ${describe(c.value)})`)
    return []
  }
  const out: [string, string][] = []
  const seen = new Set<string>()
  for (const [key, value] of c.value) {
    const entry = c.field(key)
    const name = String(key)
    if (typeof key !== 'string' || !TOKEN.test(name)) {
      c.problems.atKey(entry.path, `"${name}" is not a header name (letters, digits and !#$%&'*+.^_\`|~-)`)
      continue
    }
    const lower = name.toLowerCase()
    const refused = REFUSED_HEADERS.get(lower)
    if (refused !== undefined) {
      c.problems.atKey(entry.path, `${name} cannot be set here: ${refused}`)
      continue
    }
    if (seen.has(lower)) {
      c.problems.atKey(entry.path, `${name} is listed twice (header names ignore case)`)
      continue
    }
    seen.add(lower)
    // A number or a boolean is what the operator meant as text (X-Probe: 1).
    const text = typeof value === 'number' || typeof value === 'boolean' ? String(value) : value
    if (typeof text !== 'string') {
      entry.report(`must be a string (got ${describe(value)})`)
      continue
    }
    if (!FIELD_VALUE.test(text)) {
      entry.report('must not contain line breaks or control characters')
      continue
    }
    out.push([name, text.trim()])
  }
  return out
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
