// Checks for the network-shaped values of the config: listen addresses, upstream server
// URLs and route hosts. Each check returns an error message, or the normalised value.

import { isIP, isIPv6 } from 'node:net'

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?'
const HOSTNAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`, 'i')

/** A DNS hostname (RFC 1123 labels, at most 253 characters). */
export function isHostname(s: string): boolean {
  return s.length <= 253 && HOSTNAME.test(s)
}

/** Error message for a listen address, or undefined when it is an IP literal or a hostname. */
export function checkListenAddress(address: string): string | undefined {
  if (isIP(address) !== 0 || isHostname(address)) return undefined
  if (address.startsWith('[') && address.endsWith(']') && isIPv6(address.slice(1, -1))) {
    return `write an IPv6 address without brackets (quoted in YAML), e.g. "${address.slice(1, -1)}"`
  }
  return `must be an IPv4 or IPv6 address or a hostname (got "${address}")`
}

export type ServerUrl = { readonly url: string; readonly id: string; readonly socketPath?: string } | { readonly error: string }

/** Linux's sun_path holds 108 bytes, the last one a NUL: a longer path cannot be connected to. */
const MAX_SOCKET_PATH_BYTES = 107

/**
 * A Unix-socket server, `unix:/run/gunicorn/app.sock` (nginx's and gunicorn's spelling) ->
 * url and id `unix:/path` (the `server` label, /status), and the socket path. The path must
 * be absolute: under systemd the working directory is "/", so a relative one would depend on
 * how the daemon was started. The socket need not exist at load: a missing one is a connect
 * refusal at request time, as a server that is not up yet.
 */
export function parseUnixServerUrl(raw: string): ServerUrl {
  const path = raw.slice('unix:'.length)
  if (path.startsWith('//')) return { error: `write a Unix socket as unix:/absolute/path, without "//" (got "${raw}")` }
  if (!path.startsWith('/')) return { error: `a Unix socket path must be absolute, as in unix:/run/app.sock (got "${raw}")` }
  if (/[\0\s?#]/.test(path)) return { error: `a Unix socket path must not contain spaces, NUL, "?" or "#" (got ${JSON.stringify(raw)})` }
  if (path.endsWith('/')) return { error: `a Unix socket path names a file, not a directory (got "${raw}")` }
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) return { error: `a Unix socket path may be at most ${MAX_SOCKET_PATH_BYTES} bytes (the OS limit; got ${Buffer.byteLength(path)})` }
  const normal = path.replace(/\/{2,}/g, '/')
  return { url: `unix:${normal}`, id: `unix:${normal}`, socketPath: normal }
}

/**
 * An upstream server URL -> its origin ("http://127.0.0.1:3001", "https://10.0.0.5:8443") and
 * id ("127.0.0.1:3001", default port 80 or 443 filled in; IPv6 keeps its brackets: "[::1]:3001"). The request path is
 * forwarded as it came, so a path, query or fragment here would be silently ignored or
 * ambiguous: they are refused.
 */
export function parseServerUrl(raw: string): ServerUrl {
  if (raw.startsWith('unix:')) return parseUnixServerUrl(raw)
  let u: URL
  try {
    u = new URL(raw)
  } catch {
    return { error: `not a valid URL: "${raw}" (expected http://host:port)` }
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return { error: `must be an http:// or https:// URL such as http://host:port, or unix:/path for a Unix socket (got protocol "${u.protocol}")` }
  if (u.username !== '' || u.password !== '') return { error: 'must not contain credentials (user:password@)' }
  if (u.pathname !== '/') return { error: `must not have a path (got "${u.pathname}"): the request path is forwarded as it is` }
  if (u.search !== '' || raw.includes('?')) return { error: 'must not have a query string' }
  if (u.hash !== '' || raw.includes('#')) return { error: 'must not have a fragment (#...)' }
  return { url: u.origin, id: `${u.hostname}:${u.port === '' ? (u.protocol === 'https:' ? '443' : '80') : u.port}` }
}

/**
 * A route's `host` -> lower-cased form, or an error. Exact hostname (or IP literal), or a
 * leading wildcard label "*.example.com". No port: host matching ignores the port.
 */
export function parseRouteHost(raw: string): { readonly host: string } | { readonly error: string } {
  const host = raw.toLowerCase()
  if (host.startsWith('[') && host.endsWith(']') && isIPv6(host.slice(1, -1))) return { host }
  if (isIPv6(host)) return { error: `write an IPv6 address in brackets, as in a Host header: "[${host}]"` }
  if (host.includes(':')) return { error: `must not include a port (got "${raw}"): host matching ignores the port` }
  const rest = host.startsWith('*.') ? host.slice(2) : host
  if (rest.includes('*')) {
    return { error: `a wildcard is only allowed as the whole first label, as in "*.example.com" (got "${raw}"); leave host out to match any host` }
  }
  if (isIP(rest) === 4 && rest !== host) return { error: `a wildcard cannot be combined with an IP address (got "${raw}")` }
  if (!isHostname(rest)) return { error: `must be a hostname such as "api.example.com" or "*.example.com" (got "${raw}")` }
  return { host }
}
