// Raw HTTP/1.1 on sockets, for tests that send bytes Node's own client would never send
// (smuggling, fuzzing) or play a misbehaving server: an exchange that reports how it
// ended, a response-stream parser, and a plain `net` server scope-closable like a backend.
import net from 'node:net'
import type { AddressInfo } from 'node:net'

export interface RawResult {
  /** Everything the peer sent, latin1. */
  readonly text: string
  /** 'server': the peer closed (or reset); 'responses': the expected responses arrived; 'timeout': we gave up and destroyed the socket. */
  readonly endedBy: 'server' | 'responses' | 'timeout'
  /** The socket error code, when the connection ended with one (ECONNRESET...). */
  readonly error?: string
}

export interface ExchangeOptions {
  /** Half-close (send FIN) once everything is written. Default false. */
  halfClose?: boolean
  /** When `bytes` is a list of pieces: the pause between two writes. Default 0 (next tick). */
  pieceDelayMs?: number
  /** Resolve once this many complete responses were parsed (plus `graceMs` for anything after them). */
  responses?: number
  /** Give up (destroy the socket) after this long. Default 3000 ms. */
  timeoutMs?: number
  /** After the expected responses, keep reading this long for extra bytes. Default 100 ms. */
  graceMs?: number
}

/**
 * Writes `bytes` (latin1 when a string; a list is written piece by piece) on a new
 * connection and reads until the peer closes, the expected responses arrived, or the
 * timeout. Never rejects.
 */
export function exchange(port: number, bytes: string | Buffer | readonly string[], opts: ExchangeOptions = {}): Promise<RawResult> {
  const { responses, timeoutMs = 3000, graceMs = 100, halfClose = false, pieceDelayMs = 0 } = opts
  const pieces = (typeof bytes === 'string' || Buffer.isBuffer(bytes) ? [bytes] : bytes).map((b) => (typeof b === 'string' ? Buffer.from(b, 'latin1') : b))
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let endedBy: RawResult['endedBy'] = 'server'
    let error: string | undefined
    let grace: NodeJS.Timeout | undefined
    const writeFrom = (i: number): void => {
      if (socket.destroyed) return
      if (i >= pieces.length) {
        if (halfClose) socket.end()
        return
      }
      socket.write(pieces[i]!)
      setTimeout(() => writeFrom(i + 1), pieceDelayMs)
    }
    const socket = net.connect(port, '127.0.0.1', () => writeFrom(0))
    const timer = setTimeout(() => { endedBy = 'timeout'; socket.destroy() }, timeoutMs)
    socket.on('data', (c: Buffer) => {
      chunks.push(c)
      if (responses !== undefined && grace === undefined && parseResponses(Buffer.concat(chunks).toString('latin1')).responses.length >= responses) {
        grace = setTimeout(() => { endedBy = 'responses'; socket.destroy() }, graceMs)
      }
    })
    socket.on('error', (e: NodeJS.ErrnoException) => { error = e.code ?? e.message })
    socket.on('close', () => {
      clearTimeout(timer)
      if (grace !== undefined) clearTimeout(grace)
      const text = Buffer.concat(chunks).toString('latin1')
      resolve(error === undefined ? { text, endedBy } : { text, endedBy, error })
    })
  })
}

export interface RawResponse {
  readonly statusLine: string
  readonly status: number
  /** Lower-cased names; duplicates joined with ", ". */
  readonly headers: Record<string, string>
  readonly body: string
}

/**
 * Splits a stream of HTTP/1.1 responses (latin1 text) into complete responses. Bodies are
 * framed by Content-Length or chunked; 1xx, 204 and 304 have none. Responses to HEAD are
 * not supported. `rest` is what could not be parsed as a complete response.
 */
export function parseResponses(text: string): { responses: RawResponse[]; rest: string } {
  const responses: RawResponse[] = []
  let at = 0
  for (;;) {
    const headEnd = text.indexOf('\r\n\r\n', at)
    if (headEnd < 0) break
    const lines = text.slice(at, headEnd).split('\r\n')
    const statusLine = lines[0] ?? ''
    const m = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(statusLine)
    if (m === null) break
    const status = Number(m[1])
    const headers: Record<string, string> = {}
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':')
      if (colon <= 0) continue
      const name = line.slice(0, colon).trim().toLowerCase()
      const value = line.slice(colon + 1).trim()
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
    }
    let bodyStart = headEnd + 4
    let body = ''
    if (status >= 200 && status !== 204 && status !== 304) {
      if (/\bchunked\b/i.test(headers['transfer-encoding'] ?? '')) {
        let p = bodyStart
        let done = false
        for (;;) {
          const lineEnd = text.indexOf('\r\n', p)
          if (lineEnd < 0) break
          const size = parseInt(text.slice(p, lineEnd), 16)
          if (!Number.isFinite(size)) break
          if (size === 0) {
            const trailerEnd = text.indexOf('\r\n\r\n', lineEnd)
            if (trailerEnd < 0) break
            p = trailerEnd + 4
            done = true
            break
          }
          if (text.length < lineEnd + 2 + size + 2) break
          body += text.slice(lineEnd + 2, lineEnd + 2 + size)
          p = lineEnd + 2 + size + 2
        }
        if (!done) break
        bodyStart = p
      } else if (headers['content-length'] !== undefined) {
        const n = Number(headers['content-length'])
        if (text.length < bodyStart + n) break
        body = text.slice(bodyStart, bodyStart + n)
        bodyStart += n
      } else {
        // Close-delimited: the rest of the stream.
        body = text.slice(bodyStart)
        bodyStart = text.length
      }
    }
    responses.push({ statusLine, status, headers, body })
    at = bodyStart
  }
  return { responses, rest: text.slice(at) }
}

export interface RawServer {
  readonly port: number
  readonly url: string
  readonly server: net.Server
  /** Connections accepted so far. */
  connections(): number
  close(): Promise<void>
}

/** A plain TCP server on 127.0.0.1 (port 0) playing a misbehaving HTTP server. close() also destroys open sockets. */
export async function startRawServer(onConnection: (socket: net.Socket, index: number) => void): Promise<RawServer> {
  const sockets = new Set<net.Socket>()
  let count = 0
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => { /* a reset from the proxy is part of the game */ })
    onConnection(socket, count++)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    server,
    connections: () => count,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy()
      server.close(() => resolve())
    }),
  }
}

/**
 * Calls `onRequest` with each request head (and what followed it in the same read) that
 * arrives on `socket`. Bodies are not parsed: meant for GETs.
 */
export function onRequestHeads(socket: net.Socket, onRequest: (head: string, index: number) => void): void {
  let buffered = ''
  let index = 0
  socket.on('data', (d: Buffer) => {
    buffered += d.toString('latin1')
    for (;;) {
      const end = buffered.indexOf('\r\n\r\n')
      if (end < 0) return
      const head = buffered.slice(0, end)
      buffered = buffered.slice(end + 4)
      onRequest(head, index++)
    }
  })
}
