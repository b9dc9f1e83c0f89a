// One DNS lookup of a `dns:` or `srv:` server entry, through node:dns's Resolver (c-ares):
// real DNS queries to the upstream's `resolver` or the system's name servers
// (/etc/resolv.conf). Not getaddrinfo (dns.lookup): it has no TTL, reads /etc/hosts and runs
// on libuv's thread pool. c-ares' resolve4/resolve6 do not apply resolv.conf's search
// domains: names are written in full (app-headless.default.svc.cluster.local).
// - dns: A and AAAA are asked together; the answer is every address of both, with the
//   smallest TTL. Only when neither has an address is the lookup `empty` (both NODATA) or
//   `failed` (any other error, NXDOMAIN included).
// - srv: the SRV records, those of the lowest priority, at most MAX_RECORDS of them, then an
//   A/AAAA lookup of each distinct target (node:dns does not expose the answer's additional
//   section). node:dns gives SRV records no TTL: the TTL used is the targets' smallest, and
//   resolve_interval bounds it as always (resolveAny would carry it, but ANY queries are
//   refused or answered minimally by many servers, RFC 8482). A target that does not
//   resolve is skipped.
// The decisions (result classes, caps, priorities, delays) are in core/discovery.ts.
import { Resolver } from 'node:dns/promises'
import type { DiscoveryConfig } from '../../config/types.js'
import { lowestPriority, MAX_RECORDS, resultOfError, srvWeight, type FoundAddress } from '../../core/discovery.js'

/** c-ares waits this long for an answer, and asks twice: a dead DNS server fails a lookup within seconds. */
const QUERY_TIMEOUT_MS = 1500
const QUERY_TRIES = 2

export type Lookup =
  | { readonly result: 'ok'; readonly found: readonly FoundAddress[]; readonly ttlSeconds: number | null }
  | { readonly result: 'failed' | 'empty'; readonly code: string | undefined }

/** A Resolver asking `server` ("ip:port"), or the system's name servers when null. */
export function makeResolver(server: string | null): Resolver {
  const resolver = new Resolver({ timeout: QUERY_TIMEOUT_MS, tries: QUERY_TRIES })
  if (server !== null) resolver.setServers([server])
  return resolver
}

const codeOf = (err: unknown): string | undefined => (err as { code?: string } | null)?.code

/** A and AAAA of a name: every address found, and the error code that counts when there is none. */
async function addresses(resolver: Resolver, name: string): Promise<{ ips: { address: string; ttl: number }[]; code: string | undefined }> {
  const [v4, v6] = await Promise.allSettled([resolver.resolve4(name, { ttl: true }), resolver.resolve6(name, { ttl: true })])
  const ips = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])]
  const codes = [v4, v6].flatMap((r) => (r.status === 'rejected' ? [codeOf(r.reason)] : []))
  return { ips, code: codes.find((c) => c !== 'ENODATA') ?? codes[0] }
}

const minTtl = (ttls: readonly number[]): number | null => (ttls.length === 0 ? null : Math.min(...ttls))

/** Looks the entry up once. Never throws: an unexpected error is a `failed` lookup. */
export async function lookupEntry(resolver: Resolver, entry: DiscoveryConfig): Promise<Lookup> {
  try {
    return entry.kind === 'dns' ? await lookupDns(resolver, entry) : await lookupSrv(resolver, entry)
  } catch (err) {
    return { result: 'failed', code: codeOf(err) ?? 'EUNEXPECTED' }
  }
}

async function lookupDns(resolver: Resolver, entry: DiscoveryConfig): Promise<Lookup> {
  const { ips, code } = await addresses(resolver, entry.name)
  if (ips.length === 0) return { result: resultOfError(code ?? 'ENODATA'), code: code ?? 'ENODATA' }
  return {
    result: 'ok',
    found: ips.map((ip) => ({ address: ip.address, port: entry.port, weight: entry.weight })),
    ttlSeconds: minTtl(ips.map((ip) => ip.ttl)),
  }
}

async function lookupSrv(resolver: Resolver, entry: DiscoveryConfig): Promise<Lookup> {
  let records
  try {
    records = await resolver.resolveSrv(entry.name)
  } catch (err) {
    const code = codeOf(err)
    return { result: resultOfError(code), code }
  }
  const chosen = lowestPriority(records)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.port - b.port))
    .slice(0, MAX_RECORDS)
  if (chosen.length === 0) return { result: 'empty', code: 'ENODATA' }
  const targets = [...new Set(chosen.map((r) => r.name))]
  const answers = new Map(await Promise.all(targets.map(async (t) => [t, await addresses(resolver, t)] as const)))
  const found: FoundAddress[] = []
  const ttls: number[] = []
  for (const r of chosen) {
    for (const ip of answers.get(r.name)?.ips ?? []) {
      found.push({ address: ip.address, port: r.port, weight: srvWeight(r.weight) })
      ttls.push(ip.ttl)
    }
  }
  if (found.length > 0) return { result: 'ok', found, ttlSeconds: minTtl(ttls) }
  const code = [...answers.values()].map((a) => a.code).find((c) => c !== undefined && c !== 'ENODATA')
  return code === undefined ? { result: 'empty', code: 'ENODATA' } : { result: 'failed', code }
}
