// The client's address (contract section 6): what X-Forwarded-For gets appended, what
// X-Real-IP is set to, the access log's `client`, and what ip_hash and `hash_key:
// client_ip` hash. One value per request, from one place:
// - a listener without trusted_proxies and proxy_protocol: the TCP peer, read as it is
//   (no work, no allocation: clientAddress() finds no tag and reads the socket);
// - with proxy_protocol: the PROXY header's source (process/proxy-protocol.ts tags the
//   connection), else the peer (LOCAL, UNKNOWN);
// - with trusted_proxies, when that address is in them: the right-most X-Forwarded-For
//   entry not in them (core/forwarded-for.ts, nginx realip with real_ip_recursive on), and
//   the request's X-Forwarded-Proto is believed.
// The listener's ClientAddressing computes it once, when the request arrives, and tags
// the request; everything after reads the tag.
// In runtime/ rather than request/ because the upstream's Affinity (built here) reads it.
import type { IncomingMessage } from 'node:http'
import { BlockList, isIP, type Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { ListenerConfig } from '../../config/types.js'
import { clientFromForwardedFor } from '../../core/forwarded-for.js'

const kClient = Symbol('switchyard.client')
const kTrustedPeer = Symbol('switchyard.trustedPeer')
const kProxySource = Symbol('switchyard.proxySource')

type TaggedRequest = IncomingMessage & { [kClient]?: string; [kTrustedPeer]?: boolean }
/** A TLS socket over a tagged TCP socket reaches it as _parentWrap (node:tls). */
type TaggedSocket = Socket & { [kProxySource]?: string; _parentWrap?: TaggedSocket }

/**
 * `socket`: the request's socket, for callers that kept it (a destroyed IncomingMessage no
 * longer points at its socket; the peer's address stays readable on the socket itself).
 */
export function clientAddress(req: IncomingMessage, socket: Socket | null = req.socket): string {
  return (req as TaggedRequest)[kClient] ?? socket?.remoteAddress ?? ''
}

/** The peer is in the listener's trusted_proxies: its X-Forwarded-Proto is kept. */
export function fromTrustedProxy(req: IncomingMessage): boolean {
  return (req as TaggedRequest)[kTrustedPeer] === true
}

/** X-Forwarded-Proto: https on a TLS socket (HTTPS, and HTTP/2 compat requests), else http. */
export function requestProto(req: IncomingMessage): 'https' | 'http' {
  return (req.socket as TLSSocket | null)?.encrypted === true ? 'https' : 'http'
}

/** The PROXY header's source address, set on the connection before HTTP reads it. */
export function setProxySource(socket: Socket, address: string): void {
  ;(socket as TaggedSocket)[kProxySource] = address
}

function proxySource(socket: Socket): string | undefined {
  const s = socket as TaggedSocket
  return s[kProxySource] ?? s._parentWrap?.[kProxySource]
}

/** A listener's rules for the client address; null when it has neither trusted_proxies nor proxy_protocol. */
export class ClientAddressing {
  readonly #trusted: BlockList | null
  readonly #proxyProtocol: boolean

  static of(config: ListenerConfig): ClientAddressing | null {
    return config.trustedProxies.length > 0 || config.proxyProtocol ? new ClientAddressing(config) : null
  }

  private constructor(config: ListenerConfig) {
    this.#proxyProtocol = config.proxyProtocol
    if (config.trustedProxies.length === 0) {
      this.#trusted = null
      return
    }
    const list = new BlockList()
    for (const c of config.trustedProxies) {
      const type = c.family === 4 ? 'ipv4' : 'ipv6'
      if (c.prefix === (c.family === 4 ? 32 : 128)) list.addAddress(c.network, type)
      else list.addSubnet(c.network, c.prefix, type)
    }
    this.#trusted = list
  }

  /** Computes the request's client address once and tags the request with it. */
  tag(req: IncomingMessage): void {
    const socket = req.socket
    const peer = (this.#proxyProtocol ? proxySource(socket) : undefined) ?? socket.remoteAddress ?? ''
    const r = req as TaggedRequest
    const trusted = this.#trusted
    if (trusted === null || !isTrusted(trusted, peer)) {
      r[kClient] = peer
      return
    }
    r[kTrustedPeer] = true
    r[kClient] = clientFromForwardedFor(peer, forwardedFor(req.rawHeaders), (address, family) => trusted.check(address, family === 4 ? 'ipv4' : 'ipv6'))
  }
}

function isTrusted(list: BlockList, address: string): boolean {
  const family = isIP(address)
  return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6')
}

/** The request's X-Forwarded-For values in order (from rawHeaders: req.headers is never built). */
function forwardedFor(raw: readonly string[]): string[] {
  const out: string[] = []
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string
    if (name.length === 15 && name.toLowerCase() === 'x-forwarded-for') out.push(raw[i + 1] as string)
  }
  return out
}
