// WebSocket proxying: an `Upgrade: websocket` request goes to a server picked by the
// upstream's balancer (undici dispatch with `upgrade: 'websocket'`); once the server
// answers 101, the two sockets are piped to each other and frames pass unchanged both
// ways. A close or error on either side closes the other; the route's `timeouts.idle` (its
// upstream's unless the route sets one) without a byte either way closes both. While open,
// the tunnel counts in its server's in-flight requests (least_connections), in its server's
// tunnels and in the process's (switchyard_websocket_connections, counted at scrape time).
// A reload leaves an open tunnel alone while its server stays in the config; the tunnels of
// a removed server are cut after shutdown_timeout (runtime.ts, upstreams.ts).
// Before the 101, failures are handled like a plain request (retry when safe, else
// 502/503/504 written on the raw socket); a server that answers the handshake with
// something other than 101 has that answer relayed, then the connection is closed.
// The handshake follows the upstream's affinity like any request (hash key, sticky
// cookie): Socket.IO polls first, then upgrades, and both must reach the same server.
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Socket } from 'node:net'
import { randomUUID } from 'node:crypto'
import type { Dispatcher } from 'undici'
import { upstreamRequestHeaders, type UpstreamHeaders } from '../../core/headers.js'
import { isOriginForm } from '../../core/framing.js'
import type { ForwardContext, OpenTunnel } from '../runtime/context.js'
import type { Server } from '../runtime/upstreams.js'
import { CachedRoute } from '../runtime/cached-route.js'
import type { ProxyRoute } from '../runtime/proxy-route.js'
import { clientAddress, fromTrustedProxy, requestProto } from '../runtime/client-address.js'
import { Attempts, FULL_RETRY_AFTER } from './attempts.js'
import { StaticSite } from '../runtime/static-site.js'
import { PolicyRoute } from '../runtime/policy-route.js'
import { localBodyBytes, rawHead, sendLocalRaw, statusAfterClientGone } from './replies.js'
import { takeBytesRead } from './bytes.js'
import { AccessLog } from '../observe/access-log.js'
import { bodyBytes } from './body-gc.js'

function countTunnelBytes(chunk: Buffer): void {
  bodyBytes(chunk.length)
}

export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  return req.headers.upgrade?.toLowerCase() === 'websocket'
}

export function proxyUpgrade(ctx: ForwardContext, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const started = performance.now()
  const headers = upstreamRequestHeaders(req.rawHeaders, clientAddress(req), requestProto(req), randomUUID, fromTrustedProxy(req))
  const url = req.url ?? ''
  // Node before 24.9 has no shouldUpgradeCallback: other upgrades (h2c) arrive here too.
  const refusal = !isWebSocketUpgrade(req) ? 400 : req.method !== 'GET' || !isOriginForm(url) ? 400 : ctx.lifecycle.draining ? 503 : 0
  const routed = refusal === 0 ? ctx.router(headers.host, url) : undefined
  // A route with policies: the upgrade passes its synchronous gate first (policy-route.ts).
  const gate = routed instanceof PolicyRoute ? routed.upgradeGate(req, headers) : null
  if (gate !== null) {
    sendLocalRaw(socket, gate.status, headers.requestId, undefined, gate.headers)
    refused(ctx, req, socket, headers, gate.status, (routed as PolicyRoute).accessRoute, started)
    return
  }
  const inner = routed instanceof PolicyRoute ? routed.target ?? undefined : routed
  const target = inner instanceof PolicyRoute ? undefined : inner
  // A static route has no WebSocket endpoint: 404, as for no route. A route's cache does
  // not apply to WebSocket: its upstream takes the handshake.
  // An upgrade is never buffered: the route's buffering does not apply (its timeouts do).
  const route = target instanceof StaticSite ? undefined : target instanceof CachedRoute ? target.route : target
  const status = refusal !== 0 ? refusal : route === undefined ? 404 : 0
  if (status !== 0 || route === undefined) {
    sendLocalRaw(socket, status, headers.requestId)
    refused(ctx, req, socket, headers, status, AccessLog.NO_ROUTE, started)
    return
  }
  new Tunnel(ctx, req, socket as Socket, head, route, headers, started).attempt()
}

