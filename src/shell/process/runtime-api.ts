// The runtime API on the admin port (docs/operations.md#runtime-api): drain, disable, enable
// and weight per server, under /upstreams/. In this order, each failure a one-line JSON
// `{"error": "..."}`:
//   the target (core/admin-path.ts): 400 bad path, 404 unknown path, 405 wrong method (Allow);
//   403 when no admin.token_file is configured; 401 without the right bearer token
//   (compared in constant time over SHA-256 digests, so neither the content nor the length
//   of the token leaks through timing);
//   the body, at most 4 KiB (413, and the connection closes) within 5 s (408): 400 when bad;
//   then the owner of the table applies the change everywhere: 404 unknown upstream/server.
// Nothing here runs on the data listeners.
import { createHash, timingSafeEqual } from 'node:crypto'
import type http from 'node:http'
import { parseApiBody, parseApiTarget } from '../../core/admin-path.js'
import type { AdminAction } from '../../core/admin-state.js'

export const MAX_API_BODY = 4096
const BODY_TIMEOUT_MS = 5_000

export interface RuntimeApiDeps {
  /** The token mutations need now (admin.token_file, re-read on reload); null: none configured. */
  token(): string | null
  /** Applies a change in every process; `client` is the caller's address, for the log. */
  change(upstream: string, server: string, action: AdminAction, client: string): Promise<{ status: number; body: unknown }>
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`
  res.writeHead(status, { ...extra, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' })
  res.end(text)
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest()

/** `Authorization: Bearer <token>` against the configured token, in constant time. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = header === undefined ? null : /^Bearer +([^\s]+) *$/i.exec(header)
  const same = timingSafeEqual(digest(m?.[1] ?? ''), digest(token))
  return m !== null && same
}

export function runtimeApi(deps: RuntimeApiDeps, req: http.IncomingMessage, res: http.ServerResponse): void {
  // Refused before its body is read: the connection closes after the answer, so an
  // unauthenticated client cannot make the admin port read a large body to keep it alive.
  const early = (status: number, error: string, extra: Record<string, string> = {}): void => {
    const body = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0
    sendJson(res, status, { error }, body ? { ...extra, connection: 'close' } : extra)
  }
  const target = parseApiTarget(req.method ?? '', req.url ?? '/')
  if (!target.ok) return early(target.status, target.error, target.allow === undefined ? {} : { allow: target.allow })
  const token = deps.token()
  if (token === null) return early(403, 'the runtime API is off: set admin.token_file in the config (then reload)')
  if (!bearerMatches(req.headers.authorization, token)) {
    return early(401, 'missing or wrong bearer token (Authorization: Bearer <the token of admin.token_file>)', { 'www-authenticate': 'Bearer realm="switchyard"' })
  }
  const client = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`
  readBody(req, res, (text) => {
    const body = parseApiBody(target.action, text)
    if (!body.ok) return sendJson(res, 400, { error: body.error })
    const action: AdminAction = target.action === 'weight' ? { kind: 'weight', weight: body.weight } : { kind: target.action }
    deps.change(target.upstream, target.server, action, client).then(
      (answer) => sendJson(res, answer.status, answer.body),
      (err: unknown) => sendJson(res, 500, { error: `change failed: ${(err as Error).message}` }),
    )
  })
}

/** Reads at most MAX_API_BODY bytes within BODY_TIMEOUT_MS, then calls `done`; else answers 413 or 408. */
function readBody(req: http.IncomingMessage, res: http.ServerResponse, done: (text: string) => void): void {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > MAX_API_BODY) return refuse(res, 413, `the body is larger than ${MAX_API_BODY} bytes`)
  const chunks: Buffer[] = []
  let size = 0
  let over = false
  const timer = setTimeout(() => {
    over = true
    refuse(res, 408, `the body did not arrive within ${BODY_TIMEOUT_MS / 1000}s`)
  }, BODY_TIMEOUT_MS)
  timer.unref()
  req.on('data', (c: Buffer) => {
    if (over) return
    size += c.length
    if (size > MAX_API_BODY) {
      over = true
      clearTimeout(timer)
      refuse(res, 413, `the body is larger than ${MAX_API_BODY} bytes`)
      return
    }
    chunks.push(c)
  })
  req.on('end', () => {
    clearTimeout(timer)
    if (!over) done(Buffer.concat(chunks).toString('utf8'))
  })
  req.on('error', () => clearTimeout(timer))
}

/**
 * An answer before the whole body was read: the connection closes after it. The rest of the
 * body is read and dropped meanwhile (closing on unread bytes would reset the connection,
 * and the client could miss the answer), for at most a second.
 */
function refuse(res: http.ServerResponse, status: number, error: string): void {
  if (res.headersSent) return
  const req = res.req
  req.resume()
  sendJson(res, status, { error }, { connection: 'close' })
  setTimeout(() => req.socket.destroy(), 1000).unref()
}
