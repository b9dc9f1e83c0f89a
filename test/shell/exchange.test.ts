// The plain proxying path (forward() -> Exchange), in process, against real backends on
// 127.0.0.1: the context is built as the daemon builds it (data-plane.ts: parsed config,
// Metrics, logger, Lifecycle, Runtime), and an http.Server hands every request to
// forward(). Nothing of undici or node:http is mocked. Covered: which failures are retried
// (and counted), the response-head timeout, a server that answers before reading the body,
// max_body_size on a chunked body, a client that leaves, backpressure from a client that
// does not read, a server that fails mid-body, and no server to take the request.
import { describe, expect, it } from 'vitest'
import http from 'node:http'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { createHash } from 'node:crypto'
import { parseConfig, formatProblem } from '../../src/config/load.js'
import { Metrics } from '../../src/shell/observe/metrics.js'
import { createLogger } from '../../src/shell/observe/log.js'
import { Runtime } from '../../src/shell/runtime/runtime.js'
import type { Lifecycle } from '../../src/shell/runtime/context.js'
import { forward } from '../../src/shell/request/forward.js'
import { refusedPort, type Backend, type Handler } from '../helpers/backends.js'
import { startRawServer, onRequestHeads } from '../helpers/raw-http.js'
import { request } from '../helpers/client.js'
import { closeAfterEach } from '../helpers/scope.js'
import { seriesSum, seriesValue } from '../helpers/metrics.js'

const scope = closeAfterEach()

interface Proxy {
  readonly port: number
  url(path: string): string
  /** Client connections the proxy accepted so far. */
  connections(): number
  /** The Prometheus text of this proxy's registry. */
  scrape(): Promise<string>
  /** In-flight requests of every server of upstream `app` (/status's active_requests). */
  active(): number[]
  /** The /status state of every server of upstream `app`. */
  states(): string[]
}

/** Listener and upstream `app` over `servers`; `upstream` and `listener` are extra YAML lines / flow keys. */
function config(servers: readonly string[], upstream: readonly string[] = [], listener = ''): string {
  return [
    'listeners:',
    `  - { address: 127.0.0.1, port: 0${listener === '' ? '' : `, ${listener}`} }`,
    'admin: { port: 0 }',
    'log: { level: silent, access_log: false }',
    'upstreams:',
    '  app:',
    `    servers: [${servers.map((u) => `{ url: "${u}" }`).join(', ')}]`,
    ...upstream.map((l) => `    ${l}`),
    '',
  ].join('\n')
}

/** What data-plane.ts does for one listener, on 127.0.0.1:0. Closed after the test. */
async function startProxy(yaml: string, healthChecks = false): Promise<Proxy> {
  const loaded = parseConfig(yaml)
  if (!loaded.ok) throw new Error(loaded.problems.map(formatProblem).join('\n'))
  const cfg = loaded.config
  const metrics = new Metrics('single')
  const log = createLogger(cfg.log.level, false)
  const lifecycle: Lifecycle = { ready: false, draining: false, websockets: new Set() }
  const runtime = new Runtime(cfg, log, lifecycle, metrics)
  metrics.setSource(runtime)
  const maxBody = cfg.listeners[0]!.maxBodySize
  const server = http.createServer((req, res) => { forward(runtime.forward, req, res, maxBody) })
  let connections = 0
  server.on('connection', () => { connections++ })
  scope.defer({
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await runtime.close()
    },
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  lifecycle.ready = true
  if (healthChecks) runtime.startHealthChecks()
  const port = (server.address() as AddressInfo).port
  const servers = (): { state: string; active_requests: number }[] => runtime.status().upstreams.app!.servers
  return {
    port,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    connections: () => connections,
    scrape: () => metrics.registry.metrics(),
    active: () => servers().map((s) => s.active_requests),
    states: () => servers().map((s) => s.state),
  }
}

/** A real backend (test/helpers/backends.ts), closed after the test. */
const backend = (name: string, handler: Handler): Promise<Backend> => scope.backend(name, handler)

/** Rejects when `p` has not settled within `ms`. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms) })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}

/** Polls `cond` every 5 ms, for at most `ms`. */
async function until(cond: () => boolean, what: string, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void
  const promise = new Promise<T>((r) => { resolve = r })
  return { promise, resolve }
}

/** Answers `<method> <body length> <body>` once the whole body is in. */
function echo(req: http.IncomingMessage, res: http.ServerResponse): void {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString()
    res.end(`${req.method} ${body.length} ${body}`)
  })
}

