// The client-facing HTTP servers, one per configured listener.
import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { AdminConfig, ListenerConfig } from '../../config/types.js'
import { DEFAULTS } from '../../config/defaults.js'
import { declaredLength } from '../../core/framing.js'
import { isWebSocketUpgrade } from '../request/websocket.js'
import { capConnectionsPerClient } from './client-connections.js'

const SILENT_GRACE_MS = 1_000

export interface Listener {
  readonly config: ListenerConfig
  readonly server: http.Server
  readonly port: number // the bound port (differs from config when it is 0)
  /**
   * Shutdown: Node's closeIdleConnections() spares connections that never sent a byte. Those
   * still silent after a grace second are closed (a connection accepted just before the
   * drain may not have delivered its request yet: it must not be lost).
   */
  closeSilentConnections(): void
}

export type UpgradeListener = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void

export async function listen(config: ListenerConfig, onRequest: http.RequestListener, onUpgrade?: UpgradeListener): Promise<Listener> {
  const server = http.createServer({
    keepAliveTimeout: config.timeouts.keepAliveMs,
    headersTimeout: config.timeouts.requestHeadMs, // slowloris: a trickled head gets 408
    requestTimeout: config.timeouts.requestMs,
    maxHeaderSize: config.maxHeaderSize, // 431 beyond
    // Node checks those two timeouts only every connectionsCheckingInterval (30 s by default).
    connectionsCheckingInterval: 1_000,
    // Only WebSocket upgrades leave HTTP; any other Upgrade (h2c...) is served as HTTP/1.1,
    // the header dropped as hop-by-hop (Node >= 24.9; older Node hands them to onUpgrade).
    shouldUpgradeCallback: (req: http.IncomingMessage) => onUpgrade !== undefined && isWebSocketUpgrade(req),
  } as http.ServerOptions, onRequest)
  if (onUpgrade !== undefined) server.on('upgrade', onUpgrade)
  // Expect: 100-continue: a body over max_body_size is refused before the client sends it;
  // else the 100 goes out at once (Node's default without this listener) and the request
  // is forwarded (undici refuses to forward Expect itself).
  if (config.maxBodySize > 0) {
    server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
      if (declaredLength(req.headers['content-length']) <= config.maxBodySize) res.writeContinue()
      onRequest(req, res)
    })
  }
  // Connections past the cap are closed by Node as they arrive.
  if (config.maxConnections > 0) server.maxConnections = config.maxConnections
  capConnectionsPerClient(server, config.maxConnectionsPerClient)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host: config.address, port: config.port }, () => {
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
  return { config, server, port: (server.address() as AddressInfo).port, closeSilentConnections }
}

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
}