/** An upgrade answered here (400, 404, 503, a policy's denial): counted, and logged like any local answer. */
function refused(ctx: ForwardContext, req: IncomingMessage, socket: Duplex, headers: UpstreamHeaders, status: number, route: Buffer, started: number): void {
  const seconds = (performance.now() - started) / 1000
  if (ctx.requestMetrics) ctx.unrouted.record('GET', status, seconds)
  ctx.accessLog?.write(headers, req.method as string, req.url ?? '', clientAddress(req), status, AccessLog.NO_TARGET, route, seconds,
    takeBytesRead(socket as Socket), localBodyBytes(status), 0, '', '', req.httpVersion)
}

class Tunnel extends Attempts implements Dispatcher.DispatchHandler, OpenTunnel {
  readonly #ctx: ForwardContext
  readonly #route: ProxyRoute
  readonly #req: IncomingMessage
  readonly #client: Socket
  readonly #head: Buffer
  readonly #headers: UpstreamHeaders
  readonly #started: number
  #upstreamSocket: Duplex | null = null
  #status = 0
  #clientGone = false
  #done = false

  constructor(ctx: ForwardContext, req: IncomingMessage, client: Socket, head: Buffer, route: ProxyRoute, headers: UpstreamHeaders, started: number) {
    super(route.upstream, req, started)
    this.#ctx = ctx
    this.#route = route
    this.#req = req
    this.#client = client
    this.#head = head
    this.#headers = headers
    this.#started = started
    client.on('error', () => this.#clientClosed())
    client.once('close', () => this.#clientClosed())
  }

  attempt(): void {
    const server = this.pick()
    if (server === undefined) {
      const why = this.waitForSlot()
      if (why === null) return // queued: a slot or the queue's timeout comes later
      if (this.lastError === null) this.errorCode = why
      this.#replyLocal(this.noServerStatus(), why === 'SY_NO_SERVER' ? this.upstream.retryAfter : FULL_RETRY_AFTER)
      return
    }
    try {
      server.pool.dispatch({
        path: this.#req.url as string,
        method: 'GET',
        headers: this.#headers.headers,
        servername: server.serverName, // server-transport.ts (undici takes it; its types omit it)
        upgrade: 'websocket',
        body: null,
      } as Dispatcher.DispatchOptions, this)
    } catch (err) {
      this.release()
      this.noteErrorCode(err)
      this.#replyLocal(400)
    }
  }

  protected resume(): void {
    this.attempt()
  }

  protected timedOutInQueue(): void {
    if (this.lastError === null) this.errorCode = 'SY_QUEUE_TIMEOUT'
    this.#replyLocal(this.noServerStatus(), FULL_RETRY_AFTER)
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller
    if (this.#clientGone) controller.abort(new Error('client closed the connection'))
  }

  onRequestUpgrade(controller: Dispatcher.DispatchController, statusCode: number, _headers: unknown, upstreamSocket: Duplex): void {
    const server = this.server as Server
    server.noteSuccess()
    this.#status = statusCode
    this.#upstreamSocket = upstreamSocket
    if (this.#clientGone) {
      upstreamSocket.destroy()
      this.release()
      this.#finish(statusAfterClientGone)
      return
    }
    server.tunnels.add(this)
    this.#ctx.lifecycle.websockets.add(this)
    if (this.#ctx.requestMetrics) server.metrics.requests.record('GET', statusCode, (performance.now() - this.#started) / 1000)
    // The 101 keeps Upgrade and Connection: they are the handshake, not hop-by-hop noise here.
    this.#client.write(this.#withCookie(rawHead(statusCode, 'Switching Protocols', controller.rawHeaders as Buffer[], this.#headers.requestId, true)))
    if (this.#head.length > 0) upstreamSocket.write(this.#head)
    const idleMs = this.#route.timeouts.idleMs
    for (const s of [this.#client, upstreamSocket] as Duplex[]) {
      ;(s as Socket).setTimeout?.(idleMs, () => this.destroy())
      s.on('error', () => this.#close())
      s.once('close', () => this.#close())
      s.on('data', countTunnelBytes) // a long-lived tunnel's reads are garbage like a body's (body-gc.ts)
    }
    this.#client.pipe(upstreamSocket)
    upstreamSocket.pipe(this.#client)
  }

  // The server answered the handshake with a plain response: relay it, then close.
  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, _headers: unknown, statusText?: string): void {
    if (statusCode < 200) return
    this.#status = statusCode
    ;(this.server as Server).noteSuccess()
    this.#client.write(this.#withCookie(rawHead(statusCode, statusText ?? '', controller.rawHeaders as Buffer[], this.#headers.requestId, false)))
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.#client.write(chunk)) {
      controller.pause()
      this.#client.once('drain', () => controller.resume())
    }
  }

  onResponseEnd(): void {
    this.#client.end()
    this.release()
    this.#finish(this.#status)
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.release()
    this.controller = null
    this.noteErrorCode(err)
    if (this.#clientGone) {
      this.endTrial()
      this.#finish(statusAfterClientGone)
      return
    }
    const cls = this.failed(err)
    if (this.#status !== 0) {
      this.#client.destroy() // a relayed answer was cut short
      this.#finish(this.#status)
      return
    }
    if (this.retryAfter(cls, 'GET', false)) this.attempt()
    else this.#replyLocal(cls.status)
  }

  /** A raw response head with the sticky cookie added before its blank line, when one is due. */
  #withCookie(head: string): string {
    const cookie = this.stickyCookie((this.#client as Socket & { encrypted?: boolean }).encrypted === true) // Secure on TLS listeners
    return cookie === null ? head : `${head.slice(0, -2)}Set-Cookie: ${cookie}\r\n\r\n`
  }

  get upstreamName(): string {
    return this.upstream.name
  }

  /** Shutdown past shutdown_timeout, a removed server's past it, or idle: cut both sides. */
  destroy(): void {
    this.#client.destroy()
    this.#upstreamSocket?.destroy()
  }

  #clientClosed(): void {
    if (this.#upstreamSocket !== null) return // tunnel open: its own close handling applies
    this.#clientGone = true
    if (this.leaveQueue()) return this.#finish(statusAfterClientGone) // never dispatched
    this.controller?.abort(new Error('client closed the connection'))
  }

  #close(): void {
    if (this.#done) return
    this.destroy()
    this.#ctx.lifecycle.websockets.delete(this)
    ;(this.server as Server).tunnelClosed(this)
    this.release()
    this.#finish(this.#status)
  }

  #replyLocal(status: number, retryAfter = this.upstream.retryAfter): void {
    sendLocalRaw(this.#client, status, this.#headers.requestId, status === 503 ? retryAfter : undefined)
    if (this.#ctx.requestMetrics) {
      const seconds = (performance.now() - this.#started) / 1000
      ;(this.server === null ? this.upstream.metrics : this.server.metrics).requests.record('GET', status, seconds)
    }
    this.#finish(status)
  }

  #finish(status: number): void {
    if (this.#done) return
    this.#done = true
    this.endTrial()
    const log = this.#ctx.accessLog
    if (log === null) return
    const server = this.server
    const target = server === null ? this.upstream.accessTarget : server.accessTarget
    // A tunnel's client socket is its own: its counters are the exchange's bytes.
    log.write(this.#headers, 'GET', this.#req.url as string, clientAddress(this.#req, this.#client), status, target, this.#route.accessRoute, (performance.now() - this.#started) / 1000,
      this.#client.bytesRead, this.#client.bytesWritten, this.retries, this.errorCode)
  }
}