/** A server that reads a request head, then resets the connection; the heads it read. */
async function resetAfterHead(): Promise<{ url: string; heads: string[]; connections(): number }> {
  const heads: string[] = []
  const raw = await startRawServer((socket) => {
    onRequestHeads(socket, (head) => {
      heads.push(head)
      if (!socket.destroyed) socket.resetAndDestroy()
    })
  })
  scope.defer(raw)
  return { url: raw.url, heads, connections: raw.connections }
}

const id = (url: string): string => new URL(url).host

describe('retries', () => {
  // Round robin with equal weights picks the first listed server first: the broken server is listed first.

  it('a GET whose first server refuses connections is answered 200 by the other; the retry is counted', async () => {
    const dead = `http://127.0.0.1:${await refusedPort()}`
    const ok = await backend('ok', echo)
    const proxy = await startProxy(config([dead, ok.url]))
    const r = await request(proxy.url('/a'))
    expect(r.status).toBe(200)
    expect(r.body).toBe('GET 0 ')
    expect(ok.seen.map((s) => s.url)).toEqual(['/a'])
    const text = await proxy.scrape()
    expect(seriesSum(text, 'switchyard_retries_total', { upstream: 'app' })).toBe(1)
    expect(seriesValue(text, 'switchyard_upstream_errors_total', { server: id(dead), reason: 'connect_refused' })).toBe(1)
    expect(seriesValue(text, 'switchyard_requests_total', { server: id(ok.url), code: '200' })).toBe(1)
    expect(proxy.active()).toEqual([0, 0])
  })

  it('retries: 0: the same GET gets 502 and nothing is retried', async () => {
    const dead = `http://127.0.0.1:${await refusedPort()}`
    const ok = await backend('ok', echo)
    const proxy = await startProxy(config([dead, ok.url], ['retries: 0']))
    const r = await request(proxy.url('/a'))
    expect(r.status).toBe(502)
    expect(r.headers['x-request-id']).toMatch(/\S/)
    expect(ok.seen).toHaveLength(0)
    // The other server is fine: the next request (its turn) gets through.
    expect((await request(proxy.url('/b'))).status).toBe(200)
    const text = await proxy.scrape()
    expect(seriesSum(text, 'switchyard_retries_total', { upstream: 'app' })).toBe(0)
    expect(seriesValue(text, 'switchyard_requests_total', { server: id(dead), code: '502' })).toBe(1)
  })

  it('a POST with a body is not retried after the server reset the connection: 502, sent once', async () => {
    const reset = await resetAfterHead()
    const ok = await backend('ok', echo)
    const proxy = await startProxy(config([reset.url, ok.url]))
    const r = await request(proxy.url('/order'), { method: 'POST', body: 'x'.repeat(1000) })
    expect(r.status).toBe(502)
    expect(reset.heads).toHaveLength(1)
    expect(reset.heads[0]).toMatch(/^POST \/order HTTP\/1\.1/)
    expect(reset.connections()).toBe(1)
    expect(ok.seen).toHaveLength(0)
    const text = await proxy.scrape()
    expect(seriesSum(text, 'switchyard_retries_total', { upstream: 'app' })).toBe(0)
    expect(seriesValue(text, 'switchyard_upstream_errors_total', { server: id(reset.url), reason: 'reset' })).toBe(1)
  })

  it('a GET is retried after the server reset the connection: 200 from the other', async () => {
    const reset = await resetAfterHead()
    const ok = await backend('ok', echo)
    const proxy = await startProxy(config([reset.url, ok.url]))
    const r = await request(proxy.url('/page'))
    expect(r.status).toBe(200)
    expect(reset.heads).toHaveLength(1)
    expect(ok.seen.map((s) => s.url)).toEqual(['/page'])
    const text = await proxy.scrape()
    expect(seriesSum(text, 'switchyard_retries_total', { upstream: 'app' })).toBe(1)
    expect(seriesValue(text, 'switchyard_upstream_errors_total', { server: id(reset.url), reason: 'reset' })).toBe(1)
  })

  it('a POST whose first server refuses connections is retried (it never reached a server), body intact', async () => {
    const dead = `http://127.0.0.1:${await refusedPort()}`
    const ok = await backend('ok', echo)
    const proxy = await startProxy(config([dead, ok.url]))
    const body = 'payload-'.repeat(5000) // 40 000 bytes: more than one chunk on its way
    const r = await request(proxy.url('/order'), { method: 'POST', body })
    expect(r.status).toBe(200)
    expect(r.body).toBe(`POST ${body.length} ${body}`)
    expect(ok.seen).toHaveLength(1)
    const text = await proxy.scrape()
    expect(seriesSum(text, 'switchyard_retries_total', { upstream: 'app' })).toBe(1)
    expect(seriesValue(text, 'switchyard_upstream_errors_total', { server: id(dead), reason: 'connect_refused' })).toBe(1)
  })
})

