// The listening side of the config: `listeners:` (public ports) and `admin:` (side port).

import { DEFAULTS } from './defaults.js'
import { checkMap, readBool, readDuration, readInt, readList, readSize, readString, REQUIRED } from './fields.js'
import type { Cursor } from './fields.js'
import { checkListenAddress } from './network.js'
import { describe } from './problems.js'
import { parseCidr, type Cidr } from '../core/cidr.js'
import { readTls } from './tls.js'
import { readAdminToken } from './admin-token.js'
import type { AdminConfig, ListenerConfig, ListenerTimeoutsConfig } from './types.js'

const LISTENER_KEYS = ['name', 'address', 'port', 'max_connections', 'max_connections_per_client', 'max_body_size', 'max_header_size', 'timeouts',
  'trusted_proxies', 'proxy_protocol', 'tls', 'http2', 'redirect_https', 'reuse_port']
const LISTENER_TIMEOUT_KEYS = ['request_head', 'request', 'keep_alive']
const ADMIN_KEYS = ['address', 'port', 'request_metrics', 'token_file']
// Port 0 asks the OS for any free port: meant for tests, which read the bound port back.
const PORT = { min: 0, max: 65535 }

export function readListeners(c: Cursor): ListenerConfig[] {
  const listeners: ListenerConfig[] = []
  const byName = new Map<string, number>()
  const byPort = new Map<number, number>()
  for (const [i, l] of readList(c, 1, 'listener').entries()) {
    if (!checkMap(l, LISTENER_KEYS)) continue
    const name = readString(l.field('name'), `listener-${i}`)
    const address = readAddress(l.field('address'), DEFAULTS.listenerAddress)
    const port = readInt(l.field('port'), PORT, REQUIRED)

    const sameName = byName.get(name)
    if (name !== '' && sameName !== undefined) l.field('name').report(`duplicate listener name "${name}" (also listeners.${sameName})`)
    else byName.set(name, i)
    // The same port twice cannot be bound; port 0 (any free port) can appear any number of times.
    const samePort = byPort.get(port)
    if (port > 0 && samePort !== undefined) l.field('port').report(`port ${port} is already used by listeners.${samePort}`)
    else if (port > 0) byPort.set(port, i)

    const d = DEFAULTS.listener
    const tls = readTls(l.field('tls'))
    // h2 is offered by ALPN, which only a TLS handshake has (no h2c: nginx and browsers alike).
    const http2 = readBool(l.field('http2'), d.http2)
    if (tls === null && l.field('http2').value === true) l.field('http2').report('HTTP/2 is offered on TLS listeners only (by ALPN): add `tls:` or remove http2')
    const redirectHttps = readBool(l.field('redirect_https'), false)
    if (tls !== null && redirectHttps) l.field('redirect_https').report('is for plain listeners (it sends their clients to HTTPS); this listener has tls')
    listeners.push({
      name, address, port,
      maxConnections: readInt(l.field('max_connections'), { min: 0 }, d.maxConnections),
      maxConnectionsPerClient: readInt(l.field('max_connections_per_client'), { min: 0 }, 0),
      maxBodySize: readSize(l.field('max_body_size'), d.maxBodySize, { min: 0, max: Number.MAX_SAFE_INTEGER }),
      // Node's parser needs room for a request line and a few headers; its own default is 16 KiB.
      maxHeaderSize: readSize(l.field('max_header_size'), d.maxHeaderSize, { min: 1024, max: 1024 ** 2 }),
      timeouts: readListenerTimeouts(l.field('timeouts')),
      trustedProxies: readTrustedProxies(l.field('trusted_proxies')),
      proxyProtocol: readBool(l.field('proxy_protocol'), false),
      reusePort: readReusePort(l.field('reuse_port'), port),
      tls, http2, redirectHttps,
    })
  }
  // HTTP-01 (the only ACME challenge switchyard answers) is validated over plain HTTP.
  if (!listeners.some((l) => l.tls === null)) {
    listeners.forEach((l, i) => {
      if (l.tls?.acme != null) c.item(i).field('tls').field('acme').report('needs a plain listener (port 80 in production): the ACME server validates each name over plain HTTP (HTTP-01)')
    })
  }
  return listeners
}

/**
 * `reuse_port`: each worker binds the port itself (Linux SO_REUSEPORT, nginx's `reuseport`).
 * Port 0 would give every worker a different port: refused.
 */
function readReusePort(c: Cursor, port: number | undefined): boolean {
  const on = readBool(c, false)
  if (on && port === 0) {
    c.report('needs a fixed port: with port 0 every worker would get a different one')
    return false
  }
  return on
}

/** `trusted_proxies`: CIDR ranges or bare addresses (docs/client-address.md); absent = none. */
function readTrustedProxies(c: Cursor): Cidr[] {
  if (c.absent) return []
  if (!Array.isArray(c.value)) {
    c.report(`must be a list of addresses or CIDR ranges such as [10.0.0.0/8, "::1"] (got ${describe(c.value)})`)
    return []
  }
  const out: Cidr[] = []
  for (const item of readList(c, 0, 'address')) {
    if (typeof item.value !== 'string') {
      item.report(`must be an address or a CIDR range as a string (got ${describe(item.value)})`)
      continue
    }
    const cidr = parseCidr(item.value)
    if ('error' in cidr) item.report(cidr.error)
    else out.push(cidr)
  }
  return out
}

function readListenerTimeouts(c: Cursor): ListenerTimeoutsConfig {
  checkMap(c, LISTENER_TIMEOUT_KEYS)
  const d = DEFAULTS.listener.timeouts
  const t = {
    requestHeadMs: readDuration(c.field('request_head'), d.requestHeadMs),
    requestMs: readDuration(c.field('request'), d.requestMs),
    keepAliveMs: readDuration(c.field('keep_alive'), d.keepAliveMs),
  }
  // Node refuses a request timeout shorter than the head timeout (the head is part of the request).
  if (t.requestMs < t.requestHeadMs) c.field(c.field('request').absent ? 'request_head' : 'request').report(`request (${t.requestMs} ms) must not be shorter than request_head (${t.requestHeadMs} ms)`)
  return t
}

export function readAdmin(c: Cursor, listeners: readonly ListenerConfig[]): AdminConfig {
  checkMap(c, ADMIN_KEYS)
  const address = readAddress(c.field('address'), DEFAULTS.adminAddress)
  const portCursor = c.field('port')
  const port = readInt(portCursor, PORT, DEFAULTS.adminPort)
  const clash = listeners.findIndex((l) => l.port === port)
  if (port > 0 && clash >= 0) {
    const how = portCursor.absent ? ` (the default admin port); set admin.port to another port` : ''
    portCursor.report(`port ${port} is also used by listeners.${clash}${how}`)
  }
  const requestMetrics = readBool(c.field('request_metrics'), DEFAULTS.requestMetrics)
  return { address, port, requestMetrics, ...readAdminToken(c.field('token_file')) }
}

function readAddress(c: Cursor, def: string): string {
  const address = readString(c, def)
  const error = address === '' ? undefined : checkListenAddress(address)
  if (error !== undefined) c.report(error)
  return address
}
