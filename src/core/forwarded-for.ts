// The client address behind trusted proxies (contract section 6): nginx's realip module
// with `real_ip_recursive on`. The peer is trusted, so the right-most X-Forwarded-For
// entry was written by it; walk right to left past every trusted address; the first
// untrusted one is the client. Every entry trusted: the left-most is the client. An
// entry that is not a bare IPv4/IPv6 address stops the walk and the peer stays the client
// (as nginx: a garbled chain is believed no further than the peer).
// `trusted` is the listener's BlockList check, passed in (the core does no I/O).
import { ipFamily } from './ip-address.js'

export type TrustCheck = (address: string, family: 4 | 6) => boolean

/**
 * `forwardedFor`: the request's X-Forwarded-For values in order (several headers count as
 * one comma-separated list). Returns the client address; the caller has already seen that
 * `peer` is trusted.
 */
export function clientFromForwardedFor(peer: string, forwardedFor: readonly string[], trusted: TrustCheck): string {
  let client = peer
  for (let h = forwardedFor.length - 1; h >= 0; h--) {
    const entries = (forwardedFor[h] as string).split(',')
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = (entries[i] as string).trim()
      if (entry === '' ) continue // "a, , b" and a trailing comma: nothing to believe or refuse
      const family = ipFamily(entry)
      if (family === 0) return peer
      client = entry
      if (!trusted(entry, family)) return client
    }
  }
  return client
}