describe('timeouts', () => {
  it('504 when no response head arrives within timeouts.response_headers', async () => {
    const arrived = deferred()
    const silent = await backend('silent', () => { arrived.resolve() }) // never answers
    const proxy = await startProxy(config([silent.url], ['retries: 0', 'timeouts: { response_headers: 200ms }']))
    const started = performance.now()
    const r = await within(request(proxy.url('/slow')), 3000, 'the 504')
    const ms = performance.now() - started
    expect(r.status).toBe(504)
    expect(r.body).toBe('gateway timeout\n')
    await arrived.promise
    expect(silent.seen).toHaveLength(1)
    // undici runs its headers timer on a ~0.5 s tick: a 200 ms timeout fires after 0.5-1.2 s (measured ~0.9 s).
    expect(ms).toBeGreaterThanOrEqual(150)
    expect(ms).toBeLessThan(2000)
    const text = await proxy.scrape()
    expect(seriesValue(text, 'switchyard_upstream_errors_total', { server: id(silent.url), reason: 'response_timeout' })).toBe(1)
    expect(proxy.active()).toEqual([0])
  })
})

describe('early answers and request body limits', () => {
  const UPLOAD = Buffer.alloc(2 * 1024 * 1024, 97)

  /** One request on `agent`; resolves with status and body. */
  function send(agent: http.Agent, url: string, method: string, body?: Buffer): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request(url, { method, agent, headers: body === undefined ? {} : { 'content-length': String(body.length) } }, (res) => {
        let text = ''
        res.on('data', (c: Buffer) => { text += c.toString() })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
        res.on('error', reject)
      })
      req.on('error', reject)
      req.end(body)
    })
  }

  it.each([413, 200])('a server that answers %i before reading a 2 MiB upload: the client gets it, and its connection carries the next request', async (status) => {
    const early = await backend('early', (req, res) => {
      if (req.url === '/upload') {
        res.writeHead(status, { 'content-type': 'text/plain' })
        res.end('early\n')
      } else echo(req, res)
    })
    const proxy = await startProxy(config([early.url]))
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    try {
      const first = await within(send(agent, proxy.url('/upload'), 'POST', UPLOAD), 3000, 'the early answer')
      expect(first).toEqual({ status, body: 'early\n' })
      const second = await within(send(agent, proxy.url('/next'), 'POST', Buffer.from('hello')), 3000, 'the next request')
      expect(second).toEqual({ status: 200, body: 'POST 5 hello' })
    } finally {
      agent.destroy()
    }
    expect(proxy.connections()).toBe(1) // one client connection: the rest of the upload was read and discarded
    expect(early.seen.map((s) => s.url)).toEqual(['/upload', '/next'])
  })

  // BUG, reported, not worked around: a server that answers before reading the body and
  // closes its connection (`Connection: close`, as nginx does after its own 413) often loses
  // its answer. undici, still writing the body (fed at the client's pace), gets EPIPE before
  // it has read the response waiting on the socket, and fails the request: the client gets
  // 502 instead of the server's 413, and the EPIPE counts as a reset (passive health), so a
  // few such uploads eject a healthy server. A plain undici Pool fed from a client socket
  // does the same (13 of 20 uploads failed); node:http and undici given the whole body at
  // once got 413 every time. Here the first three uploads get 502 and the rest 503. A race,
  // but one lost on nearly every upload: `it.fails` keeps it running; when this fails, the
  // bug is fixed and it becomes a plain `it`.
  it.fails('BUG: a server that answers 413 and closes its connection before reading the upload: the client still gets the 413', async () => {
    const closing = await backend('closing', (_req, res) => {
      res.writeHead(413, { 'content-type': 'text/plain', connection: 'close' })
      res.end('early\n')
    })
    const proxy = await startProxy(config([closing.url]))
    const statuses: number[] = []
    for (let i = 0; i < 10; i++) statuses.push((await within(request(proxy.url('/upload'), { method: 'POST', body: UPLOAD }), 3000, `upload ${i}`)).status)
    expect(statuses).toEqual(Array(10).fill(413))
    const text = await proxy.scrape()
    expect(seriesValue(text, 'switchyard_upstream_errors_total', { server: id(closing.url), reason: 'reset' })).toBe(0)
    expect(proxy.states()).toEqual(['healthy'])
  })

  it('413 for a chunked body that grows past max_body_size; the server never gets a complete body', async () => {
    const bodies: { complete: boolean; bytes: number }[] = []
    const counter = await backend('counter', (req, res) => {
      const seen = { complete: false, bytes: 0 }
      bodies.push(seen)
      req.on('data', (c: Buffer) => { seen.bytes += c.length })
      req.on('end', () => { seen.complete = true; res.end(`got ${seen.bytes}`) })
      req.on('error', () => {})
    })
    const proxy = await startProxy(config([counter.url], [], 'max_body_size: 64k'))
    const chunked = (total: number): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> =>
      new Promise((resolve, reject) => {
        let answered = false
        const req = http.request(proxy.url('/upload'), { method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked' } }, (res) => {
          answered = true
          let body = ''
          res.on('data', (c: Buffer) => { body += c.toString() })
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
          res.on('error', reject)
        })
        // Once answered, the rest of the upload may meet a closed connection: that is not the test's failure.
        req.on('error', (e) => { if (!answered) reject(e) })
        // 8 KiB pieces, honouring backpressure, stopping if the request is gone; bounded by `total`.
        let sent = 0
        const write = (): void => {
          while (sent < total && !req.destroyed) {
            sent += 8192
            if (!req.write(Buffer.alloc(8192, 120))) { req.once('drain', write); return }
          }
          if (!req.destroyed) req.end()
        }
        write()
      })
    const big = await within(chunked(256 * 1024), 3000, 'the 413')
    expect(big.status).toBe(413)
    expect(big.body).toBe('request body too large\n')
    expect(big.headers.connection).toBe('close')
    expect(bodies.every((b) => !b.complete)).toBe(true)
    const small = await within(chunked(32 * 1024), 3000, 'a body under the limit')
    expect(small).toMatchObject({ status: 200, body: `got ${32 * 1024}` })
  })
})

