// The listener survives random request heads. The real daemon, in front of a backend
// that records every request head it receives, gets N seeded-random connections (default
// 1,500; env FUZZ_CASES): mutations of valid requests (random bytes in the method, target,
// version, header names and values; CR, LF and NUL in random places; truncated heads;
// random Content-Length / Transfer-Encoding combinations; pipelined requests; bodies
// written in pieces), 16 connections at a time, each destroyed after 2 s at the latest.
//
// Properties:
// - the daemon never crashes: still running, still forwarding a valid request at the end;
// - every response starts with a valid `HTTP/1.1 NNN` status line;
// - no 5xx except 502, 503 and 504 (a 500 would be an exception in the request path);
// - the backend never receives a request whose method and target were not literally sent
//   as a request line (nothing synthesised; whether a request line hidden in a body can be
//   smuggled through is test/contract/smuggling.test.ts's subject);
// - the daemon's open file descriptors return to within +20 of the baseline once every
//   connection is closed.
//
// Seeded (FUZZ_SEED); FUZZ_CASE=<index> replays one connection and prints its bytes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readdirSync } from 'node:fs'
import { startCountingBackend, type CountingBackend } from '../helpers/counting-backend.js'
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js'
import { oneUpstream } from '../helpers/config.js'
import { exchange, parseResponses, type RawResult } from '../helpers/raw-http.js'
import { sleep } from '../helpers/client.js'
import { fuzzCases, fuzzIndexes, fuzzSeed, Rng } from '../helpers/prng.js'

const SEED = fuzzSeed(0x0f022ed5)
const CASES = fuzzCases(1500)
const CONCURRENCY = 16
const CONNECTION_TIMEOUT_MS = 2000

// ---------------------------------------------------------------------------------------
// Generation

