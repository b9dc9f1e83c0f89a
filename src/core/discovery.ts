// DNS discovery (`servers: [{ dns: "app.internal:8000" }]`, `[{ srv: "_http._tcp.app" }]`):
// the decisions, without the lookups. The shell (shell/runtime/discovery.ts) asks the
// resolver and hands the answers here:
// - what a lookup's outcome counts as (`ok`, `failed`, `empty`) and how it reads in a log;
// - when to look again: at the answer's smallest TTL, clamped to [1s, resolve_interval];
//   after a failed or empty lookup, 1s doubling up to resolve_interval (the last good set is
//   kept meanwhile, so there is no hurry, and a broken resolver is not hammered);
// - which records are taken: SRV's lowest priority only; duplicates dropped; sorted, so a
//   DNS server that rotates its answer (round-robin DNS) does not look like a change; at
//   most MAX_RECORDS, so an answer of 1,000 records cannot build 1,000 Pools;
// - what changed between two sets (joined, left, kept), by `address:port`.
// Pure: no clock, no I/O; the TTLs and error codes come in as values.

/** The most addresses one `dns:` or `srv:` entry contributes; the rest of a bigger answer is dropped (and logged). */
export const MAX_RECORDS = 256

/** No name is looked up more often than this, whatever its TTL (contract: "never more often than every 1s"). */
export const MIN_LOOKUP_MS = 1000

export type LookupResult = 'ok' | 'failed' | 'empty'

export const LOOKUP_RESULTS: readonly LookupResult[] = ['ok', 'failed', 'empty']

/** One address a lookup found: where to connect, and the server weight it carries. */
export interface FoundAddress {
  readonly address: string // an IPv4 or IPv6 literal, without brackets
  readonly port: number
  readonly weight: number // 1..1000
}

/** An SRV record as node:dns gives it. */
export interface SrvRecord {
  readonly name: string
  readonly port: number
  readonly priority: number
  readonly weight: number
}

/**
 * A failed lookup's node:dns error code -> `empty` when the name exists but has no record of
 * the type asked (NODATA), `failed` for everything else: the name does not exist (NXDOMAIN),
 * the server failed or refused, no answer in time.
 */
export function resultOfError(code: string | undefined): 'failed' | 'empty' {
  return code === 'ENODATA' ? 'empty' : 'failed'
}

const ERROR_TEXT: Record<string, string> = {
  ENODATA: 'no record of this type (NODATA)',
  ENOTFOUND: 'the name does not exist (NXDOMAIN)',
  ESERVFAIL: 'the DNS server failed (SERVFAIL)',
  EREFUSED: 'the DNS server refused the query (REFUSED)',
  ETIMEOUT: 'no answer from the DNS server in time',
  ECONNREFUSED: 'the DNS server refused the connection (nothing listens there)',
  EBADRESP: 'a malformed answer',
  EFORMERR: 'the DNS server could not read the query (FORMERR)',
  ENOTIMP: 'the DNS server does not implement this query (NOTIMP)',
  EBADNAME: 'not a valid DNS name',
  ECANCELLED: 'the lookup was cancelled',
}

/** How a lookup error reads in the log: "the name does not exist (NXDOMAIN)". */
export function lookupErrorText(code: string | undefined): string {
  return (code !== undefined ? ERROR_TEXT[code] : undefined) ?? `lookup error ${code ?? 'unknown'}`
}

/**
 * When to look a name up again, in ms. `ttlSeconds`: the smallest TTL of an `ok` answer
 * (null when unknown: SRV answers carry none in node:dns). `failures`: failed or empty
 * lookups in a row, this one included (0 after an ok).
 */
export function nextLookupMs(result: LookupResult, ttlSeconds: number | null, intervalMs: number, failures: number): number {
  const ceiling = Math.max(MIN_LOOKUP_MS, intervalMs)
  if (result !== 'ok') return Math.min(ceiling, MIN_LOOKUP_MS * 2 ** Math.min(30, Math.max(0, failures - 1)))
  if (ttlSeconds === null || !Number.isFinite(ttlSeconds)) return ceiling
  return Math.min(ceiling, Math.max(MIN_LOOKUP_MS, ttlSeconds * 1000))
}

/** The `server` label of an address: `10.0.0.5:8000`, `[fd00::5]:8000`. */
export function addressId(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`
}

/** An SRV weight as a server weight: 0 ("use rarely") becomes 1, above 1000 is clamped. */
export function srvWeight(weight: number): number {
  return Math.min(1000, Math.max(1, Math.floor(weight)))
}

/** The SRV records a client uses: those of the lowest priority (RFC 2782), without "." targets (service not offered). */
export function lowestPriority(records: readonly SrvRecord[]): SrvRecord[] {
  const usable = records.filter((r) => r.name !== '' && r.name !== '.')
  if (usable.length === 0) return []
  const lowest = Math.min(...usable.map((r) => r.priority))
  return usable.filter((r) => r.priority === lowest)
}

const byId = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/**
 * The addresses an entry contributes: duplicates (same address and port) dropped, the first
 * one's weight kept; sorted by id; at most `cap`. `dropped` counts the distinct addresses cut.
 */
export function takeAddresses(found: readonly FoundAddress[], cap = MAX_RECORDS): { taken: FoundAddress[]; dropped: number } {
  const seen = new Map<string, FoundAddress>()
  for (const a of found) {
    const id = addressId(a.address, a.port)
    if (!seen.has(id)) seen.set(id, a)
  }
  const sorted = [...seen].map(([id, a]) => ({ id, a })).sort(byId).map((x) => x.a)
  return { taken: sorted.slice(0, cap), dropped: Math.max(0, sorted.length - cap) }
}

/** What changed from one set of server ids to the next, each list in the order given. */
export function diffSets(before: readonly string[], after: readonly string[]): { joined: string[]; left: string[]; kept: string[] } {
  const was = new Set(before)
  const is = new Set(after)
  return {
    joined: after.filter((id) => !was.has(id)),
    left: before.filter((id) => !is.has(id)),
    kept: after.filter((id) => was.has(id)),
  }
}
