// Affinity, compiled once per upstream at config load: what pins a request to a server.
// - The hash key (balance: ip_hash, or balance: hash with hash_key): read from the request
//   and hashed in place (hash32Range over the string: no slice, no allocation) into the
//   number the hash balancer places on its ring; NO_KEY when the header or cookie is
//   absent (the request is then balanced by round robin).
// - The sticky cookie (sticky:, any balance): the member index its value names, and the
//   Set-Cookie header value of each member, both made here, never per request.
// An upstream with neither has no Affinity (null): requests pay one null check.
//
// ip_hash hashes the whole client address (IPv4 or IPv6, an IPv4-mapped IPv6 address
// "::ffff:10.0.0.1" as its IPv4 form), not nginx's first three octets: clients behind one
// /24 are spread over the servers instead of all landing on one.
import type { IncomingMessage } from 'node:http'
import type { HashKeyConfig, ServerConfig, UpstreamConfig } from '../../config/types.js'
import { NO_KEY } from '../../core/balancers.js'
import { hash32Range } from '../../core/hash32.js'
import { cookieEnd, cookieStart, stickySetCookie, stickyValue } from '../../core/sticky.js'
import { clientAddress } from './client-address.js'

type Source = 'none' | HashKeyConfig['source']

const MAPPED_V4 = '::ffff:'

export class Affinity {
  readonly #source: Source
  readonly #name: string // header (lower case) or cookie name of the hash key
  readonly #stickyCookie: string // '' without sticky
  /** By member index: the sticky cookie's value naming that member. */
  readonly #values: readonly string[]
  /** By member index: the Set-Cookie header value that pins a client to that member. */
  readonly setCookies: readonly string[]
  /** The same with `Secure`, for a client on a TLS listener (none yet: nothing asks for these today). */
  readonly secureSetCookies: readonly string[]

  /** null when the upstream has no hash balance and no sticky cookie. `servers`: the members' servers, by index (default the config's). */
  static of(config: UpstreamConfig, servers: readonly ServerConfig[] = config.servers): Affinity | null {
    const hashed = config.balance === 'ip_hash' || config.balance === 'hash'
    return hashed || config.sticky !== null ? new Affinity(config, servers) : null
  }

  private constructor(config: UpstreamConfig, servers: readonly ServerConfig[]) {
    const key: HashKeyConfig | null = config.balance === 'ip_hash' ? { source: 'client_ip', name: '' } : config.balance === 'hash' ? config.hashKey : null
    this.#source = key === null ? 'none' : key.source
    this.#name = key?.name ?? ''
    const sticky = config.sticky
    this.#stickyCookie = sticky?.cookie ?? ''
    this.#values = sticky === null ? [] : servers.map((s) => stickyValue(config.name, s.id))
    this.setCookies = sticky === null ? [] : this.#values.map((v) => stickySetCookie(sticky.cookie, v, sticky.maxAgeMs, false))
    this.secureSetCookies = sticky === null ? [] : this.#values.map((v) => stickySetCookie(sticky.cookie, v, sticky.maxAgeMs, true))
  }

  get sticky(): boolean {
    return this.#stickyCookie !== ''
  }

  /** The request's hash key for the balancer, or NO_KEY. */
  keyOf(req: IncomingMessage): number {
    switch (this.#source) {
      case 'none':
        return NO_KEY
      case 'client_ip': {
        const ip = clientAddress(req)
        const start = ip.startsWith(MAPPED_V4) && ip.includes('.') ? MAPPED_V4.length : 0
        return hash32Range(ip, start, ip.length)
      }
      case 'path': {
        const url = req.url ?? ''
        const q = url.indexOf('?')
        return hash32Range(url, 0, q < 0 ? url.length : q)
      }
      case 'header': {
        const v = req.headers[this.#name]
        return typeof v === 'string' && v !== '' ? hash32Range(v, 0, v.length) : NO_KEY
      }
      case 'cookie': {
        const header = req.headers.cookie
        if (header === undefined) return NO_KEY
        const start = cookieStart(header, this.#name)
        if (start < 0) return NO_KEY
        const end = cookieEnd(header, start)
        return end > start ? hash32Range(header, start, end) : NO_KEY
      }
    }
  }

  /** The member index the client's sticky cookie names, or -1 (no sticky, no cookie, or a value naming no member). */
  pinnedOf(req: IncomingMessage): number {
    if (this.#stickyCookie === '') return -1
    const header = req.headers.cookie
    if (header === undefined) return -1
    const start = cookieStart(header, this.#stickyCookie)
    if (start < 0) return -1
    const length = cookieEnd(header, start) - start
    const values = this.#values
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as string
      if (v.length === length && header.startsWith(v, start)) return i
    }
    return -1
  }
}
