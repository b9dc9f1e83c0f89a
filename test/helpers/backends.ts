// Real HTTP backends on 127.0.0.1, port 0, for tests. Each answers with its own name
// unless a handler is given, and counts what it received.
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Backend {
  readonly name: string
  readonly port: number
  readonly url: string
  readonly server: http.Server
  /** Requests received, in order (method, url, raw headers). */
  readonly seen: { method: string; url: string; rawHeaders: string[] }[]
  close(): Promise<void>
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, backend: Backend) => void

/** Default: `200 <name>` with `x-backend: <name>`. */
export const answerName: Handler = (_req, res, b) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'x-backend': b.name })
  res.end(b.name)
}

export async function startBackend(name: string, handler: Handler = answerName, options: http.ServerOptions = {}): Promise<Backend> {
  const seen: Backend['seen'] = []
  const server = http.createServer(options)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const backend: Backend = {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    server,
    seen,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
  server.on('request', (req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders })
    handler(req, res, backend)
  })
  return backend
}

/** A port that refuses connections: bound, then closed. */
export async function refusedPort(): Promise<number> {
  const s = http.createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>((resolve) => s.close(() => resolve()))
  return port
}
