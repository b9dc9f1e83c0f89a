// A route with request or response buffering (issue #16): the router's target for it, built
// once per config load with its upstream's buffering and the route's override resolved
// (config/buffering.ts). A route that buffers nothing leads to its Upstream itself, so a
// request there pays nothing for the feature. A route with a cache keeps its CachedRoute,
// which carries the same settings (request buffering only: a fill reads for the cache).
import type { BufferingConfig } from '../../config/types.js'
import type { Upstream } from './upstreams.js'

export class BufferedRoute {
  readonly upstream: Upstream
  readonly buffering: BufferingConfig

  constructor(upstream: Upstream, buffering: BufferingConfig) {
    this.upstream = upstream
    this.buffering = buffering
  }
}
