// The client's address: what X-Forwarded-For gets appended and what ip_hash and
// `hash_key: client_ip` hash. One function on purpose: today it is the TCP peer (there is
// no trusted proxy header or PROXY protocol yet); when switchyard learns to trust
// X-Forwarded-For or PROXY protocol from known proxies, this is the one place that changes.
// In runtime/ rather than request/ because the upstream's Affinity (built here) reads it.
import type { IncomingMessage } from 'node:http'

export function clientAddress(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? ''
}
