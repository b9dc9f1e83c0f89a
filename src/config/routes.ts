// The `routes:` section: which upstream (or static directory) serves a request, by Host
// and path prefix.
// Values are normalised here (lower-case host, no trailing slash) so the router can
// compare strings as they are.

import { readRouteBuffering } from './buffering.js'
import { DEFAULTS } from './defaults.js'
import { checkMap, readDuration, readList, readString, REQUIRED, suggest } from './fields.js'
import type { Cursor } from './fields.js'
import { parseRouteHost } from './network.js'
import { readStatic } from './static.js'
import type { RouteConfig, RouteTimeoutsConfig, StaticConfig } from './types.js'
import { POLICY_KEYS, readRoutePolicies } from './policies.js'

const ROUTE_KEYS = ['name', 'match', 'upstream', 'static', 'cache', 'buffering', 'timeouts', ...POLICY_KEYS]
const MATCH_KEYS = ['host', 'path_prefix']
const TIMEOUT_KEYS = ['response_headers', 'idle', 'connect']
/** Route names share the upstreams' alphabet: they are log fields and metric label values. */
const ROUTE_NAME = /^[A-Za-z0-9_.-]+$/

/**
 * `upstreamNames` holds every upstream key of the file, valid or not, so that a bad
 * upstream is reported once and not again by each route that names it.
 */
export function readRoutes(c: Cursor, upstreamNames: ReadonlySet<string>, cacheNames: ReadonlySet<string> = new Set()): RouteConfig[] {
  const listOrAbsent = c.absent || Array.isArray(c.value)
  const items = readList(c, 0, 'route')
  if (items.length === 0 && listOrAbsent) return implicitRoute(c, upstreamNames)

  const routes: RouteConfig[] = []
  const seen = new Map<string, number>() // "host path" -> index of the first route with that match
  const names = new Map<string, number>() // name -> index of the first route with it
  for (const [i, r] of items.entries()) {
    if (!checkMap(r, ROUTE_KEYS)) continue
    const name = readRouteName(r.field('name'), i, names)
    const match = r.field('match')
    checkMap(match, MATCH_KEYS)
    const host = readHost(match.field('host'))
    const pathPrefix = readPathPrefix(match.field('path_prefix'))
    const target = readTarget(r, upstreamNames)
    const cache = readCacheName(r.field('cache'), cacheNames, target.static !== undefined)

    if (host !== undefined && pathPrefix !== undefined) {
      const key = `${host ?? ''} ${pathPrefix}`
      const first = seen.get(key)
      if (first !== undefined) {
        const what = host === null ? `path_prefix "${pathPrefix}"` : `host "${host}", path_prefix "${pathPrefix}"`
        r.report(`same match as routes.${first} (${what}): this route would never be used`)
      } else seen.set(key, i)
    }
    routes.push({
      name, host: host ?? null, pathPrefix: pathPrefix ?? '/', ...target, cache,
      ...readRouteBuffering(r.field('buffering'), target.static !== undefined),
      ...readRouteTimeouts(r.field('timeouts'), target.static !== undefined),
      ...readRoutePolicies(r, target.static !== undefined),
    })
  }
  return routes
}

/** No routes: fine with exactly one upstream (everything goes to it), an error with more. */
function implicitRoute(c: Cursor, upstreamNames: ReadonlySet<string>): RouteConfig[] {
  const [only] = upstreamNames
  if (upstreamNames.size === 1 && only !== undefined) return [{ name: 'route-0', host: null, pathPrefix: DEFAULTS.pathPrefix, upstream: only, cache: null }]
  if (upstreamNames.size > 1) {
    const message = 'required when there is more than one upstream'
    if (c.absent) c.missing(null, message)
    else c.report(message)
  }
  return []
}

/**
 * `name`, default "route-<index>". Unique: the name is what tells two routes apart in the
 * access log, so a name written twice, or one that takes another route's default, is an error.
 */
function readRouteName(c: Cursor, index: number, names: Map<string, number>): string {
  const fallback = `route-${index}`
  let name = fallback
  if (!c.absent) {
    const raw = readString(c, REQUIRED)
    if (raw !== '' && !ROUTE_NAME.test(raw)) c.report(`may only contain letters, digits, "_", "." and "-" (got ${JSON.stringify(raw)})`)
    else if (raw !== '') name = raw
  }
  const first = names.get(name)
  if (first !== undefined) c.report(`the route name "${name}" is already used by routes.${first}${c.absent ? ': name this route, or rename the other one' : ''}`)
  else names.set(name, index)
  return name
}

