// A backend that records everything that reaches it, for tests that must prove a request
// was NOT forwarded (or forwarded exactly once): every request head Node's parser saw,
// whether its body ended cleanly or was cut, and the raw bytes of every connection.
import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export interface SeenRequest {
  readonly method: string
  readonly url: string
  readonly rawHeaders: string[]
  /** The body as received so far (latin1). */
  body: string
  /** 'open' while the body streams, 'complete' once it ended, 'aborted' when the connection was cut first. */
  state: 'open' | 'complete' | 'aborted'
}

export interface CountingBackend {
  readonly port: number
  readonly url: string
  /** Every request head received, in order. */
  readonly heads: SeenRequest[]
  /** The requests whose body ended cleanly (what a server would act on). */
  complete(): SeenRequest[]
  /** Bytes received on all connections so far (latin1), in arrival order per connection. */
  rawBytes(): string
  /** Total number of bytes received. */
  rawLength(): number
  /** Connections accepted so far. */
  connections(): number
  close(): Promise<void>
}

/** Answers every complete request with `200 ok:<method> <url> <body length>`, closing nothing itself. */
export async function startCountingBackend(): Promise<CountingBackend> {
  const heads: SeenRequest[] = []
  const raw: string[] = []
  let rawLength = 0
  let connections = 0
  const server = http.createServer((req, res) => {
    const seen: SeenRequest = { method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders, body: '', state: 'open' }
    heads.push(seen)
    req.setEncoding('latin1')
    req.on('data', (c: string) => { seen.body += c })
    req.on('end', () => {
      seen.state = 'complete'
      const text = `ok:${seen.method} ${seen.url} ${seen.body.length}`
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) })
      res.end(text)
    })
    req.on('error', () => { /* the cut shows in state */ })
    req.on('close', () => { if (seen.state === 'open') seen.state = 'aborted' })
  })
  server.on('connection', (socket: Socket) => {
    connections++
    socket.on('data', (d: Buffer) => {
      raw.push(d.toString('latin1'))
      rawLength += d.length
    })
  })
  server.on('clientError', (_err, socket) => socket.destroy())
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    heads,
    complete: () => heads.filter((h) => h.state === 'complete'),
    rawBytes: () => raw.join(''),
    rawLength: () => rawLength,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}
