// Rapid reset (CVE-2023-44487) on h2 listeners: a client that opens streams and cancels them
// at once makes the server start work (a request to a server) that nobody reads. nghttp2 has
// a rate limit on RST_STREAM, but measured on Node 24.21 a session past it could stall (no
// more frames read, the connection left open) instead of closing. So each session counts
// its streams cancelled by the client before their response head went out; more than
// MAX_EARLY_CANCELS within WINDOW_MS ends the session (GOAWAY ENHANCE_YOUR_CALM when it can
// still be written) and cuts its connection.
// Cost: one 'close' listener per stream (a module-level function: no closure) and two
// numbers per session.
import http2 from 'node:http2'

export const MAX_EARLY_CANCELS = 100
export const WINDOW_MS = 1_000

type AbuseHook = (session: http2.ServerHttp2Session) => void
const kCancels = Symbol('switchyard.cancels')
const kHook = Symbol('switchyard.abuseHook')
/** The stream's session, kept: a closed stream no longer points at it. */
const kOwner = Symbol('switchyard.session')
interface Counted {
  [kCancels]?: { n: number; since: number }
  [kHook]?: AbuseHook
}

const { NGHTTP2_NO_ERROR, NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants

/** Watches every stream of `server`; `onAbuse` hears each session it ends (once). */
export function guardResets(server: http2.Http2SecureServer, onAbuse: AbuseHook): void {
  ;(server as http2.Http2SecureServer & Counted)[kHook] = onAbuse
  server.on('stream', watchStream)
}

function watchStream(this: http2.Http2SecureServer & Counted, stream: http2.ServerHttp2Stream): void {
  const session = stream.session as (http2.ServerHttp2Session & Counted) | undefined
  if (session === undefined) return
  if (session[kHook] === undefined) session[kHook] = this[kHook]
  ;(stream as Owned)[kOwner] = session
  stream.once('close', onStreamClose)
}

type Owned = http2.ServerHttp2Stream & { [kOwner]?: http2.ServerHttp2Session & Counted }

function onStreamClose(this: Owned): void {
  if (this.rstCode === NGHTTP2_NO_ERROR || this.headersSent) return
  const session = this[kOwner]
  if (session === undefined || session.destroyed) return
  const now = Date.now()
  let c = session[kCancels]
  if (c === undefined || now - c.since > WINDOW_MS) c = session[kCancels] = { n: 0, since: now }
  if (++c.n === MAX_EARLY_CANCELS + 1) {
    session[kHook]?.(session)
    // Taken before destroy(): the session's socket proxy binds it to the TLS socket itself.
    const cut = session.socket.destroy
    session.destroy(undefined, NGHTTP2_ENHANCE_YOUR_CALM)
    // A session flooded this way may no longer flush its writes, and then destroy() alone
    // leaves the connection open (Node 24.21): cut the TLS socket too, after the GOAWAY's chance.
    setImmediate(cut)
  }
}