/**
 * `timeouts: { response_headers, idle }`: this route's over its upstream's (an SSE or
 * long-poll route idles longer than the API next to it). `connect` stays the upstream's:
 * connections are pooled per server and shared by every route, so a connect has no route.
 */
function readRouteTimeouts(c: Cursor, staticRoute: boolean): { timeouts?: RouteTimeoutsConfig } {
  if (c.absent) return {}
  if (staticRoute) {
    c.report('applies to routes with an `upstream` only: a static route asks no server')
    return {}
  }
  if (!checkMap(c, TIMEOUT_KEYS) || !(c.value instanceof Map)) return {}
  const connect = c.field('connect')
  if (!connect.absent) connect.report('is set per upstream (upstreams.<name>.timeouts.connect): connections are pooled per server and shared by every route')
  const out: { responseHeadersMs?: number; idleMs?: number } = {}
  const headers = c.field('response_headers')
  if (!headers.absent) out.responseHeadersMs = readDuration(headers, 0)
  const idle = c.field('idle')
  if (!idle.absent) out.idleMs = readDuration(idle, 0)
  return { timeouts: out }
}

/** null = any host; undefined = invalid (reported). */
function readHost(c: Cursor): string | null | undefined {
  if (c.absent) return null
  const raw = readString(c, REQUIRED)
  if (raw === '') return undefined
  const parsed = parseRouteHost(raw)
  if ('error' in parsed) {
    c.report(parsed.error)
    return undefined
  }
  return parsed.host
}

/**
 * "/api/" and "/api" are the same prefix (matching is on segment boundaries), so the
 * trailing slash is dropped. The prefix is compared with the raw request path: no
 * percent-decoding, and "?" or "#" could never match a path.
 */
function readPathPrefix(c: Cursor): string | undefined {
  const raw = readString(c, DEFAULTS.pathPrefix)
  if (raw === '') return undefined
  if (!raw.startsWith('/')) c.report(`must start with "/" (got "${raw}")`)
  else if (/[?#]/.test(raw)) c.report(`must be a path only, without "?" or "#" (got "${raw}")`)
  else if (/\s/.test(raw)) c.report(`must not contain spaces, write them as %20 (got "${raw}")`)
  else return raw.replace(/\/+$/, '') || '/'
  return undefined
}

/** A route is served by exactly one of `upstream` and `static`. */
function readTarget(r: Cursor, upstreamNames: ReadonlySet<string>): { upstream: string | null; static?: StaticConfig } {
  const upstream = r.field('upstream')
  const files = r.field('static')
  // `static:` written without a value still means a static route (one without a root).
  // A redirect route (policies.ts) answers every request itself: no upstream needed.
  // `redirect:` written empty is no redirect (as every empty key): the route needs an upstream then.
  if (files.absent && upstream.absent && !r.field('redirect').absent) return { upstream: null }
  if (files.absent && !(r.value instanceof Map && r.value.has('static'))) return { upstream: readUpstreamName(upstream, upstreamNames) }
  if (!upstream.absent) {
    r.report('has both `upstream` and `static`: a route is served by exactly one of them')
    return { upstream: null }
  }
  return { upstream: null, static: readStatic(files) }
}

function readUpstreamName(c: Cursor, upstreamNames: ReadonlySet<string>): string {
  if (c.absent) return c.missing('', 'required (or `static` to serve files from a directory)')
  const name = readString(c, REQUIRED)
  if (name !== '' && !upstreamNames.has(name)) {
    const hint = suggest(name, [...upstreamNames])
    c.report(`unknown upstream "${name}"${hint === undefined ? '' : `; did you mean "${hint}"?`}`)
  }
  return name
}

/** Absent = no cache; otherwise the name of an entry of `caches`. A static route has no cache. */
function readCacheName(c: Cursor, cacheNames: ReadonlySet<string>, staticRoute: boolean): string | null {
  if (c.absent) return null
  const name = readString(c, REQUIRED)
  if (name === '') return null
  if (staticRoute) {
    c.report('applies to routes with an `upstream` only: a static route\'s files are read from disk, not cached (use `static.cache_control` for browsers and CDNs)')
    return null
  }
  if (!cacheNames.has(name)) {
    const hint = suggest(name, [...cacheNames])
    const known = cacheNames.size === 0 ? '; define it under `caches`' : hint === undefined ? '' : `; did you mean "${hint}"?`
    c.report(`unknown cache "${name}"${known}`)
  }
  return name
}
