// The client-facing HTTP servers, one per configured listener: node:http for a plain
// listener; for a TLS one node:https (`http2: false`) or node:http2's secure server with
// HTTP/1.1 allowed (`http2: true`: ALPN offers h2 and http/1.1). The same handlers serve all
// three: Node's h2 compatibility API hands them request/response objects shaped like
// node:http's (request/ reads what both have). HTTP/1.1 limits and timeouts are the same on
// every kind; h2 has its own bounds (H2_LIMITS, docs/tls.md#http2).
import cluster from 'node:cluster'
import http from 'node:http'
import https from 'node:https'
import http2 from 'node:http2'
import type { AddressInfo, Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { TLSSocket } from 'node:tls'
import { CertificateStore } from './certificates.js'
import { guardResets } from './h2-reset-guard.js'
import type { AdminConfig, ListenerConfig } from '../../config/types.js'
import { DEFAULTS } from '../../config/defaults.js'
import { declaredLength } from '../../core/framing.js'
import { isWebSocketUpgrade } from '../request/websocket.js'
import { requireProxyHeader } from './proxy-protocol.js'
import { capConnectionsPerClient } from './client-connections.js'

const SILENT_GRACE_MS = 1_000

/** Any of the three kinds: what the process code calls on them is common to all. */
export type ListenerServer = http.Server | https.Server | http2.Http2SecureServer

/**
 * h2 bounds (abuse: CVE-2023-44487 rapid reset, SETTINGS/PING floods, header bombs). Node's
 * own guards stay on: nghttp2 ends a session that queues more than 1000 unanswered control
 * frame ACKs (a SETTINGS or PING flood whose ACKs the client does not read) or resets streams
 * faster than its rate limit, and Node ends one that sends maxSessionInvalidFrames bad frames
 * or gets maxSessionRejectedStreams streams refused.
 */
export const H2_LIMITS = {
  maxConcurrentStreams: 128, // nginx's http2_max_concurrent_streams
  maxSessionMemory: 10, // MiB of buffered data per session (Node's default)
  maxSessionInvalidFrames: 100,
  maxSessionRejectedStreams: 100,
  maxSettings: 32, // settings entries per SETTINGS frame
  // Rapid reset: nghttp2's own limit on RST_STREAM (its defaults), behind h2-reset-guard.ts.
  streamResetBurst: 1000,
  streamResetRate: 33,
} as const

/** What a TLS listener reports per handshake (metrics), given by the process. */
export interface HandshakeHook {
  (listener: string, protocol: string, ok: boolean): void
}

export interface Listener {
  readonly config: ListenerConfig
  readonly server: ListenerServer
  readonly port: number // the bound port (differs from config when it is 0)
  /** An HTTPS listener (X-Forwarded-Proto https, Secure cookies). */
  readonly tls: boolean
  /** The certificates of a TLS listener (reload: replace(); a runtime source: install()); null on a plain one. */
  readonly certificates: CertificateStore | null
  /** Cuts every connection now (h2 sessions included). */
  closeAllConnections(): void
  /**
   * Shutdown: Node's closeIdleConnections() spares connections that never sent a byte. Those
   * still silent after a grace second are closed (a connection accepted just before the
   * drain may not have delivered its request yet: it must not be lost).
   */
  closeSilentConnections(): void
}

export type UpgradeListener = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void

export async function listen(config: ListenerConfig, onRequest: http.RequestListener, onUpgrade?: UpgradeListener, onHandshake?: HandshakeHook, onAbuse?: (session: http2.ServerHttp2Session) => void): Promise<Listener> {
  const http1 = {
    keepAliveTimeout: config.timeouts.keepAliveMs,
    headersTimeout: config.timeouts.requestHeadMs, // slowloris: a trickled head gets 408
    requestTimeout: config.timeouts.requestMs,
    maxHeaderSize: config.maxHeaderSize, // 431 beyond
    // Node checks those two timeouts only every connectionsCheckingInterval (30 s by default).
    connectionsCheckingInterval: 1_000,
  }
  // Only WebSocket upgrades leave HTTP; any other Upgrade (h2c...) is served as HTTP/1.1,
  // the header dropped as hop-by-hop (Node >= 24.9; older Node hands them to onUpgrade).
  const shouldUpgradeCallback = (req: http.IncomingMessage): boolean => onUpgrade !== undefined && isWebSocketUpgrade(req)
  const certificates = config.tls === null ? null : new CertificateStore(config.tls)
  let server: ListenerServer
  const sessions = new Set<http2.ServerHttp2Session>()
  if (certificates === null) {
    server = http.createServer({ ...http1, shouldUpgradeCallback } as http.ServerOptions, onRequest)
  } else {
    const tlsOptions = { ...certificates.contextOptions(certificates.defaultPair), SNICallback: certificates.sniCallback }
    if (config.http2) {
      const h2 = http2.createSecureServer({
        ...tlsOptions,
        allowHTTP1: true,
        http1Options: http1,
        maxSessionMemory: H2_LIMITS.maxSessionMemory,
        maxSessionInvalidFrames: H2_LIMITS.maxSessionInvalidFrames,
        maxSessionRejectedStreams: H2_LIMITS.maxSessionRejectedStreams,
        maxSettings: H2_LIMITS.maxSettings,
        streamResetBurst: H2_LIMITS.streamResetBurst,
        streamResetRate: H2_LIMITS.streamResetRate,
        settings: { maxConcurrentStreams: H2_LIMITS.maxConcurrentStreams, maxHeaderListSize: config.maxHeaderSize, enablePush: false },
        maxSendHeaderBlockLength: config.maxHeaderSize,
      } as http2.SecureServerOptions, onRequest as unknown as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void)
      ;(h2 as unknown as { shouldUpgradeCallback: typeof shouldUpgradeCallback }).shouldUpgradeCallback = shouldUpgradeCallback
      // An idle session (no frame either way for keep_alive) is closed gracefully (GOAWAY).
      h2.setTimeout(config.timeouts.keepAliveMs)
      h2.on('timeout', (session: http2.ServerHttp2Session) => session.close())
      h2.on('session', (session: http2.ServerHttp2Session) => {
        sessions.add(session)
        session.once('close', () => sessions.delete(session))
        // A session error (flood, protocol error) is the client's: the session is destroyed, nothing to log per connection.
        session.on('error', noop)
      })
      guardResets(h2, onAbuse ?? noop)
      server = h2
    } else {
      server = https.createServer({ ...tlsOptions, ...http1, shouldUpgradeCallback } as https.ServerOptions, onRequest)
    }
    certificates.onDefaultChange = (options) => (server as https.Server).setSecureContext(options)
    const name = config.name
    if (onHandshake !== undefined) {
      server.on('secureConnection', (socket: TLSSocket) => onHandshake(name, socket.getProtocol() ?? '', true))
      server.on('tlsClientError', (_err: Error, socket: TLSSocket) => onHandshake(name, socket.getProtocol() ?? '', false))
    }
  }
  if (onUpgrade !== undefined) server.on('upgrade', onUpgrade)
  // Expect: 100-continue: a body over max_body_size is refused before the client sends it;
  // else the 100 goes out at once (Node's default without this listener) and the request
  // is forwarded (undici refuses to forward Expect itself).
  if (config.maxBodySize > 0) {
    ;(server as http.Server).on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
      if (declaredLength(req.headers['content-length']) <= config.maxBodySize) res.writeContinue()
      onRequest(req, res)
    })
  }
  // Connections past the cap are closed by Node as they arrive.
  if (config.maxConnections > 0) server.maxConnections = config.maxConnections
  capConnectionsPerClient(server, config.maxConnectionsPerClient)
  // PROXY protocol: the header is read before Node's HTTP parser gets the socket.
  if (config.proxyProtocol) requireProxyHeader(server, config.timeouts.requestHeadMs)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    // reuse_port: a cluster worker then binds its own socket (Node >= 22.12) and the kernel spreads
    // connections over the workers; one process has nothing to share the port with.
    server.listen({ host: config.address, port: config.port, ...(config.reusePort && cluster.isWorker ? { reusePort: true } : {}) }, () => {
      server.off('error', reject)
      resolve()
    })
  })
  // A client that sends garbage gets the 400 Node's parser produces, and no log noise per socket.
  server.on('clientError', onClientError)
  // Connections are tracked (not requests: no per-request cost) so that a shutdown can close
  // the ones that never sent a byte instead of waiting for their head timeout.
  const connections = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    connections.add(socket)
    socket.once('close', () => connections.delete(socket))
  })
  const closeSilentConnections = (): void => {
    const silent = [...connections].filter((s) => s.bytesRead === 0)
    if (silent.length === 0) return
    setTimeout(() => { for (const s of silent) if (s.bytesRead === 0) s.destroy() }, SILENT_GRACE_MS).unref()
  }
  const closeAllConnections = (): void => {
    // node:http and node:https have it; an h2 listener's HTTP/1.1 connections are tracked the same way.
    http.Server.prototype.closeAllConnections.call(server as http.Server)
    for (const s of sessions) s.destroy()
  }
  return { config, server, port: (server.address() as AddressInfo).port, tls: certificates !== null, certificates, closeSilentConnections, closeAllConnections }
}

