// A plain node:http client for tests: one fresh connection per call (agent: false)
// unless an agent is passed, raw headers kept.
import http from 'node:http'
import net from 'node:net'

export interface Reply {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly rawHeaders: string[]
  readonly body: string
}

export interface Options {
  method?: string
  headers?: http.OutgoingHttpHeaders | string[]
  body?: string | Buffer
  agent?: http.Agent | false
  setHost?: boolean
}

export function request(url: string, opts: Options = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: opts.method ?? 'GET',
      headers: opts.headers,
      agent: opts.agent ?? false,
      setHost: opts.setHost,
    }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('error', reject)
      res.on('end', () => resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        rawHeaders: res.rawHeaders,
        body: Buffer.concat(chunks).toString(),
      }))
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}

/** Writes raw bytes on a new connection; resolves with everything read until the server closes (or timeoutMs). */
export function rawExchange(port: number, bytes: string | Buffer, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes))
    const timer = setTimeout(() => socket.destroy(), timeoutMs)
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('error', reject)
    socket.on('close', () => {
      clearTimeout(timer)
      resolve(Buffer.concat(chunks).toString('latin1'))
    })
  })
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Polls `get` every 25 ms until `ok` holds (then its value), or throws what it still was after `timeoutMs`. */
export async function until<T>(what: string, get: () => Promise<T> | T, ok: (v: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await get()
    if (ok(v)) return v
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(v)} after ${timeoutMs} ms`)
    await sleep(25)
  }
}
