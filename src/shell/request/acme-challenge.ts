// ACME HTTP-01 (RFC 8555 8.3): while an order of this daemon is pending, the ACME server asks
// a plain listener for `/.well-known/acme-challenge/<token>` and wants the key authorization
// back, as text. Plain listeners of a daemon with `tls.acme` ask this first (before
// redirect_https and the routes); a token this process does not hold goes on as usual, so an
// application behind switchyard may still answer its own challenges. Daemons without
// `tls.acme` never call it. Answers are counted and logged as local ones (upstream="").
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { ACME_CHALLENGE_PREFIX } from '../../core/https-redirect.js'
import type { RequestLogFields } from '../../core/headers.js'
import { AccessLog } from '../observe/access-log.js'
import type { ForwardContext } from '../runtime/context.js'
import { clientAddress } from '../runtime/client-address.js'
import { takeBytesRead } from './bytes.js'

/** token -> key authorization, filled by the ACME manager (or, in a worker, by the primary's messages). */
export type ChallengeTokens = ReadonlyMap<string, string>

/** True when the request was an HTTP-01 challenge this process holds, and is now answered. */
export function answerAcmeChallenge(ctx: ForwardContext, tokens: ChallengeTokens, req: IncomingMessage, res: ServerResponse): boolean {
  const url = req.url ?? ''
  if (tokens.size === 0 || !url.startsWith(ACME_CHALLENGE_PREFIX)) return false
  const method = req.method as string
  if (method !== 'GET' && method !== 'HEAD') return false
  const keyAuthorization = tokens.get(url.slice(ACME_CHALLENGE_PREFIX.length))
  if (keyAuthorization === undefined) return false
  const started = performance.now()
  const requestId = randomUUID()
  const body = Buffer.from(keyAuthorization)
  res.writeHead(200, ['Content-Type', 'text/plain', 'Content-Length', String(body.length), 'Cache-Control', 'no-store', 'X-Request-Id', requestId])
  res.end(method === 'HEAD' ? undefined : body)
  const seconds = (performance.now() - started) / 1000
  if (ctx.requestMetrics) ctx.unrouted.record(method, 200, seconds)
  const fields: RequestLogFields = { requestId, host: req.headers.host, userAgent: req.headers['user-agent'], referer: req.headers.referer, authUser: '' }
  ctx.accessLog?.write(fields, method, url, clientAddress(req), 200, AccessLog.NO_TARGET, AccessLog.NO_ROUTE, seconds, takeBytesRead(req.socket), method === 'HEAD' ? 0 : body.length, 0, '', '', req.httpVersion)
  return true
}
