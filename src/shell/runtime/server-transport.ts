// How switchyard connects to an upstream's servers, made once per upstream at config load
// and shared by the data Pools (upstreams.ts) and the health probes (health-checker.ts), so
// a probe proves what traffic will meet: the same CA, name, client certificate and protocol.
// - https:// servers: undici's connector gets the tls.connect options: `ca` (else the
//   system's), `rejectUnauthorized` (verify), `cert`/`key` (mTLS). The name verified and
//   sent as SNI is pinned per server (`servername` on every dispatch): server_name, else the
//   URL's host. Without the pin undici would take it from each request's Host header, and
//   connections would be torn down whenever two clients' Host headers differ.
//   An IP literal as the name is verified against the certificate's IP addresses (Node
//   warns once, DEP0123, that it also goes out as SNI: set server_name to avoid it).
// - http2: undici's allowH2 (ALPN offers h2 then http/1.1 on https://; prior knowledge,
//   h2c, on http://). undici 8 enables allowH2 by default: it is always set explicitly
//   here, so `http2: false` means HTTP/1.1 only.
import type { UpstreamConfig } from '../../config/types.js'

export interface Transport {
  /** undici Client/Pool options for connecting (merged into each Pool's and probe Client's). */
  readonly options: {
    readonly allowH2: boolean
    readonly useH2c?: boolean
    readonly connect: Record<string, unknown>
  }
  /** The name verified and sent as SNI for a server URL; null for http://. */
  serverName(url: string): string | null
}

export function transportOf(u: UpstreamConfig, connectTimeoutMs: number): Transport {
  const tls = u.tls
  const connect: Record<string, unknown> = { timeout: connectTimeoutMs }
  if (tls !== null) {
    if (tls.ca !== null) connect.ca = tls.ca
    connect.rejectUnauthorized = tls.verify
    if (tls.cert !== null && tls.key !== null) {
      connect.cert = tls.cert
      connect.key = tls.key
    }
  }
  const anyPlain = u.discovery.length > 0 || u.servers.some((s) => !s.url.startsWith('https:')) // http:// or unix: (servers found by DNS are http://)
  return {
    options: {
      allowH2: u.http2,
      // Top-level useH2c: undici 8.12's Pool does not pass `h2Options` on to its Clients.
      ...(u.http2 && anyPlain ? { useH2c: true } : {}),
      connect,
    },
    serverName(url: string): string | null {
      if (!url.startsWith('https:')) return null
      if (tls?.serverName != null) return tls.serverName
      const host = new URL(url).hostname
      return host.startsWith('[') ? host.slice(1, -1) : host
    },
  }
}

/** The part of a Pool's settings that a reload must see change to build a new Pool. */
export function transportKey(u: UpstreamConfig): string {
  return JSON.stringify([u.http2, u.tls])
}
