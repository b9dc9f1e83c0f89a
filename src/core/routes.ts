// Route matching: (Host header, request target) -> the target of the best route.
//
// Pure and allocation-light: everything that can be decided from the route list alone
// (grouping by host, sorting by prefix length, ordering wildcards) is done once in
// buildRouter(); a lookup does at most one slice + toLowerCase of the Host value and
// then only string compares (startsWith at an offset, so the path is never copied).
//
// Rules (docs/configuration.md):
// - host: exact ("api.example.com", equal ignoring case and port), leading wildcard
//   ("*.example.com": the host ends with ".example.com" and has at least one more,
//   non-empty label before it, at any depth; "example.com" itself does not match), or
//   null (any host, also a request without Host).
// - path_prefix matches on a segment boundary: "/api" matches "/api", "/api/",
//   "/api/x", "/api?q" but not "/apix"; "/" matches everything. The query is ignored;
//   the raw bytes are compared (no percent-decoding, no dot-segment removal), so
//   "/%61pi" does not match "/api" — the same bytes go upstream unchanged.
// - Ranking: exact host beats wildcard (a longer wildcard suffix beats a shorter one)
//   beats no host; within the best host tier that has a candidate the longest prefix
//   wins. A tier without a matching prefix falls through to the next one.
// - Among identical (host, prefix) duplicates the first in the list wins (stable sort).
//
// Host normalisation: the port is stripped ("a.com:8080", "[::1]:8080" -> "[::1]"),
// letters are lower-cased, and one trailing dot of a fully qualified name is removed
// ("example.com." == "example.com", as nginx does).
//
// Absolute-form targets ("GET http://a.example.com/x HTTP/1.1", RFC 9112 3.2.2): the
// host comes from the target's authority (the Host header is ignored, as the RFC asks of
// a server) and the path from the part after it. Asterisk-form ("OPTIONS *") and any
// other non-"/" target only match "/" routes.

export interface RouteEntry<T> {
  readonly host: string | null
  readonly pathPrefix: string
  readonly target: T
}

export type Router<T> = (host: string | undefined, url: string) => T | undefined

/** Prefixes of one host tier, longest first. Parallel arrays: no object per entry. */
interface Tier<T> {
  readonly prefixes: string[]
  readonly targets: T[]
}

interface WildcardTier<T> extends Tier<T> {
  /** ".example.com" for "*.example.com". */
  readonly suffix: string
}

const SLASH = 0x2f
const DOT = 0x2e
const OPEN_BRACKET = 0x5b

function makeTier<T>(entries: RouteEntry<T>[]): Tier<T> {
  // Stable sort (ES2019+): equal-length prefixes keep list order, so the first of two
  // identical routes wins.
  const sorted = entries.slice().sort((a, b) => b.pathPrefix.length - a.pathPrefix.length)
  return { prefixes: sorted.map((e) => e.pathPrefix), targets: sorted.map((e) => e.target) }
}

/**
 * The longest prefix of `tier` that matches url's path on a segment boundary.
 * `start` is where the path begins in url, `end` where it ends ('?' or url.length).
 */
function matchTier<T>(tier: Tier<T>, url: string, start: number, end: number): T | undefined {
  const { prefixes, targets } = tier
  for (let i = 0; i < prefixes.length; i++) {
    const p = prefixes[i] as string
    // "/" matches every target (also "*" and an empty absolute-form path).
    if (p.length === 1) return targets[i]
    const after = start + p.length
    if (after > end || !url.startsWith(p, start)) continue
    // Segment boundary: the prefix ends the path, or the next byte is "/". A "?" at
    // `after` means after === end, so "/api?q" matches "/api".
    if (after === end || url.charCodeAt(after) === SLASH) return targets[i]
  }
  return undefined
}

