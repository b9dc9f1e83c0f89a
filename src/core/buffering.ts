// Whether a response may be buffered (issue #16): the decision, pure, table-tested in
// test/core/buffering.test.ts. A spool only helps a body that ends; a stream meant to be read
// as it is produced must reach the client at once. Never buffered: Server-Sent Events
// (`text/event-stream`), a response whose server asks for it (`X-Accel-Buffering: no`, as
// nginx honours it), a response with no body (HEAD, 1xx, 204, 304). Upgrades never get here
// (request/websocket.ts pipes the sockets). `X-Accel-Buffering: yes` changes nothing: the
// route's setting decides.

export function responseMayBuffer(method: string, status: number, contentType: string | string[] | undefined, accelBuffering: string | string[] | undefined): boolean {
  if (method === 'HEAD' || status < 200 || status === 204 || status === 304) return false
  if (accelBuffering !== undefined && first(accelBuffering).trim().toLowerCase() === 'no') return false
  if (contentType !== undefined && /^\s*text\/event-stream\s*(;|$)/i.test(first(contentType))) return false
  return true
}

function first(v: string | string[]): string {
  return typeof v === 'string' ? v : (v[0] ?? '')
}
