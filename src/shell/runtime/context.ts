// What the request path reads from the running config, and what the process shares with it.
// Kept apart from request/ so that runtime/ (which builds these) never imports the code that
// reads them: imports flow request -> runtime, never back.
import type { Router } from '../../core/routes.js'
import type { AccessLog } from '../observe/access-log.js'
import type { RequestStats } from '../observe/request-stats.js'
import type { CachedRoute } from './cached-route.js'
import type { ProxyRoute } from './proxy-route.js'
import type { StaticSite } from './static-site.js'
import type { OpenTunnel } from './upstreams.js'
import type { PolicyRoute } from './policy-route.js'
import type { ErrorPagesConfig } from '../../config/policy-types.js'

export type { OpenTunnel }

/** Where a route leads: an upstream (proxied, with the route's buffering and timeouts), behind a cache, or a static directory; or any of these behind the route's policies. */
export type RouteTarget = ProxyRoute | CachedRoute | StaticSite | PolicyRoute

export interface ForwardContext {
  readonly router: Router<RouteTarget>
  /** null when `log.access_log` is false (or the level is above info). */
  readonly accessLog: AccessLog | null
  /** requests_total / duration for requests that reached no upstream (400, 404). */
  readonly unrouted: RequestStats
  /** `admin.request_metrics`: false skips the per-request series. */
  readonly requestMetrics: boolean
  /** Shared with the process: true once a graceful shutdown has begun. */
  readonly lifecycle: Lifecycle
  /** Top-level `error_pages` (the 404 of no route uses them); null: none. */
  readonly errorPages: ErrorPagesConfig | null
}

/** The process's state the request path must see: one object per process, across reloads. */
export interface Lifecycle {
  /** Every listener accepts (in every worker): /readyz answers 200 from then on. */
  ready: boolean
  /** A graceful shutdown has begun. */
  draining: boolean
  /**
   * Open WebSocket tunnels, of every config this process has run: cut when shutdown_timeout
   * runs out, and counted by upstream for switchyard_websocket_connections (one set per
   * process, so a reload neither forgets nor double-counts a tunnel).
   */
  readonly websockets: Set<OpenTunnel>
}

