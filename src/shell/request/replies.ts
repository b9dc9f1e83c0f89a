// Answers switchyard gives itself: a short text body, the request id, never a stack trace.
import { STATUS_CODES, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { clientResponseHeaders } from '../../core/headers.js'

/** Logged (never sent) when the client went away first; nginx's convention. */
export const statusAfterClientGone = 499

const BODIES: Record<number, string> = {
  400: 'bad request\n',
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

export function sendLocal(res: ServerResponse, status: number, requestId: string, retryAfter?: string): void {
  if (res.headersSent || res.destroyed) {
    res.destroy()
    return
  }
  const body = bodyOf(status)
  const headers = [
    'Content-Type', 'text/plain; charset=utf-8',
    'Content-Length', String(Buffer.byteLength(body)),
    'X-Request-Id', requestId,
  ]
  if (retryAfter !== undefined) headers.push('Retry-After', retryAfter)
  res.writeHead(status, headers)
  res.end(body)
}

/**
 * The same answer written on a raw socket (a WebSocket handshake that goes no further),
 * then the connection closes.
 */
export function sendLocalRaw(socket: Duplex, status: number, requestId: string, retryAfter?: string): void {
  if (socket.destroyed) return
  const body = bodyOf(status)
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
    `X-Request-Id: ${requestId}\r\n${retryAfter === undefined ? '' : `Retry-After: ${retryAfter}\r\n`}Connection: close\r\n\r\n${body}`)
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
