// A plain listener with `redirect_https: true`: every request gets a 308 to its https://
// URL (core/https-redirect.ts decides), counted and logged like any local answer
// (upstream="", server=""), except ACME HTTP-01 challenges, which go on to the routes.
// 308 rather than 301: the method and body are kept (a POST stays a POST).
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { httpsRedirect } from '../../core/https-redirect.js'
import type { RequestLogFields } from '../../core/headers.js'
import { AccessLog } from '../observe/access-log.js'
import type { ForwardContext } from '../runtime/context.js'
import { clientAddress } from '../runtime/client-address.js'
import { takeBytesRead } from './bytes.js'
import { forward } from './forward.js'
import { sendLocal } from './replies.js'


/** `port`: the HTTPS port to write in Location (null: 443, left out). */
export function redirectHttps(ctx: ForwardContext, req: IncomingMessage, res: ServerResponse, port: number | null, maxBodySize: number): void {
  const started = performance.now()
  const url = req.url ?? ''
  const decision = httpsRedirect(req.headers.host, url, port)
  if (decision.kind === 'pass') {
    forward(ctx, req, res, maxBodySize)
    return
  }
  const requestId = randomUUID()
  // The request goes no further: what the access log needs is read from req.headers here.
  const fields: RequestLogFields = { requestId, host: req.headers.host, userAgent: req.headers['user-agent'], referer: req.headers.referer, authUser: '' }
  // The body (if any) is not read: the connection can not carry another request.
  if (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined) res.shouldKeepAlive = false
  let status: number
  if (decision.kind === 'redirect') {
    status = 308
    res.writeHead(308, ['Location', decision.location, 'Content-Length', '0', 'X-Request-Id', requestId])
    res.end()
  } else {
    status = 400
    sendLocal(res, 400, requestId)
  }
  const seconds = (performance.now() - started) / 1000
  if (ctx.requestMetrics) ctx.unrouted.record(req.method as string, status, seconds)
  ctx.accessLog?.write(fields, req.method as string, url, clientAddress(req), status, AccessLog.NO_TARGET, AccessLog.NO_ROUTE, seconds, takeBytesRead(req.socket), 0, 0, '', '', req.httpVersion)
}
