// A "gunicorn -k sync" stand-in for the buffering tests (issue #16): a node:http server whose
// requests are served by at most `workers` at a time. A request beyond that waits (unread)
// until a worker is free; a worker reads the whole body at the client's pace, runs the app,
// writes the answer with backpressure (held by a slow reader until the last bytes are in the
// socket's buffers) and closes the connection, as a sync worker does. Real gunicorn is not
// installed; bench/backends/sync-workers.mjs is the same server as a process for the bench.
//
// The app: GET /fast -> "ok"; POST (any path) -> JSON of what arrived (bytes, sha256,
// content-length, transfer-encoding); GET /big?bytes=N[&type=...][&accel=no] -> N bytes;
// GET /reset -> the connection is destroyed without an answer; POST /reset-after-body -> the
// body is read, then the connection is destroyed.
import http from 'node:http'
import { createHash } from 'node:crypto'
import type { AddressInfo } from 'node:net'

export interface SyncWorkers {
  readonly url: string
  /** Requests a worker has started on, by path (e.g. "/upload"). */
  readonly started: string[]
  /** Responses whose last byte the worker has handed to its socket ('finish'), by path. */
  readonly finished: string[]
  /** Requests waiting for a worker now. */
  waiting(): number
  /** Workers busy now. */
  busy(): number
  /** Resolves when `pred` holds, checked after every worker event; rejects after timeoutMs. */
  until(pred: () => boolean, what: string, timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

export async function startSyncWorkers(workers = 2): Promise<SyncWorkers> {
  const queue: [http.IncomingMessage, http.ServerResponse][] = []
  const started: string[] = []
  const finished: string[] = []
  const watchers = new Set<() => void>()
  const changed = (): void => { for (const w of watchers) w() }
  let busy = 0
  const server = http.createServer((req, res) => {
    queue.push([req, res])
    req.pause()
    next()
  })
  const next = (): void => {
    while (busy < workers && queue.length > 0) {
      const [req, res] = queue.shift() as [http.IncomingMessage, http.ServerResponse]
      busy++
      const path = (req.url ?? '').split('?')[0] as string
      started.push(path)
      changed()
      let freed = false
      const free = (): void => {
        if (freed) return
        freed = true
        busy--
        changed()
        next()
      }
      res.once('finish', () => { finished.push(path); free() })
      res.once('close', free)
      serve(req, res)
    }
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    started,
    finished,
    waiting: () => queue.length,
    busy: () => busy,
    until: (pred, what, timeoutMs = 10_000) => new Promise<void>((resolve, reject) => {
      if (pred()) return resolve()
      const timer = setTimeout(() => { watchers.delete(check); reject(new Error(`timed out waiting for: ${what}`)) }, timeoutMs)
      const check = (): void => {
        if (!pred()) return
        clearTimeout(timer)
        watchers.delete(check)
        resolve()
      }
      watchers.add(check)
    }),
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}

function serve(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x')
  res.shouldKeepAlive = false // a sync worker closes the connection after each response
  if (url.pathname === '/reset') {
    req.socket.destroy()
    return
  }
  const hash = createHash('sha256')
  let bytes = 0
  req.on('data', (c: Buffer) => { bytes += c.length; hash.update(c) })
  req.on('error', () => res.destroy())
  req.resume()
  req.on('end', () => {
    if (url.pathname === '/reset-after-body') {
      req.socket.destroy()
      return
    }
    if (req.method === 'POST') {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ bytes, sha256: hash.digest('hex'), contentLength: req.headers['content-length'] ?? null, transferEncoding: req.headers['transfer-encoding'] ?? null }))
      return
    }
    if (url.pathname === '/big') {
      const q = url.searchParams
      big(res, Number(q.get('bytes') ?? '0'), q.get('type') ?? 'application/octet-stream', q.get('accel'), Number(q.get('reset') ?? 'Infinity'))
      return
    }
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.end('ok')
  })
}

/** N bytes (byte i is i % 251, so a reordered or lost piece shows), written with backpressure. */
function big(res: http.ServerResponse, n: number, type: string, accel: string | null, resetAt: number): void {
  res.writeHead(200, { 'content-type': type, 'content-length': String(n), ...(accel === null ? {} : { 'x-accel-buffering': accel }) })
  let sent = 0
  const write = (): void => {
    while (sent < n) {
      if (sent >= resetAt) {
        res.socket?.destroy()
        return
      }
      const size = Math.min(64 * 1024, n - sent)
      const chunk = pattern(sent, size)
      sent += size
      if (!res.write(chunk)) {
        res.once('drain', write)
        return
      }
    }
    res.end()
  }
  write()
}

/** The bytes at [offset, offset + size) of the /big pattern. */
export function pattern(offset: number, size: number): Buffer {
  const b = Buffer.allocUnsafe(size)
  for (let i = 0; i < size; i++) b[i] = (offset + i) % 251
  return b
}
