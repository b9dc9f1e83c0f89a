// The way out of a route with policies: the hooks an Exchange calls once, with the response
// head it is about to write (runtime/policy-route.ts builds the Outbound at load).
// - outboundHead: response header rules, and intercept_errors (nginx proxy_intercept_errors):
//   an app's 5xx for which the route has an error page is answered with the page instead, and
//   the app's body is read and dropped.
// - compressorFor: compression, last on the way out (contract section 8): it sees the final
//   head, edits it (Content-Encoding, Vary, no Content-Length, a weak ETag) and returns the
//   Compressor the body goes through (request/compressor.ts), or null: the body goes as is.
// A route without policies pays one symbol read (in outboundHead); a cached route finds its
// compression on its CachedRoute.

import type { IncomingMessage, ServerResponse } from 'node:http'
import { addVary, compressedHead, compressible, type ResponseFields } from '../../core/policies/compression.js'
import { applyHeaderRules } from '../../core/policies/header-rules.js'
import type { Outbound } from '../runtime/policy-route.js'
import type { RouteCompression } from '../runtime/route-compression.js'
import { Compressor, type CompressorOwner } from './compressor.js'
import { sendLocal } from './replies.js'

export const kOutbound = Symbol('switchyard.outbound')
type OutboundResponse = ServerResponse & { [kOutbound]?: Outbound }

/** outboundHead's answer when the route compresses: write `head` after compressorFor(). */
export const COMPRESS = -2

/**
 * Before res.writeHead(status, head). Returns the body bytes already sent when the response
 * was answered here (the exchange then drops the server's body), or -1: write `head` as usual,
 * or COMPRESS: the same, after compressorFor(routeCompression(res), ...).
 */
export function outboundHead(res: ServerResponse, status: number, head: string[], requestId: string): number {
  const outbound = (res as OutboundResponse)[kOutbound]
  if (outbound === undefined) return -1
  if (status >= 500 && outbound.interceptPages?.has(status) === true) return sendLocal(res, status, requestId)
  if (outbound.responseRules !== null) applyHeaderRules(head, outbound.responseRules)
  return outbound.compression === null ? -1 : COMPRESS
}

/** The route's compression, or null (no policies, or no `compress`). */
export function routeCompression(res: ServerResponse): RouteCompression | null {
  return (res as OutboundResponse)[kOutbound]?.compression ?? null
}

/**
 * Compression of a response about to be written with `head` (flat, edited in place): null when
 * the body goes as it is (not eligible, the client accepts no algorithm, or a HEAD, whose
 * head is still the one a GET would get). `fields`: the server's header fields by lower-case name.
 */
export function compressorFor(compression: RouteCompression, res: ServerResponse, req: IncomingMessage, status: number, fields: ResponseFields, head: string[], owner: CompressorOwner): Compressor | null {
  if (!compressible(compression.rules, status, fields)) return null
  const encoding = compression.negotiate(req)
  if (encoding === null) {
    addVary(head)
    return null
  }
  compressedHead(head, encoding)
  if (req.method === 'HEAD') return null
  const length = fields['content-length']
  return new Compressor(compression, encoding, typeof length === 'string' && /^\d+$/.test(length) ? Number(length) : -1, res, owner)
}
