// Answers switchyard gives itself: a short text body, the request id, never a stack trace.
import { STATUS_CODES, type ServerResponse } from 'node:http'

/** Logged (never sent) when the client went away first; nginx's convention. */
export const statusAfterClientGone = 499

const BODIES: Record<number, string> = {
  400: 'bad request\n',
  404: 'no route\n',
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
