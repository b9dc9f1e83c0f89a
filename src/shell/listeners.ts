// The client-facing HTTP servers, one per configured listener.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import type { ListenerConfig } from '../config/types.js'

/** nginx's keepalive_timeout default: idle client connections are kept 75 s. */
const CLIENT_KEEP_ALIVE_MS = 75_000

export interface Listener {
  readonly config: ListenerConfig
  readonly server: http.Server
  readonly port: number // the bound port (differs from config when it is 0)
}

export type UpgradeListener = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void

export async function listen(config: ListenerConfig, onRequest: http.RequestListener, onUpgrade?: UpgradeListener): Promise<Listener> {
  const server = http.createServer({
    keepAliveTimeout: CLIENT_KEEP_ALIVE_MS,
    // Only WebSocket upgrades leave HTTP; any other Upgrade (h2c...) is served as HTTP/1.1,
    // the header dropped as hop-by-hop (Node >= 24.9; older Node hands them to onUpgrade).
    shouldUpgradeCallback: (req: http.IncomingMessage) => onUpgrade !== undefined && req.headers.upgrade?.toLowerCase() === 'websocket',
  } as http.ServerOptions, onRequest)
  if (onUpgrade !== undefined) server.on('upgrade', onUpgrade)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host: config.address, port: config.port }, () => {
      server.off('error', reject)
      resolve()
    })
  })
  // A client that sends garbage gets the 400 Node's parser produces, and no log noise per socket.
  server.on('clientError', onClientError)
  return { config, server, port: (server.address() as AddressInfo).port }
}

function onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy()
    return
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large'
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request'
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
}