describe('a client that goes away', () => {
  it('before the response head: the server sees its request aborted and nothing stays in flight', async () => {
    const arrived = deferred()
    const aborted = deferred()
    const slow = await backend('slow', (req, res) => {
      req.socket.once('close', () => { if (!res.writableFinished) aborted.resolve() })
      arrived.resolve()
    })
    const proxy = await startProxy(config([slow.url]))
    const req = http.request(proxy.url('/wait'), { agent: false })
    req.on('error', () => {})
    req.end()
    await within(arrived.promise, 2000, 'the request reaching the server')
    expect(proxy.active()).toEqual([1])
    req.destroy()
    await within(aborted.promise, 1000, 'the server seeing its request aborted')
    await until(() => proxy.active()[0] === 0, 'in-flight back to 0', 1000)
    expect(slow.seen).toHaveLength(1) // cancelled, not retried
  })

  it('while the body streams: the server sees its request aborted and nothing stays in flight', async () => {
    const aborted = deferred()
    let ticks = 0
    const streaming = await backend('streaming', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' })
      const tick = setInterval(() => {
        if (++ticks > 300) { clearInterval(tick); res.end(); return } // bound: 3 s
        res.write(Buffer.alloc(1024, 98))
      }, 10)
      res.once('close', () => {
        clearInterval(tick)
        if (!res.writableFinished) aborted.resolve()
      })
    })
    const proxy = await startProxy(config([streaming.url]))
    const req = http.request(proxy.url('/stream'), { agent: false })
    req.on('error', () => {})
    const firstBytes = deferred()
    req.on('response', (res) => {
      res.on('error', () => {})
      res.once('data', () => firstBytes.resolve())
    })
    req.end()
    await within(firstBytes.promise, 2000, 'the first body bytes')
    expect(proxy.active()).toEqual([1])
    req.destroy()
    await within(aborted.promise, 1000, 'the server seeing its request aborted')
    expect(ticks).toBeLessThan(300)
    await until(() => proxy.active()[0] === 0, 'in-flight back to 0', 1000)
  })
})

