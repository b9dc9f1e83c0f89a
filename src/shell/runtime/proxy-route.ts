// A route to an upstream (without a cache): the router's target for it, compiled once per
// config load. It holds what the request path reads of the route, resolved already: its
// name (the access log's `route`, made into bytes here), its buffering (the upstream's with
// the route's switches over it, config/buffering.ts; null when nothing is buffered) and its
// timeouts (the route's `timeouts` over the upstream's). An exchange passes the two response
// timeouts with each dispatch (undici takes them per request), so a route that idles for an
// hour (SSE, long polls) shares its servers' Pools with the API route next to it.
// A route with a cache has a CachedRoute, which holds one of these for the same settings.
import type { BufferingConfig, RouteTimeoutsConfig, TimeoutsConfig } from '../../config/types.js'
import type { Upstream } from './upstreams.js'

const bytes = (s: string): Buffer => Buffer.from(s, 'utf8')

export class ProxyRoute {
  readonly name: string
  readonly upstream: Upstream
  readonly buffering: BufferingConfig | null
  readonly timeouts: TimeoutsConfig
  /** The access log's `,"route":"<name>"`, made once. */
  readonly accessRoute: Buffer

  constructor(name: string, upstream: Upstream, buffering: BufferingConfig | null, timeouts: RouteTimeoutsConfig | undefined) {
    this.name = name
    this.upstream = upstream
    this.buffering = buffering
    const own = upstream.config.timeouts
    this.timeouts = timeouts === undefined ? own : {
      connectMs: own.connectMs,
      responseHeadersMs: timeouts.responseHeadersMs ?? own.responseHeadersMs,
      idleMs: timeouts.idleMs ?? own.idleMs,
    }
    this.accessRoute = ProxyRoute.accessRoute(name)
  }

  /** `,"route":"<name>"` for a line of the access log (names come from the validated config: JSON-safe, escaped anyway). */
  static accessRoute(name: string): Buffer {
    return bytes(`,"route":${JSON.stringify(name)}`)
  }
}
