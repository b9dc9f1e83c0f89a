// The request target of a runtime API call: `/upstreams/{upstream}/servers/{server}/{action}`
// (docs/operations.md#runtime-api), parsed strictly, since it names what an operator changes.
//
// - Each segment is percent-decoded on its own, after the split on `/`: `%2F` never makes a
//   new segment. A server id is `host:port` (`[::1]:8000` for IPv6, raw or as `%5B::1%5D`) or
//   `unix:/path`, whose slashes must be encoded: `unix:%2Frun%2Fapp.sock`. An encoded slash
//   anywhere else is refused.
// - Refused with 400 and a reason: an empty segment (`//`, a trailing `/`), a `.` or `..`
//   segment (raw or encoded, and inside a unix path), a bad percent escape, a control
//   character or a backslash.
// - A known action with the wrong method: 405 with the method to use (`Allow`).
// Pure: the shell passes the raw `req.url` and the method.
import { WEIGHT_MAX, WEIGHT_MIN } from './admin-state.js'

export type ApiAction = 'drain' | 'disable' | 'enable' | 'weight'

const METHOD: Record<ApiAction, 'POST' | 'PUT'> = { drain: 'POST', disable: 'POST', enable: 'POST', weight: 'PUT' }

export const API_USAGE = '/upstreams/{upstream}/servers/{host:port}/{drain|disable|enable} (POST) or .../weight (PUT)'

export type ApiTarget =
  | { readonly ok: true; readonly upstream: string; readonly server: string; readonly action: ApiAction }
  | { readonly ok: false; readonly status: 400 | 404 | 405; readonly error: string; readonly allow?: string }

/** Whether the runtime API owns this target (anything under /upstreams). */
export function isApiPath(target: string): boolean {
  const path = pathOf(target)
  return path === '/upstreams' || path.startsWith('/upstreams/')
}

function pathOf(target: string): string {
  const q = target.indexOf('?')
  return q < 0 ? target : target.slice(0, q)
}

// C0 controls, DEL, and the backslash some servers treat as a slash.
// eslint-disable-next-line no-control-regex
const BAD_CHAR = /[\x00-\x1f\x7f\\]/

export function parseApiTarget(method: string, target: string): ApiTarget {
  const path = pathOf(target)
  const parts = path.split('/').slice(1) // path starts with '/'
  if (parts.some((p) => p === '')) return bad('empty path segment (a doubled or trailing "/")')
  const decoded: string[] = []
  for (const raw of parts) {
    let d: string
    try {
      d = decodeURIComponent(raw)
    } catch {
      return bad(`bad percent-encoding in "${raw}"`)
    }
    if (BAD_CHAR.test(d)) return bad('control character or backslash in the path')
    if (d === '.' || d === '..') return bad('"." and ".." are not allowed in the path')
    decoded.push(d)
  }
  const [root, upstream, servers, server, action] = decoded as (string | undefined)[]
  if (decoded.length !== 5 || root !== 'upstreams' || servers !== 'servers' || !isAction(action)) {
    return { ok: false, status: 404, error: `unknown path: the runtime API takes ${API_USAGE}` }
  }
  if (upstream!.includes('/')) return bad('an encoded "/" is only allowed in a unix:/path server id')
  const serverId = server!
  if (serverId.includes('/')) {
    if (!serverId.startsWith('unix:/')) return bad('an encoded "/" is only allowed in a unix:/path server id')
    if (serverId.slice('unix:'.length).split('/').some((p) => p === '.' || p === '..')) return bad('"." and ".." are not allowed in the path')
  }
  if (method !== METHOD[action]) {
    return { ok: false, status: 405, error: `${action} takes ${METHOD[action]}, not ${method}`, allow: METHOD[action] }
  }
  return { ok: true, upstream: upstream!, server: serverId, action }
}

function isAction(a: string | undefined): a is ApiAction {
  return a === 'drain' || a === 'disable' || a === 'enable' || a === 'weight'
}

function bad(error: string): ApiTarget {
  return { ok: false, status: 400, error }
}

/** The path for a server id, as `switchyard ctl` writes it: each segment percent-encoded. */
export function apiPath(upstream: string, server: string, action: ApiAction): string {
  return `/upstreams/${encodeURIComponent(upstream)}/servers/${encodeURIComponent(server)}/${action}`
}

/**
 * The body of a call: empty (or `{}`) for drain, disable and enable; `{"weight": N}` with an
 * integer 1..1000, or `{"weight": null}` (back to the config's weight), for weight.
 */
export function parseApiBody(action: ApiAction, text: string): { ok: true; weight: number | null } | { ok: false; error: string } {
  const trimmed = text.trim()
  if (action !== 'weight' && trimmed === '') return { ok: true, weight: null }
  let value: unknown
  try {
    value = JSON.parse(trimmed)
  } catch {
    return { ok: false, error: action === 'weight' ? 'the body must be JSON: {"weight": N}' : `the body must be empty or {} for ${action}` }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: action === 'weight' ? 'the body must be a JSON object: {"weight": N}' : `the body must be empty or {} for ${action}` }
  }
  const keys = Object.keys(value)
  if (action !== 'weight') {
    return keys.length === 0 ? { ok: true, weight: null } : { ok: false, error: `${action} takes no parameters (got "${keys[0]}")` }
  }
  const extra = keys.find((k) => k !== 'weight')
  if (extra !== undefined) return { ok: false, error: `unknown key "${extra}": the body is {"weight": N}` }
  if (!keys.includes('weight')) return { ok: false, error: 'missing "weight": the body is {"weight": N}' }
  const w = (value as { weight: unknown }).weight
  if (w === null) return { ok: true, weight: null }
  if (typeof w !== 'number' || !Number.isInteger(w) || w < WEIGHT_MIN || w > WEIGHT_MAX) {
    return { ok: false, error: `weight must be an integer from ${WEIGHT_MIN} to ${WEIGHT_MAX}, or null for the config's (got ${JSON.stringify(w)})` }
  }
  return { ok: true, weight: w }
}
