// docs/proxying.md, docs/proxying.md#errors: servers that misbehave. A backend that resets
// mid-body, hangs after the head, sends a malformed status line, sends more bytes than its
// Content-Length, or closes keep-alive sockets early gives the client a correct 502/504 or
// an aborted connection, never a complete-looking wrong answer, and never crashes the
// daemon. The bad servers are plain `net` servers writing raw bytes.
import { afterEach, describe, expect, it } from 'vitest'
import http from 'node:http'
import type net from 'node:net'
import { closeAfterEach } from '../helpers/scope.js'
import type { Backend } from '../helpers/backends.js'
import type { RunningDaemon } from '../helpers/daemon.js'
import { request } from '../helpers/client.js'
import { exchange, onRequestHeads, parseResponses, startRawServer, type RawServer } from '../helpers/raw-http.js'

const { backend, daemon, defer } = closeAfterEach()

/** How a client-side exchange ended, as a careful client sees it. */
interface Outcome {
  /** 0 when the connection was cut before a response head arrived. */
  status: number
  headers: http.IncomingHttpHeaders
  body: string
  /** true only when the response ended cleanly ('end' with the whole body). */
  complete: boolean
  error?: string
  /** ms from sending the request to the end (clean or not). */
  elapsed: number
  reusedSocket: boolean
}

/** Never rejects: a connection cut before the response head is status 0 with the error. */
function fetchOutcome(url: string, agent: http.Agent | false = false, timeoutMs = 10_000): Promise<Outcome> {
  return new Promise((resolve) => {
    const t0 = Date.now()
    let responded = false
    const req = http.request(url, { agent }, (res) => {
      responded = true
      const chunks: Buffer[] = []
      let settled = false
      const done = (complete: boolean, error?: string): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        const out: Outcome = { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('latin1'), complete, elapsed: Date.now() - t0, reusedSocket: req.reusedSocket }
        if (error !== undefined) out.error = error
        resolve(out)
      }
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => done(true))
      res.on('error', (e: NodeJS.ErrnoException) => done(false, e.code ?? e.message))
      res.on('close', () => done(res.complete, res.complete ? undefined : 'closed before the end'))
    })
    const timer = setTimeout(() => req.destroy(new Error(`no outcome within ${timeoutMs} ms`)), timeoutMs)
    req.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      // After a response head, the response's own events report the end.
      if (!responded) resolve({ status: 0, headers: {}, body: '', complete: false, error: e.code ?? e.message, elapsed: Date.now() - t0, reusedSocket: req.reusedSocket })
    })
    req.end()
  })
}

/**
 * A daemon with two upstreams: `bad` (the server under test, every path but /healthy)
 * and `healthy` (a normal backend, /healthy), so that after each case we can prove the
 * process still serves.
 */
async function daemonFor(bad: RawServer, badExtra = ''): Promise<{ d: RunningDaemon; good: Backend }> {
  const good = await backend('good')
  const d = await daemon(`
listeners: [{ name: public, address: 127.0.0.1, port: 0 }]
admin: { port: 0 }
upstreams:
  bad:
    servers: [{ url: ${bad.url} }]
${badExtra.split('\n').filter((l) => l.trim() !== '').map((l) => `    ${l}`).join('\n')}
  healthy:
    servers: [{ url: ${good.url} }]
routes:
  - { match: { path_prefix: /healthy }, upstream: healthy }
  - { match: { path_prefix: / }, upstream: bad }
`)
  current = d
  return { d, good }
}

async function rawServer(onConnection: (socket: net.Socket, index: number) => void): Promise<RawServer> {
  const s = await startRawServer(onConnection)
  defer(s)
  return s
}

// After every case: the process is alive and a healthy upstream still answers.
let current: RunningDaemon | null = null
afterEach(async () => {
  const d = current
  current = null
  if (d === null) return
  expect(d.proc.exitCode, `daemon died; stderr: ${d.stderr.join('\n')}`).toBe(null)
  expect(d.proc.signalCode).toBe(null)
  const r = await request(d.url('/healthy'))
  expect(r.status).toBe(200)
  expect(r.body).toBe('good')
})

/** Answers each request head on the socket with `respond(index)`. */
function perRequest(respond: (socket: net.Socket, head: string, index: number) => void): (socket: net.Socket) => void {
  return (socket) => onRequestHeads(socket, (head, i) => respond(socket, head, i))
}

