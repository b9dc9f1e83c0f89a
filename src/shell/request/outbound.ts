// The way out of a route with policies: the hook an Exchange calls once, with the response
// head it is about to write (runtime/policy-route.ts builds the Outbound at load). Today it
// applies response header rules, and intercept_errors (nginx proxy_intercept_errors): an
// app's 5xx for which the route has an error page is answered with the page instead, and the
// app's body is read and dropped. A later step on the way out (compression) joins here: it
// sees the final head and can take over the body the same way.
import type { ServerResponse } from 'node:http'
import { applyHeaderRules } from '../../core/policies/header-rules.js'
import type { Outbound } from '../runtime/policy-route.js'
import { sendLocal } from './replies.js'

export const kOutbound = Symbol('switchyard.outbound')
type OutboundResponse = ServerResponse & { [kOutbound]?: Outbound }

/**
 * Before res.writeHead(status, head). Returns the body bytes already sent when the response
 * was answered here (the exchange then drops the server's body), or -1: write `head` as usual.
 */
export function outboundHead(res: ServerResponse, status: number, head: string[], requestId: string): number {
  const outbound = (res as OutboundResponse)[kOutbound]
  if (outbound === undefined) return -1
  if (status >= 500 && outbound.interceptPages?.has(status) === true) return sendLocal(res, status, requestId)
  if (outbound.responseRules !== null) applyHeaderRules(head, outbound.responseRules)
  return -1
}
