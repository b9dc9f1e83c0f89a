// `proxy_protocol: true` on a listener: every connection must start with a PROXY v1/v2
// header (core/proxy-protocol.ts parses it), read here before the HTTP (or TLS) server sees
// a byte. The server's own 'connection' listeners are set aside and called once the header
// is read, with the bytes after it put back (unshift) for the HTTP parser. A connection
// whose first bytes are not a valid header, or that sends none within the listener's
// request_head timeout, is closed without an answer (it may not even speak HTTP).
// A listener without proxy_protocol never runs any of this: its sockets go straight to Node.
import type { Server } from 'node:net'
import type { Socket } from 'node:net'
import { parseProxyHeader } from '../../core/proxy-protocol.js'
import { setProxySource } from '../runtime/client-address.js'

type ConnectionListener = (this: Server, socket: Socket) => void

/** Installs the PROXY header reader in front of the server's connection listeners (call before listen). */
export function requireProxyHeader(server: Server, timeoutMs: number): void {
  const downstream = server.listeners('connection') as ConnectionListener[]
  server.removeAllListeners('connection')
  server.on('connection', (socket: Socket) => {
    new HeaderReader(server, socket, downstream, timeoutMs)
  })
}

class HeaderReader {
  readonly #server: Server
  readonly #socket: Socket
  readonly #downstream: readonly ConnectionListener[]
  readonly #timer: NodeJS.Timeout
  #buffer: Buffer | null = null
  readonly #onData = (chunk: Buffer): void => this.#read(chunk)
  readonly #onError = (): void => this.#fail()

  constructor(server: Server, socket: Socket, downstream: readonly ConnectionListener[], timeoutMs: number) {
    this.#server = server
    this.#socket = socket
    this.#downstream = downstream
    this.#timer = setTimeout(this.#onError, timeoutMs)
    this.#timer.unref()
    socket.on('data', this.#onData)
    socket.on('error', this.#onError)
    socket.once('close', this.#onError)
  }

  #read(chunk: Buffer): void {
    const buf = this.#buffer === null ? chunk : Buffer.concat([this.#buffer, chunk])
    const header = parseProxyHeader(buf)
    if (header.kind === 'incomplete') {
      this.#buffer = buf
      return
    }
    if (header.kind === 'invalid') return this.#fail()
    const socket = this.#socket
    this.#stop()
    if (header.source !== null) setProxySource(socket, header.source.address)
    // Buffered for the HTTP server's 'data' listener, which is attached synchronously below,
    // before any further read can happen.
    if (header.length < buf.length) socket.unshift(buf.subarray(header.length))
    for (const listener of this.#downstream) listener.call(this.#server, socket)
  }

  #stop(): void {
    clearTimeout(this.#timer)
    this.#buffer = null
    this.#socket.off('data', this.#onData)
    this.#socket.off('error', this.#onError)
    this.#socket.off('close', this.#onError)
  }

  #fail(): void {
    this.#stop()
    this.#socket.destroy()
  }
}