/** "Host: A.Example.com:8080" -> "a.example.com"; "[::1]:80" -> "[::1]". */
function normaliseHost(host: string, from: number, to: number): string {
  let end = to
  if (host.charCodeAt(from) === OPEN_BRACKET) {
    // IPv6 literal: the port, if any, follows the closing bracket.
    const close = host.indexOf(']', from)
    if (close !== -1 && close < to) end = close + 1
  } else {
    const colon = host.lastIndexOf(':', to - 1)
    if (colon >= from) end = colon
  }
  if (end > from + 1 && host.charCodeAt(end - 1) === DOT) end--
  // slice() is skipped when nothing is cut; these two are the only allocations of a
  // lookup (~90 ns for host + path on Node 24, ~25 ns without host routes).
  const h = from === 0 && end === host.length ? host : host.slice(from, end)
  return h.toLowerCase()
}

export function buildRouter<T>(routes: readonly RouteEntry<T>[]): Router<T> {
  const exactLists = new Map<string, RouteEntry<T>[]>()
  const wildLists = new Map<string, RouteEntry<T>[]>()
  const anyList: RouteEntry<T>[] = []
  for (const r of routes) {
    if (r.host === null) {
      anyList.push(r)
    } else if (r.host.startsWith('*.')) {
      const suffix = r.host.slice(1).toLowerCase()
      let l = wildLists.get(suffix)
      if (l === undefined) wildLists.set(suffix, (l = []))
      l.push(r)
    } else {
      const h = r.host.toLowerCase()
      let l = exactLists.get(h)
      if (l === undefined) exactLists.set(h, (l = []))
      l.push(r)
    }
  }

  const exact = new Map<string, Tier<T>>()
  for (const [h, l] of exactLists) exact.set(h, makeTier(l))
  // Longer suffix first: "*.eu.example.com" is more specific than "*.example.com".
  const wildcards: WildcardTier<T>[] = [...wildLists]
    .map(([suffix, l]) => ({ suffix, ...makeTier(l) }))
    .sort((a, b) => b.suffix.length - a.suffix.length)
  const any: Tier<T> | null = anyList.length > 0 ? makeTier(anyList) : null
  const hostTiers = exact.size > 0 || wildcards.length > 0

  return function route(hostHeader: string | undefined, url: string): T | undefined {
    // Where the path starts and ends inside url (no substring is made).
    let start = 0
    let end = url.indexOf('?')
    if (end === -1) end = url.length
    let hostFrom = 0
    let hostTo = hostHeader === undefined ? 0 : hostHeader.length
    let hostSrc = hostHeader

    if (url.charCodeAt(0) !== SLASH) {
      // Absolute-form "scheme://authority/path": take host and path from the target.
      const scheme = url.indexOf('://')
      if (scheme !== -1 && scheme < end) {
        const auth = scheme + 3
        let pathAt = url.indexOf('/', auth)
        if (pathAt === -1 || pathAt > end) pathAt = end
        // Drop userinfo ("user@host") if present.
        const at = url.lastIndexOf('@', pathAt - 1)
        hostSrc = url
        hostFrom = at >= auth ? at + 1 : auth
        hostTo = pathAt
        start = pathAt
      }
    }

    if (hostTiers && hostSrc !== undefined && hostTo > hostFrom) {
      const host = normaliseHost(hostSrc, hostFrom, hostTo)
      if (exact.size > 0) {
        const tier = exact.get(host)
        if (tier !== undefined) {
          const t = matchTier(tier, url, start, end)
          if (t !== undefined) return t
        }
      }
      for (let i = 0; i < wildcards.length; i++) {
        const w = wildcards[i] as WildcardTier<T>
        // At least one non-empty label before the suffix: "x.example.com", not
        // "example.com" nor ".example.com".
        if (host.length > w.suffix.length && host.endsWith(w.suffix)) {
          const t = matchTier(w, url, start, end)
          if (t !== undefined) return t
        }
      }
    }
    return any === null ? undefined : matchTier(any, url, start, end)
  }
}