const METHODS = ['GET', 'GET', 'GET', 'POST', 'POST', 'PUT', 'HEAD', 'DELETE', 'OPTIONS', 'PATCH', 'PURGE', 'CONNECT', 'TRACE']
const ODD_METHODS = ['get', 'G\0T', 'GE T', 'GET\t', 'FOO', 'PRI', '', 'GETT', 'P0ST', 'M-SEARCH', 'ACL', 'SOURCE']
const VERSIONS = ['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0']
const ODD_VERSIONS = ['HTTP/1.2', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/1', 'http/1.1', 'HTTP/1.1 ', 'HTTP/11', 'HTTP/1.1\0', '', 'HTTX/1.1']
const NASTY = ['\0', '\r', '\n', '\r\n', '\t', ' ', '\x7f', '\x01', '\x1b', '\xff', '\x80', ':', ';', ',', '"', '%', '%00', '%zz', '#', '?', '/', '\\', '..', '*', '@', 'ü']
const HEADER_NAMES = ['X-Fuzz', 'Accept', 'User-Agent', 'Cookie', 'X-Forwarded-For', 'X-Request-Id', 'Connection', 'Keep-Alive', 'Upgrade', 'TE', 'Trailer', 'Expect', 'Proxy-Connection', 'Content-Type', 'Range', 'If-None-Match', 'Authorization']
const HEADER_VALUES = ['1', 'text/html', 'a=b; c=d', '203.0.113.7', 'abc-123', 'close', 'keep-alive', 'keep-alive, X-Fuzz', 'timeout=5', 'h2c', 'websocket', 'trailers', '100-continue', 'bytes=0-1', '"etag"', 'Basic Zm9vOmJhcg==', '', ' ', 'x'.repeat(200)]
const TE_VALUES = ['chunked', 'chunked', 'Chunked', ' chunked', 'chunked ', 'identity', 'gzip, chunked', 'chunked, gzip', 'chunked, chunked', 'xchunked', '', 'chunked;q=1']
const CL_ODD = ['-1', '+3', '0x3', '3 3', '3, 3', '3,4', '', ' ', '99999999999999999999', '1e3', '03', '3.0']

interface FuzzCase {
  pieces: string[]
  halfClose: boolean
  /** Number of requests in it (for the responses to wait for). */
  requests: number
  /** A HEAD among them: responses can not be split by length. */
  head: boolean
}

function mutateToken(rng: Rng, s: string): string {
  const p = rng.int(0, s.length)
  switch (rng.int(0, 3)) {
    case 0: return s.slice(0, p) + rng.pick(NASTY) + s.slice(p)
    case 1: return s.slice(0, p) + rng.bytes(1) + s.slice(p + 1)
    case 2: return s.slice(0, p) + s.slice(p + 1)
    default: return s.slice(0, p) + rng.pick(NASTY) + s.slice(p + 1)
  }
}

function randomBody(rng: Rng): string {
  return rng.chance(0.2) ? '' : rng.pick(['hello', 'a=1&b=2', '{"x":1}', 'x'.repeat(rng.int(1, 3000)), rng.bytes(rng.int(1, 50))])
}

function chunked(rng: Rng, body: string): string {
  let out = ''
  let i = 0
  while (i < body.length) {
    const n = Math.min(body.length - i, rng.int(1, 700))
    out += `${n.toString(16)}${rng.chance(0.05) ? ';ext=1' : ''}\r\n${body.slice(i, i + n)}\r\n`
    i += n
  }
  return `${out}0\r\n${rng.chance(0.05) ? 'X-Trailer: 1\r\n' : ''}\r\n`
}

/** One request, valid or nearly so. `tag` makes its target unique to the case. */
function request(rng: Rng, tag: string): { text: string; head: boolean } {
  // About a third of the requests are left clean: the forwarding path gets its share.
  const p = rng.chance(0.35) ? 0 : 1
  const chance = (x: number): boolean => rng.chance(x * p)
  let method = !chance(0.1) ? rng.pick(METHODS) : rng.pick(ODD_METHODS)
  let target = `/${tag}/${rng.pick(['', 'a', 'a/b', 'api/v1/items', 'x.html', '%2e%2e/x', 'a;b=c'])}${rng.chance(0.3) ? `?q=${rng.int(0, 999)}&r=${rng.pick(['x', '%20', '/'])}` : ''}`
  if (chance(0.04)) target = rng.pick(['*', 'http://other.example/x', `http://fuzz.test/${tag}`, 'other.example:443', '//double', ''])
  let version = !chance(0.07) ? rng.pick(VERSIONS) : rng.pick(ODD_VERSIONS)
  if (chance(0.08)) method = mutateToken(rng, method)
  if (chance(0.12)) target = mutateToken(rng, target)
  if (chance(0.05)) version = mutateToken(rng, version)

  const headers: [string, string][] = []
  if (!chance(0.05)) headers.push(['Host', !chance(0.05) ? 'fuzz.test' : rng.pick(['', 'a b', 'fuzz.test:99999', '[::1]', 'ü.test'])])
  for (let i = rng.int(0, 4); i > 0; i--) headers.push(p === 0 ? [rng.pick(HEADER_NAMES.slice(0, 6)), rng.pick(HEADER_VALUES.slice(0, 5))] : [rng.pick(HEADER_NAMES), rng.pick(HEADER_VALUES)])
  if (chance(0.03)) headers.push(['Host', 'second.test'])

  // Body framing: none, Content-Length, chunked, or a conflicting mix.
  const body = randomBody(rng)
  let bodyText = ''
  const framing = p === 0 ? rng.int(0, 5) : rng.int(0, 11)
  if (framing <= 3 && body !== '') {
    headers.push(['Content-Length', String(body.length)])
    bodyText = body
  } else if (framing <= 5 || framing >= 10) {
    headers.push(['Transfer-Encoding', 'chunked'])
    bodyText = chunked(rng, body)
  } else if (framing === 6) {
    headers.push(['Content-Length', rng.chance(0.5) ? String(body.length + rng.int(-3, 3)) : rng.pick(CL_ODD)])
    bodyText = body
  } else if (framing === 7) {
    headers.push(['Transfer-Encoding', rng.pick(TE_VALUES)])
    bodyText = rng.chance(0.7) ? chunked(rng, body) : body
  } else if (framing === 8) {
    headers.push(['Content-Length', String(body.length)], ['Transfer-Encoding', rng.pick(TE_VALUES)])
    if (rng.chance(0.5)) headers.reverse()
    bodyText = rng.chance(0.5) ? chunked(rng, body) : body
  } else if (body !== '' && rng.chance(0.5)) {
    headers.push(['Content-Length', String(body.length)], ['Content-Length', String(rng.chance(0.5) ? body.length : body.length + 1)])
    bodyText = body
  }
  // Shuffle a little, and mutate names and values.
  if (chance(0.3)) headers.sort(() => (rng.chance(0.5) ? 1 : -1))
  for (const h of headers) {
    if (chance(0.04)) h[0] = mutateToken(rng, h[0])
    if (chance(0.05)) h[1] = mutateToken(rng, h[1])
    if (chance(0.01)) h[0] += ' '
  }
  let eol = '\r\n'
  if (chance(0.03)) eol = rng.pick(['\n', '\r', '\r\r\n'])
  const sp = chance(0.03) ? rng.pick(['  ', '\t', ' \t']) : ' '
  const lines = [`${method}${sp}${target}${sp}${version}`, ...headers.map(([n, v]) => (chance(0.01) ? `${n}:${eol} ${v}` : `${n}: ${v}`))]
  let text = lines.join(eol) + eol + eol + bodyText
  // Byte-level damage anywhere in the head.
  const headLength = text.length - bodyText.length
  for (let i = chance(0.1) ? rng.int(1, 3) : 0; i > 0; i--) {
    const p = rng.int(0, headLength)
    text = text.slice(0, p) + (rng.chance(0.5) ? rng.pick(['\r', '\n', '\0', '\r\n', ' ']) : rng.bytes(1)) + text.slice(p + (rng.chance(0.5) ? 1 : 0))
  }
  if (chance(0.05)) text = text.slice(0, rng.int(0, headLength)) // truncated head
  return { text, head: method === 'HEAD' }
}

function generate(index: number): FuzzCase {
  const rng = new Rng(SEED, index)
  const count = rng.chance(0.2) ? rng.int(2, 3) : 1 // pipelined
  let all = ''
  let head = false
  for (let k = 0; k < count; k++) {
    const r = request(rng, `c${index}r${k}`)
    all += r.text
    head ||= r.head
  }
  if (rng.chance(0.02)) all = rng.bytes(rng.int(1, 200)) // pure noise
  if (rng.chance(0.02)) all = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' + all
  // Sometimes in pieces, cut at random places.
  const pieces: string[] = []
  if (rng.chance(0.15) && all.length > 2) {
    const cuts = [0, ...Array.from({ length: rng.int(1, 3) }, () => rng.int(1, all.length - 1)).sort((a, b) => a - b), all.length]
    for (let i = 0; i + 1 < cuts.length; i++) pieces.push(all.slice(cuts[i], cuts[i + 1]))
  } else {
    pieces.push(all)
  }
  return { pieces, halfClose: rng.chance(0.5), requests: count, head }
}

// ---------------------------------------------------------------------------------------

function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length
}

