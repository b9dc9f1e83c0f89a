// A config compiled into what the request path reads: the router over Upstream objects
// (with their pools and balancers). Built once per config load; never per request.
import type { Config } from '../config/types.js'
import { buildRouter } from '../core/routes.js'
import { Upstream } from './upstreams.js'
import type { ForwardContext, Lifecycle } from './forward.js'
import type { Logger } from './log.js'

export class Runtime {
  readonly config: Config
  readonly upstreams: ReadonlyMap<string, Upstream>
  readonly forward: ForwardContext

  constructor(config: Config, log: Logger, lifecycle: Lifecycle) {
    this.config = config
    const upstreams = new Map<string, Upstream>()
    for (const u of config.upstreams) upstreams.set(u.name, new Upstream(u, log))
    this.upstreams = upstreams
    const router = buildRouter(config.routes.map((r) => ({
      host: r.host,
      pathPrefix: r.pathPrefix,
      target: upstreams.get(r.upstream) as Upstream, // the loader checked that it exists
    })))
    this.forward = {
      router,
      accessLog: config.log.accessLog ? log.child({ kind: 'access' }) : null,
      lifecycle,
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.upstreams.values()].map((u) => u.close()))
  }
}