function noop(): void {}

function onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy()
    return
  }
  // Garbage pipelined after a complete, valid request: that request's response is still on
  // its way (and the server may have acted on it). Let it finish, then close; a 400 now
  // would replace it and tell the client its request failed. When the error is in the body
  // of the request being answered, that request is broken: answer 400 and close, below.
  // (_httpMessage: Node's response in progress on this socket.)
  const pending = (socket as Duplex & { _httpMessage?: http.ServerResponse | null })._httpMessage
  if (pending !== undefined && pending !== null && !pending.writableFinished && pending.req.complete) {
    pending.shouldKeepAlive = false
    pending.once('close', () => socket.destroy())
    return
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large'
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request'
  // Write, then destroy (as Node's own handler does): end() alone would leave a half-open
  // socket that a client still trickling bytes keeps alive.
  socket.write(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
  socket.destroy()
}

/** The admin port: a listener with the default limits. */
export function adminListenerConfig(admin: AdminConfig): ListenerConfig {
  return { ...DEFAULT_LIMITS, name: 'admin', address: admin.address, port: admin.port }
}

const DEFAULT_LIMITS = {
  maxConnections: 0,
  maxConnectionsPerClient: 0,
  maxBodySize: 0,
  maxHeaderSize: DEFAULTS.listener.maxHeaderSize,
  timeouts: DEFAULTS.listener.timeouts,
  trustedProxies: [],
  proxyProtocol: false,
  reusePort: false,
  tls: null,
  http2: false,
  redirectHttps: false,
}
