// The one step of the request path that runs a route's policy chain (runtime/policy-route.ts):
// each step in order; a Denial is answered here (with the route's error page, counted in
// switchyard_policy_denials_total, logged like any local answer); when every step passes, the
// route's inner target serves the request (`serve`, forward.ts). A step that returns a
// Promise (Redis, bcrypt) suspends the chain; the request body waits unread meanwhile, and a
// client that left in between is only logged (499).
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { UpstreamHeaders } from '../../core/headers.js'
import type { ForwardContext } from '../runtime/context.js'
import type { Denial, InnerTarget, PolicyRoute } from '../runtime/policy-route.js'
import { AccessLog } from '../observe/access-log.js'
import { sendLocal, setErrorPages, statusAfterClientGone } from './replies.js'
import { takeBytesRead } from './bytes.js'
import { kOutbound } from './outbound.js'
import { clientAddress } from '../runtime/client-address.js'
import type { Upstream } from '../runtime/upstreams.js'

export type Serve = (ctx: ForwardContext, target: InnerTarget, req: IncomingMessage, res: ServerResponse, headers: UpstreamHeaders, started: number, maxBodySize: number) => void

export function runPolicies(ctx: ForwardContext, route: PolicyRoute, req: IncomingMessage, res: ServerResponse, headers: UpstreamHeaders, started: number, maxBodySize: number, serve: Serve): void {
  setErrorPages(res, route.errorPages)
  if (route.outbound !== null) (res as ServerResponse & { [kOutbound]?: unknown })[kOutbound] = route.outbound
  continueAt(0, ctx, route, req, res, headers, started, maxBodySize, serve)
}

function continueAt(from: number, ctx: ForwardContext, route: PolicyRoute, req: IncomingMessage, res: ServerResponse, headers: UpstreamHeaders, started: number, maxBodySize: number, serve: Serve): void {
  const steps = route.steps
  const now = Date.now()
  for (let i = from; i < steps.length; i++) {
    const result = (steps[i] as PolicyRoute['steps'][number]).run(req, headers, now)
    if (result === null) continue
    if ('then' in result) {
      result.then((denial) => {
        if (res.destroyed || req.socket.destroyed) return answered(ctx, route, req, headers, started, statusAfterClientGone, 0)
        if (denial !== null) return deny(ctx, route, req, res, headers, started, denial)
        continueAt(i + 1, ctx, route, req, res, headers, started, maxBodySize, serve)
      }, (err: unknown) => {
        // A step's bug must not leave the client hanging.
        sendLocal(res, 502, headers.requestId)
        answered(ctx, route, req, headers, started, 502, 0)
        upstreamOf(route)?.log.error({ err }, 'bug in a policy step')
      })
      return
    }
    deny(ctx, route, req, res, headers, started, result)
    return
  }
  // Every step passed: a redirect route never gets here (its step always answers).
  if (route.target !== null) serve(ctx, route.target, req, res, headers, started, maxBodySize)
}

function deny(ctx: ForwardContext, route: PolicyRoute, req: IncomingMessage, res: ServerResponse, headers: UpstreamHeaders, started: number, denial: Denial): void {
  if (denial.policy !== null) route.denied(denial.policy)
  // The body is not read: the connection cannot carry another request unless there is none.
  if (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0' || req.headers['transfer-encoding'] !== undefined) res.shouldKeepAlive = false
  const bytes = sendLocal(res, denial.status, headers.requestId, undefined, denial.headers)
  answered(ctx, route, req, headers, started, denial.status, bytes)
}

function upstreamOf(route: PolicyRoute): Upstream | null {
  const t = route.target
  if (t === null) return null
  return 'upstream' in t ? t.upstream : null
}

/** Metrics (upstream="" server="" on routes without an upstream) and the access log line. */
function answered(ctx: ForwardContext, route: PolicyRoute, req: IncomingMessage, headers: UpstreamHeaders, started: number, status: number, bytesOut: number): void {
  const upstream = upstreamOf(route)
  const seconds = (performance.now() - started) / 1000
  if (ctx.requestMetrics) (upstream === null ? ctx.unrouted : upstream.metrics.requests).record(req.method as string, status, seconds)
  if (ctx.accessLog === null) return
  ctx.accessLog.write(headers, req.method as string, req.url as string, clientAddress(req), status, upstream === null ? AccessLog.NO_TARGET : upstream.accessTarget, route.accessRoute,
    seconds, takeBytesRead(req.socket), bytesOut, 0, '', '', req.httpVersion)
}