const ALLOWED_5XX = new Set([502, 503, 504])
const STATUS_LINE = /^HTTP\/1\.1 [1-5]\d\d(?: [^\r\n]*)?\r\n/

interface Outcome { index: number; c: FuzzCase; res: RawResult }

describe(`request fuzz against the listener (FUZZ_SEED=${SEED}, ${CASES} connections)`, () => {
  let backend: CountingBackend
  let daemon: RunningDaemon
  let baselineFds = 0
  const outcomes: Outcome[] = []

  beforeAll(async () => {
    backend = await startCountingBackend()
    daemon = await startDaemon(oneUpstream([backend.url], 'retries: 0'))
    // Baseline with the upstream pool warm (one pooled connection exists from now on).
    const warm = await exchange(daemon.port(), 'GET /warm HTTP/1.1\r\nHost: fuzz.test\r\nConnection: close\r\n\r\n', { responses: 1 })
    expect(parseResponses(warm.text).responses[0]?.status).toBe(200)
    await sleep(200)
    baselineFds = openFds(daemon.proc.pid!)
  })
  afterAll(async () => {
    await daemon?.stop()
    await backend?.close()
  })

  it('random connections: valid status lines only, no 500s, nothing synthesised, the daemon lives', async () => {
    const indexes = fuzzIndexes(CASES)
    let next = 0
    let peakFds = 0
    const worker = async (): Promise<void> => {
      while (next < indexes.length) {
        const index = indexes[next++]!
        const c = generate(index)
        if (indexes.length === 1) console.log(`case ${index}: ${JSON.stringify(c)}`)
        const res = await exchange(daemon.port(), c.pieces, {
          halfClose: c.halfClose,
          pieceDelayMs: 5,
          timeoutMs: CONNECTION_TIMEOUT_MS,
          responses: c.head ? undefined : c.requests,
          graceMs: 50,
        })
        outcomes.push({ index, c, res })
        if (outcomes.length % 100 === 0) peakFds = Math.max(peakFds, openFds(daemon.proc.pid!))
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, worker))
    await sleep(300) // let forwarded requests land

    const where = (o: Outcome): string => `FUZZ_SEED=${SEED} FUZZ_CASE=${o.index}: sent ${JSON.stringify(o.c.pieces.join('').slice(0, 600))}; got ${JSON.stringify(o.res.text.slice(0, 400))}`
    const problems: string[] = []
    for (const o of outcomes) {
      const text = o.res.text
      if (text === '') continue // closed or timed out without an answer: allowed
      if (!STATUS_LINE.test(text)) {
        problems.push(`not a status line: ${where(o)}`)
        continue
      }
      if (o.c.head) continue // responses to HEAD can not be split by Content-Length
      const { responses } = parseResponses(text)
      for (const r of responses) {
        if (!/^HTTP\/1\.1 [1-5]\d\d/.test(r.statusLine)) problems.push(`bad status line ${JSON.stringify(r.statusLine)}: ${where(o)}`)
        if (r.status >= 500 && !ALLOWED_5XX.has(r.status)) problems.push(`status ${r.status}: ${where(o)}`)
      }
    }

    // Nothing synthesised: every request the backend saw was sent, method and target, as
    // the start of a request line (anywhere: a pipelined request follows the body before it).
    const sent = outcomes.map((o) => o.c.pieces.join(''))
    const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    for (const h of backend.heads) {
      if (h.url === '/warm' || h.url === '/final') continue
      const line = new RegExp(`${escape(h.method)}[ \\t]+${escape(h.url)}(?:[ \\t\\r\\n]|$)`)
      if (!sent.some((s) => s.includes(h.url) && line.test(s))) problems.push(`backend received ${JSON.stringify(`${h.method} ${h.url}`)}, which no connection sent as a request line`)
    }

    const counts = new Map<string, number>()
    for (const o of outcomes) {
      const s = o.res.text === '' ? `none (${o.res.endedBy})` : String(parseResponses(o.res.text).responses[0]?.status ?? o.res.text.slice(0, 12))
      counts.set(s, (counts.get(s) ?? 0) + 1)
    }
    console.log(`request fuzz: ${outcomes.length} connections, first answers ${JSON.stringify(Object.fromEntries([...counts].sort()))}, backend saw ${backend.heads.length} requests, fds baseline ${baselineFds} peak ${peakFds}`)

    expect(problems.slice(0, 10), `${problems.length} problem(s)`).toEqual([])
    expect(outcomes.length).toBe(indexes.length)
    // The generator reaches both sides: many requests forwarded, many refused.
    if (indexes.length > 100) {
      expect(backend.heads.length).toBeGreaterThan(indexes.length / 10)
      expect(counts.get('400') ?? 0).toBeGreaterThan(indexes.length / 20)
    }
  }, 120_000)

  it('the daemon still runs and forwards a valid request', async () => {
    expect(daemon.proc.exitCode, daemon.stderr.join('\n')).toBe(null)
    expect(daemon.proc.signalCode).toBe(null)
    const res = await exchange(daemon.port(), 'POST /final HTTP/1.1\r\nHost: fuzz.test\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello', { responses: 1 })
    const r = parseResponses(res.text).responses[0]
    expect(r?.status, res.text).toBe(200)
    expect(r?.body).toBe('ok:POST /final 5')
    const logged = daemon.logs.filter((l) => ['error', 'fatal'].includes(String(l.level)) || Number(l.level) >= 50)
    expect(logged, JSON.stringify(logged.slice(0, 3))).toEqual([])
  })

  it('open file descriptors return to the baseline (+20) once every connection is closed', async () => {
    const pid = daemon.proc.pid!
    let fds = openFds(pid)
    for (let waited = 0; fds > baselineFds + 20 && waited < 6000; waited += 250) {
      await sleep(250)
      fds = openFds(pid)
    }
    expect(fds, `baseline ${baselineFds}, now ${fds}`).toBeLessThanOrEqual(baselineFds + 20)
  })
})