describe('backpressure', () => {
  const MiB = 1024 * 1024
  const TOTAL = 64 * MiB
  const CHUNK = 64 * 1024
  const BLOCK = createHash('sha512').update('switchyard').digest()

  /** Chunk `k` of the body: a repeated pattern with its own index at the start, so loss or reordering changes the checksum. */
  function chunk(k: number): Buffer {
    const b = Buffer.allocUnsafe(CHUNK)
    for (let i = 0; i < CHUNK; i += BLOCK.length) BLOCK.copy(b, i)
    b.writeUInt32BE(k, 0)
    return b
  }

  it('a client that does not read stalls the server\'s writes; once it reads, the whole 64 MiB arrive intact', async () => {
    let written = 0 // bytes the server's res.write() accepted
    let waiting = false // the server is waiting for 'drain'
    const sent = createHash('sha256')
    const done = deferred<string>()
    const big = await backend('big', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(TOTAL) })
      let k = 0
      const pump = (): void => {
        waiting = false
        while (written < TOTAL) {
          const c = chunk(k++)
          sent.update(c)
          written += c.length
          if (!res.write(c)) { waiting = true; res.once('drain', pump); return }
        }
        res.end()
        done.resolve(sent.digest('hex'))
      }
      pump()
    })
    const proxy = await startProxy(config([big.url]))

    // A raw client: sends the request, reads the first bytes, then stops reading.
    const received = createHash('sha256')
    let head = ''
    let bodyBytes = 0
    let headDone = false
    const socket = net.connect(proxy.port, '127.0.0.1')
    scope.defer({ close: async () => { socket.destroy() } })
    const first = deferred()
    const complete = deferred()
    const closed = deferred()
    socket.on('error', () => {})
    socket.on('close', () => closed.resolve())
    socket.on('data', (d: Buffer) => {
      let body = d
      if (!headDone) {
        head += d.toString('latin1')
        const end = head.indexOf('\r\n\r\n')
        if (end < 0) return
        headDone = true
        body = d.subarray(d.length - (head.length - end - 4))
        head = head.slice(0, end)
        socket.pause()
        first.resolve()
      }
      received.update(body)
      bodyBytes += body.length
      if (bodyBytes >= TOTAL) complete.resolve()
    })
    socket.write('GET /big HTTP/1.1\r\nHost: big\r\n\r\n')
    await within(first.promise, 2000, 'the response head')
    expect(head).toMatch(/^HTTP\/1\.1 200 /)
    expect(head.toLowerCase()).toContain(`content-length: ${TOTAL}`)

    // Stalled: the server waits for 'drain' and has written nothing more for 200 ms (polled; 5 s at most).
    let last = -1
    let since = performance.now()
    await until(() => {
      if (written !== last) { last = written; since = performance.now() }
      return waiting && performance.now() - since >= 200
    }, 'the server\'s writes stalling', 5000)
    expect(written).toBeLessThan(16 * MiB)
    expect(bodyBytes).toBeLessThanOrEqual(CHUNK) // the client read one socket read's worth, then paused
    expect(proxy.active()).toEqual([1])

    socket.resume()
    const serverSha = await within(done.promise, 5000, 'the server writing everything')
    await within(complete.promise, 5000, 'the client receiving everything')
    expect(bodyBytes).toBe(TOTAL)
    expect(received.digest('hex')).toBe(serverSha)
    await until(() => proxy.active()[0] === 0, 'in-flight back to 0', 1000)
    socket.end()
    await within(closed.promise, 1000, 'the client connection closing')
  })
})

