// Answers switchyard gives itself: a short text body, the request id, never a stack trace.
import { STATUS_CODES, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { clientResponseHeaders } from '../../core/headers.js'
import type { ErrorPagesConfig } from '../../config/policy-types.js'

/**
 * The error pages of the request's route (error_pages), set on the response by the policy
 * step (request/policies.ts) only for routes that have some: every local answer below looks
 * there first, so 502/503/504 from an Exchange get the page too.
 */
export const kErrorPages = Symbol('switchyard.errorPages')
type PagedResponse = ServerResponse & { [kErrorPages]?: ErrorPagesConfig | null }

export function setErrorPages(res: ServerResponse, pages: ErrorPagesConfig | null): void {
  if (pages !== null) (res as PagedResponse)[kErrorPages] = pages
}

/** Logged (never sent) when the client went away first; nginx's convention. */
export const statusAfterClientGone = 499

const BODIES: Record<number, string> = {
  400: 'bad request\n',
  401: 'authentication required\n',
  403: 'forbidden\n',
  429: 'too many requests\n',
  404: 'no route\n',
  413: 'request body too large\n',
  502: 'bad gateway\n',
  503: 'no healthy server\n',
  504: 'gateway timeout\n',
}

/** Body bytes of a local answer (0 for 499: nothing is sent). */
export function localBodyBytes(status: number): number {
  return status === statusAfterClientGone ? 0 : Buffer.byteLength(bodyOf(status))
}

function bodyOf(status: number): string {
  return BODIES[status] ?? `${(STATUS_CODES[status] ?? 'error').toLowerCase()}\n`
}

/** `extra`: more headers (a policy's Location, WWW-Authenticate, RateLimit...). Returns the body bytes sent. */
export function sendLocal(res: ServerResponse, status: number, requestId: string, retryAfter?: string, extra?: readonly string[]): number {
  if (res.headersSent || res.destroyed) {
    res.destroy()
    return 0
  }
  const page = (res as PagedResponse)[kErrorPages]?.get(status)
  const body = page ?? bodyOf(status)
  const length = page === undefined ? Buffer.byteLength(body) : page.length
  const headers = [
    'Content-Type', page === undefined ? 'text/plain; charset=utf-8' : 'text/html; charset=utf-8',
    'Content-Length', String(length),
    'X-Request-Id', requestId,
  ]
  if (retryAfter !== undefined) headers.push('Retry-After', retryAfter)
  if (extra !== undefined) for (let i = 0; i < extra.length; i++) headers.push(extra[i] as string)
  res.writeHead(status, headers)
  res.end(body)
  return res.req?.method === 'HEAD' ? 0 : length
}

/**
 * The same answer written on a raw socket (a WebSocket handshake that goes no further),
 * then the connection closes.
 */
export function sendLocalRaw(socket: Duplex, status: number, requestId: string, retryAfter?: string, extra: readonly string[] = []): void {
  if (socket.destroyed) return
  const body = bodyOf(status)
  let more = ''
  for (let i = 0; i + 1 < extra.length; i += 2) more += `${extra[i]}: ${extra[i + 1]}\r\n`
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
    `X-Request-Id: ${requestId}\r\n${retryAfter === undefined ? '' : `Retry-After: ${retryAfter}\r\n`}${more}Connection: close\r\n\r\n${body}`)
}

/**
 * A response head for a raw socket, from a server's raw headers. A 101 keeps them all
 * (Upgrade and Connection are the handshake); any other answer loses the hop-by-hop ones
 * and closes the connection after its body.
 */
export function rawHead(status: number, statusText: string, raw: readonly Buffer[], requestId: string, upgrade: boolean): string {
  const flat = upgrade ? keepAllButRequestId(raw, requestId) : [...clientResponseHeaders(raw, requestId), 'Connection', 'close']
  let head = `HTTP/1.1 ${status} ${statusText || STATUS_CODES[status] || ''}\r\n`
  for (let i = 0; i < flat.length; i += 2) head += `${flat[i]}: ${flat[i + 1]}\r\n`
  return `${head}\r\n`
}

function keepAllButRequestId(raw: readonly Buffer[], requestId: string): string[] {
  const out: string[] = []
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as Buffer).toString('latin1')
    if (name.toLowerCase() !== 'x-request-id') out.push(name, (raw[i + 1] as Buffer).toString('latin1'))
  }
  out.push('X-Request-Id', requestId)
  return out
}