describe('misbehaving backends', () => {
  it('a reset in the middle of the body: the client connection is aborted, the body never looks complete', async () => {
    const bad = await rawServer(perRequest((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789')
      setTimeout(() => socket.resetAndDestroy(), 50)
    }))
    const { d } = await daemonFor(bad)
    const o = await fetchOutcome(d.url('/x'))
    expect(o.status).toBe(200)
    expect(o.complete, JSON.stringify(o)).toBe(false)
    expect(o.body.length).toBeLessThan(100)
    expect(o.body).toBe('0123456789')
    expect(o.error).toBeDefined()
  })

  it('a server that hangs after the head: the client connection is cut after timeouts.idle, never ended cleanly', async () => {
    const bad = await rawServer(perRequest((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n') // and then nothing, ever
    }))
    const { d } = await daemonFor(bad, 'retries: 0\ntimeouts: { idle: 500ms }')
    const o = await fetchOutcome(d.url('/x'))
    // The head may not have been flushed to the client before the cut (Node sends it with
    // the first body byte): then the client sees the connection close without a response.
    // Either way: no clean end, no body.
    expect([0, 200], JSON.stringify(o)).toContain(o.status)
    expect(o.complete, JSON.stringify(o)).toBe(false)
    expect(o.error).toBeDefined()
    expect(o.body).toBe('')
    expect(o.elapsed).toBeGreaterThanOrEqual(450)
    expect(o.elapsed).toBeLessThan(500 + 1500)
    expect(await d.waitForLog((l) => l.msg === 'request')).toMatchObject({ status: 200, error: 'UND_ERR_BODY_TIMEOUT' })
  })

  it.each([
    ['a status code with letters', 'HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\nok'],
    ['a header line without a colon', 'HTTP/1.1 200 OK\r\nthis is not a header\r\nContent-Length: 2\r\n\r\nok'],
    ['no status line at all', 'garbage\r\n\r\n'],
    ['an unknown protocol name', 'HTTX/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'],
    ['a NUL in a header value', 'HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 2\r\n\r\nok'],
  ])('a malformed response (%s): 502', async (_name, bytes) => {
    const bad = await rawServer(perRequest((socket) => socket.end(bytes)))
    const { d } = await daemonFor(bad, 'retries: 0')
    const raw = await exchange(d.port(), 'GET /x HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n')
    const { responses } = parseResponses(raw.text)
    expect(responses.map((r) => r.status), raw.text).toEqual([502])
    expect(responses[0]!.body).toBe('bad gateway\n')
    expect(responses[0]!.headers['x-request-id']).toMatch(/\S/)
    expect(raw.text).not.toContain('ok\r\n') // nothing of the bad answer leaks through
  })

  it('more body bytes than Content-Length: the client gets exactly Content-Length bytes, and the next request on the same connections is answered correctly', async () => {
    // Each response is followed by extra bytes forming a complete fake response: an
    // upstream connection reused with those bytes still buffered would answer the next
    // request with "/xx", a desync.
    const bad = await rawServer(perRequest((socket, head) => {
      const path = head.split(' ')[1]!
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${path.length}\r\n\r\n${path}HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n/xx`)
    }))
    // One upstream connection at most: a reused one would carry the leftovers.
    const { d } = await daemonFor(bad, 'retries: 0\nmax_connections_per_server: 1')
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    defer({ close: async () => agent.destroy() })
    const outcomes: Outcome[] = []
    for (const path of ['/r1', '/r2', '/r3', '/r4']) outcomes.push(await fetchOutcome(d.url(path), agent))
    // One client connection for all of them (the daemon kept it alive).
    expect(outcomes.map((o) => o.reusedSocket)).toEqual([false, true, true, true])
    for (const [i, o] of outcomes.entries()) {
      expect(o, JSON.stringify(outcomes)).toMatchObject({ status: 200, complete: true, body: `/r${i + 1}` })
    }
  })

  it('a chunked response with a bad chunk size mid-body: the client connection is aborted', async () => {
    const bad = await rawServer(perRequest((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n')
      setTimeout(() => socket.write('zz\r\nmore\r\n0\r\n\r\n'), 50)
    }))
    const { d } = await daemonFor(bad, 'retries: 0')
    const o = await fetchOutcome(d.url('/x'))
    expect(o.status).toBe(200)
    expect(o.complete, JSON.stringify(o)).toBe(false)
    expect(o.body).toBe('hello')
    expect(o.error).toBeDefined()
  })

  it('a server that closes every connection right after its response (no Connection: close): many sequential requests all succeed', async () => {
    let n = 0
    const bad = await rawServer(perRequest((socket, head) => {
      const path = head.split(' ')[1]!
      n++
      socket.end(`HTTP/1.1 200 OK\r\nContent-Length: ${path.length}\r\n\r\n${path}`)
    }))
    const { d } = await daemonFor(bad)
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    defer({ close: async () => agent.destroy() })
    for (let i = 0; i < 40; i++) {
      const o = await fetchOutcome(d.url(`/q${i}`), agent)
      expect(o, `request ${i}`).toMatchObject({ status: 200, complete: true, body: `/q${i}` })
    }
    expect(n).toBeGreaterThanOrEqual(40)
    expect(bad.connections()).toBeGreaterThanOrEqual(40)
  })

  it('a response with both Content-Length and Transfer-Encoding: 502', async () => {
    const bad = await rawServer(perRequest((socket) => {
      socket.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n')
    }))
    const { d } = await daemonFor(bad, 'retries: 0')
    const raw = await exchange(d.port(), 'GET /x HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n')
    const { responses } = parseResponses(raw.text)
    expect(responses.map((r) => r.status), raw.text).toEqual([502])
    expect(raw.text).not.toContain('hello')
  })

  it('103 Early Hints before the final response: the client gets the 200 and its body, not the 103', async () => {
    const bad = await rawServer(perRequest((socket) => {
      socket.write('HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n')
      setTimeout(() => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Final: yes\r\n\r\nfinal'), 30)
    }))
    const { d } = await daemonFor(bad, 'retries: 0')
    const raw = await exchange(d.port(), 'GET /x HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n')
    const { responses, rest } = parseResponses(raw.text)
    expect(responses.map((r) => r.status), raw.text).toEqual([200])
    expect(responses[0]!.body).toBe('final')
    expect(responses[0]!.headers['x-final']).toBe('yes')
    expect(rest).toBe('')
  })

  it('a server that closes before any response byte: a GET is retried once and then 502, never a crash', async () => {
    const bad = await rawServer(perRequest((socket) => socket.destroy()))
    const { d } = await daemonFor(bad, 'retries: 1')
    const raw = await exchange(d.port(), 'GET /x HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n')
    expect(parseResponses(raw.text).responses.map((r) => r.status)).toEqual([502])
    expect(bad.connections()).toBe(2)
  })
})