describe('an upstream failure after the response head', () => {
  it.each(['content-length', 'chunked'])('cuts the client connection (%s body): never a complete-looking response', async (framing) => {
    const cut = await backend('cut', (_req, res) => {
      res.writeHead(200, framing === 'content-length' ? { 'content-length': '100000' } : {})
      res.write('x'.repeat(1000), () => res.socket?.destroy())
    })
    const proxy = await startProxy(config([cut.url]))
    const got = await within(new Promise<{ status: number; bytes: number; complete: boolean; ended: boolean }>((resolve, reject) => {
      const req = http.request(proxy.url('/cut'), { agent: false }, (res) => {
        let bytes = 0
        let ended = false
        res.on('data', (c: Buffer) => { bytes += c.length })
        res.on('end', () => { ended = true })
        res.on('error', () => {})
        res.on('close', () => resolve({ status: res.statusCode ?? 0, bytes, complete: res.complete, ended }))
      })
      req.on('error', reject)
      req.end()
    }), 3000, 'the client connection ending')
    expect(got.status).toBe(200)
    expect(got.complete).toBe(false)
    expect(got.ended).toBe(false)
    expect(got.bytes).toBeLessThanOrEqual(1000)
    const text = await proxy.scrape()
    expect(seriesSum(text, 'switchyard_retries_total', { upstream: 'app' })).toBe(0)
    expect(seriesValue(text, 'switchyard_upstream_errors_total', { server: id(cut.url), reason: 'reset' })).toBe(1)
    await until(() => proxy.active()[0] === 0, 'in-flight back to 0', 1000)
  })
})

describe('no server available', () => {
  it('an upstream whose only server was ejected (passive health) answers 503 with Retry-After', async () => {
    const dead = `http://127.0.0.1:${await refusedPort()}`
    const proxy = await startProxy(config([dead], ['retries: 0', 'passive_health: { consecutive_failures: 1, eject_duration: 5s }']))
    expect((await request(proxy.url('/'))).status).toBe(502)
    expect(proxy.states()).toEqual(['ejected'])
    const r = await request(proxy.url('/'))
    expect(r.status).toBe(503)
    expect(r.headers['retry-after']).toBe('5')
    expect(r.body).toBe('no healthy server\n')
    const text = await proxy.scrape()
    expect(seriesValue(text, 'switchyard_upstream_errors_total', { server: id(dead), reason: 'connect_refused' })).toBe(1) // the 503 tried nothing
    expect(seriesValue(text, 'switchyard_requests_total', { upstream: 'app', server: '', code: '503' })).toBe(1)
  })

  it('an upstream whose only server fails its health checks answers 503 with Retry-After', async () => {
    const dead = `http://127.0.0.1:${await refusedPort()}`
    const proxy = await startProxy(config([dead], ['health_check: { interval: 50ms, timeout: 50ms, unhealthy_threshold: 1 }']), true)
    await until(() => proxy.states()[0] === 'unhealthy', 'the server turning unhealthy', 2000)
    const r = await request(proxy.url('/'))
    expect(r.status).toBe(503)
    expect(r.headers['retry-after']).toBe('1')
    const text = await proxy.scrape()
    expect(seriesValue(text, 'switchyard_upstream_errors_total', { server: id(dead), reason: 'connect_refused' })).toBe(0)
  })
})
