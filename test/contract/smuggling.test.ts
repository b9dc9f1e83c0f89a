// Malformed and ambiguous requests are refused and never forwarded (docs/proxying.md#what-is-refused): one table of raw request bytes sent to the listener, each with the
// outcome a safe proxy must produce, and a backend that records every byte, head and body
// it receives to prove nothing was smuggled past the daemon.
//
// Outcomes:
// - refused: the first response is `status` and not one byte reaches the backend (the error
//   is in the request head, so nothing may be sent). After a parse error the daemon closes
//   the connection (what follows cannot be framed); a well-framed request that switchyard
//   refuses itself may keep it, unless the row says `closes`.
// - refusedMidBody: the error is in a chunked body. Bodies stream, so the head and the
//   chunks before the bad one may already be on their way upstream; the backend must then
//   see that request cut (never complete) and nothing after it.
// - unanswered: the head is not finished; nothing is answered yet and nothing forwarded.
// - forwarded: exactly these requests reach the backend (method, target, body), complete,
//   and the client gets `statuses` in order (then possibly `thenMaybe`, the refusal of
//   what followed): never more requests than were sent in a valid form, never a smuggled one.
//
// What answers the 400s: "node" rows are refused by Node's HTTP parser (llhttp, strict
// mode, the daemon's `clientError` handler writes the status line); "switchyard" rows
// reach the daemon's request handler, which refuses them itself (they carry X-Request-Id).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCountingBackend, type CountingBackend } from '../helpers/counting-backend.js'
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js'
import { oneUpstream } from '../helpers/config.js'
import { exchange, parseResponses } from '../helpers/raw-http.js'
import { sleep } from '../helpers/client.js'

interface Sent { method: string; url: string; body: string }

type Outcome =
  | { refused: number; by: 'node' | 'switchyard'; closes?: boolean }
  | { refusedMidBody: number }
  | { unanswered: true }
  | { forwarded: Sent[]; statuses: number[]; thenMaybe?: number }

interface Row {
  name: string
  send: string
  expect: Outcome
  /** Why this is the right outcome (and who produces it). */
  why: string
}

const H = 'Host: app.test\r\n'
const SMUGGLED = `GET /smuggled HTTP/1.1\r\n${H}\r\n`
const CLOSE = 'Connection: close\r\n'

const rows: Row[] = [
  // --- Content-Length and Transfer-Encoding together, or ambiguous ---------------------
  {
    name: 'CL + TE (CL first), smuggled GET in the body',
    send: `POST /a HTTP/1.1\r\n${H}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    expect: { refused: 400, by: 'node' },
    why: 'llhttp refuses a request carrying both (HPE_INVALID_TRANSFER_ENCODING); RFC 9112 6.3 allows only that or TE-wins with the connection closed',
  },
  {
    name: 'TE + CL (TE first), smuggled GET after the last chunk',
    send: `POST /a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: ${5 + SMUGGLED.length}\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    expect: { refused: 400, by: 'node' },
    why: 'same as above, the other header order',
  },
  {
    name: 'Transfer-Encoding: chunked, identity',
    send: `POST /a HTTP/1.1\r\n${H}Transfer-Encoding: chunked, identity\r\n\r\n3\r\nabc\r\n0\r\n\r\n${SMUGGLED}`,
    expect: { refused: 400, by: 'node' },
    why: 'chunked is not the final coding: the length of a request cannot be determined, RFC 9112 6.3 says 400 (HPE_INVALID_TRANSFER_ENCODING)',
  },
  {
    name: 'Transfer-Encoding: xchunked, smuggled GET after the chunks',
    send: `POST /a HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    expect: { refused: 400, by: 'node' },
    why: 'an unknown coding without chunked last: no framing can be trusted (HPE_INVALID_TRANSFER_ENCODING)',
  },
  {
    name: 'two Transfer-Encoding headers (chunked, then identity)',
    send: `POST /a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    expect: { refused: 400, by: 'node' },
    why: 'the combined value is "chunked, identity": chunked not final',
  },
  {
    name: 'Transfer-Encoding : chunked (space before the colon)',
    send: `POST /a HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    expect: { refused: 400, by: 'node' },
    why: 'RFC 9112 5.1: whitespace between field name and colon MUST be rejected with 400 (HPE_INVALID_HEADER_TOKEN)',
  },
  {
    name: 'Transfer-Encoding continued on an obs-fold line',
    send: `POST /a HTTP/1.1\r\n${H}Transfer-Encoding:\r\n chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    expect: { refused: 400, by: 'node' },
    why: 'RFC 9112 5.2: obs-fold outside message/http is refused with 400; llhttp strict refuses it (HPE_INVALID_HEADER_TOKEN)',
  },
  {
    name: 'obs-fold in an ordinary header',
    send: `GET /a HTTP/1.1\r\n${H}X-Note: one\r\n two\r\n\r\n`,
    expect: { refused: 400, by: 'node' },
    why: 'same rule: a folded line would be read differently by a lenient server behind us',
  },
  {
    name: 'Transfer-Encoding: chunked with HTTP/1.0, smuggled GET after the chunks',
    send: `POST /a HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    expect: { refused: 400, by: 'switchyard', closes: true },
    why: 'RFC 9112 6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing (an HTTP/1.0 hop does not know chunked); nginx refuses it with 400. At the least the client must never be told 400 for a POST the backend executed (today: the POST is forwarded, then the bytes after it hit HPE_CLOSED_CONNECTION and the client gets that 400 instead of the POST\'s answer)',
  },

  // --- Content-Length values ---------------------------------------------------------
  {
    name: 'Content-Length: 5, 6',
    send: `POST /a HTTP/1.1\r\n${H}Content-Length: 5, 6\r\n\r\nhello!${SMUGGLED}`,
    expect: { refused: 400, by: 'node' },
    why: 'conflicting list value (RFC 9110 8.6: MUST be treated as unrecoverable; HPE_INVALID_CONTENT_LENGTH)',
  },
  {
    name: 'two different Content-Length headers',
    send: `POST /a HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!${SMUGGLED}`,
    expect: { refused: 400, by: 'node' },
    why: 'conflicting duplicates (HPE_UNEXPECTED_CONTENT_LENGTH)',
  },
  {
    name: 'two equal Content-Length headers',
    send: `POST /a HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello`,
    expect: { refused: 400, by: 'node' },
    why: 'RFC 9110 allows collapsing equal values; llhttp refuses any duplicate (HPE_UNEXPECTED_CONTENT_LENGTH), which is the safe side',
  },
  {
    name: 'Content-Length: +5',
    send: `POST /a HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\nhello`,
    expect: { refused: 400, by: 'node' },
    why: 'Content-Length is 1*DIGIT: a sign is invalid (HPE_INVALID_CONTENT_LENGTH)',
  },
  {
    name: 'Content-Length: -5',
    send: `POST /a HTTP/1.1\r\n${H}Content-Length: -5\r\n\r\nhello`,
    expect: { refused: 400, by: 'node' },
    why: 'negative length',
  },
  {
    name: 'Content-Length: 0x5',
    send: `POST /a HTTP/1.1\r\n${H}Content-Length: 0x5\r\n\r\nhello`,
    expect: { refused: 400, by: 'node' },
    why: 'not decimal digits',
  },
  {
    name: 'Content-Length larger than 2^64',
    send: `POST /a HTTP/1.1\r\n${H}Content-Length: 99999999999999999999999\r\n\r\nhello`,
    expect: { refused: 400, by: 'node' },
    why: 'overflow must not wrap around to a small length',
  },
  {
    name: 'Content-Length : 5 (space before the colon)',
    send: `POST /a HTTP/1.1\r\n${H}Content-Length : 5\r\n\r\nhello`,
    expect: { refused: 400, by: 'node' },
    why: 'RFC 9112 5.1 (see the TE row)',
  },

  // --- Bad chunked bodies (the error comes after the head) -----------------------------
  {
    name: 'chunk size "zz", smuggled GET after',
    send: `POST /a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n${SMUGGLED}`,
    expect: { refusedMidBody: 400 },
    why: 'HPE_INVALID_CHUNK_SIZE; the head may already be on its way upstream (bodies stream) and must then be cut',
  },
  {
    name: 'chunk size shorter than its data, smuggled GET after',
    send: `POST /a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n${SMUGGLED}`,
    expect: { refusedMidBody: 400 },
    why: 'no CRLF after the chunk data: the chunk framing is broken (HPE_STRICT)',
  },
  {
    name: 'chunk size longer than its data, smuggled GET after',
    send: `POST /a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nabc\r\n0\r\n\r\n${SMUGGLED}`,
    expect: { refusedMidBody: 400 },
    why: 'same: the 5 bytes swallow "abc\\r\\n" and what follows is not CRLF',
  },
  {
    name: 'chunk size 0x3',
    send: `POST /a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n`,
    expect: { refusedMidBody: 400 },
    why: 'chunk-size is 1*HEXDIG without a prefix: a lenient parser would read 0 and end the body early (HPE_INVALID_CHUNK_SIZE)',
  },
  {
    name: 'chunk size -3',
    send: `POST /a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n-3\r\nabc\r\n0\r\n\r\n`,
    expect: { refusedMidBody: 400 },
    why: 'negative chunk size',
  },
  {
    name: 'chunk size overflowing 64 bits',
    send: `POST /a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\nabc\r\n0\r\n\r\n`,
    expect: { refusedMidBody: 400 },
    why: 'HPE_INVALID_CHUNK_SIZE: must not wrap around',
  },
  {
    name: 'chunk lines ending in bare LF',
    send: `POST /a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\nabc\n0\n\n${SMUGGLED}`,
    expect: { refusedMidBody: 400 },
    why: 'llhttp strict wants CRLF after chunk sizes and data (HPE_CR_EXPECTED)',
  },

  // --- Bytes that must never appear in a head ----------------------------------------
  {
    name: 'NUL byte in a header value',
    send: `GET /a HTTP/1.1\r\n${H}X-Note: a\x00b\r\n\r\n`,
    expect: { refused: 400, by: 'node' },
    why: 'RFC 9110 5.5: NUL is never valid in a field value (HPE_INVALID_HEADER_TOKEN)',
  },
  {
    name: 'bare CR in a header value',
    send: `GET /a HTTP/1.1\r\n${H}X-Note: a\rb\r\n\r\n`,
    expect: { refused: 400, by: 'node' },
    why: 'RFC 9112 2.2: a bare CR MUST be rejected or replaced; llhttp rejects (HPE_LF_EXPECTED)',
  },
  {
    name: 'bare LF line endings in the head, CL body and a smuggled GET after',
    send: `POST /a HTTP/1.1\nHost: app.test\nContent-Length: 5\n\nhello${SMUGGLED}`,
    expect: { refused: 400, by: 'node' },
    why: 'RFC 9112 2.2 allows a recipient to accept bare LF; Node 24 strict refuses it (HPE_INVALID_VERSION after the request line): either way never two requests. Observed: 400, nothing forwarded',
  },
  {
    name: 'space inside a header name',
    send: `GET /a HTTP/1.1\r\n${H}X Note: b\r\n\r\n`,
    expect: { refused: 400, by: 'node' },
    why: 'not a token (HPE_INVALID_HEADER_TOKEN)',
  },
  {
    name: 'first header line starts with whitespace',
    send: `GET /a HTTP/1.1\r\n ${H}\r\n`,
    expect: { refused: 400, by: 'node' },
    why: 'RFC 9112 2.2: whitespace before the first header line MUST be rejected (or the line ignored); HPE_UNEXPECTED_SPACE',
  },

  // --- Request line -------------------------------------------------------------------
  {
    name: 'absolute-form target to another host',
    send: `GET http://other.example/ HTTP/1.1\r\nHost: app.test\r\n\r\n`,
    expect: { refused: 400, by: 'switchyard' },
    why: 'docs/proxying.md: only origin-form targets are accepted; absolute-form gets 400 and nothing is forwarded (the Host and the target could disagree)',
  },
  {
    name: 'absolute-form target to the same host',
    send: `GET http://app.test/a HTTP/1.1\r\n${H}\r\n`,
    expect: { refused: 400, by: 'switchyard' },
    why: 'same rule for every absolute-form target',
  },
  {
    name: 'asterisk-form target',
    send: `OPTIONS * HTTP/1.1\r\n${H}\r\n`,
    expect: { refused: 400, by: 'switchyard' },
    why: 'docs/proxying.md: `*` gets 400',
  },
  {
    name: 'method with a NUL byte (G\\0T)',
    send: `G\x00T /a HTTP/1.1\r\n${H}\r\n`,
    expect: { refused: 400, by: 'node' },
    why: 'HPE_INVALID_METHOD',
  },
  {
    name: 'tab between method and target',
    send: `GET\t/a HTTP/1.1\r\n${H}\r\n`,
    expect: { refused: 400, by: 'node' },
    why: 'llhttp only accepts SP there (HPE_INVALID_METHOD)',
  },
  {
    name: 'lowercase method',
    send: `get /a HTTP/1.1\r\n${H}\r\n`,
    expect: { refused: 400, by: 'node' },
    why: 'methods are case-sensitive and llhttp only knows its fixed list: an unknown method is HPE_INVALID_METHOD',
  },
  {
    name: 'unknown method FOO',
    send: `FOO /a HTTP/1.1\r\n${H}\r\n`,
    expect: { refused: 400, by: 'node' },
    why: 'not in llhttp\'s method list (HPE_INVALID_METHOD)',
  },
  {
    name: 'target with a space in it',
    send: `GET /a b HTTP/1.1\r\n${H}\r\n`,
    expect: { refused: 400, by: 'node' },
    why: 'after the target comes "b HTTP/1.1", not a version (HPE_INVALID_CONSTANT)',
  },
  {
    name: 'control byte in the target',
    send: `GET /a\x01b HTTP/1.1\r\n${H}\r\n`,
    expect: { refused: 400, by: 'node' },
    why: 'HPE_INVALID_URL',
  },
  {
    name: 'HTTP/1.2',
    send: `GET /a HTTP/1.2\r\n${H}\r\n`,
    expect: { refused: 400, by: 'node' },
    why: 'llhttp strict knows 0.9, 1.0, 1.1 and 2.0 only (HPE_INVALID_VERSION)',
  },
  {
    name: '"HTTP/2.0" in an HTTP/1 request line',
    send: `GET /a HTTP/2.0\r\n${H}\r\n`,
    expect: { refused: 400, by: 'switchyard' },
    why: 'llhttp accepts version 2.0, but the connection is HTTP/1: there is no h2 stream and no h2 framing (it used to crash the daemon: the request fuzz found it)',
  },
  {
    name: 'HTTP/2 connection preface on the HTTP/1 port',
    send: 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
    expect: { refused: 400, by: 'node' },
    why: 'llhttp sees the preface and stops (HPE_PAUSED_H2_UPGRADE), the daemon answers 400',
  },
  {
    name: 'HTTP/0.9 request line without the end of a head (GET /\\r\\n)',
    send: 'GET /\r\n',
    expect: { unanswered: true },
    why: 'llhttp reads version-less lines as the start of a head and waits for its end (the request-head timeout then answers 408); nothing is forwarded meanwhile',
  },
  {
    name: 'version-less (HTTP/0.9 style) request line followed by headers and a CL body',
    send: `POST /a\r\n${H}Content-Length: 5\r\n${CLOSE}\r\nhello`,
    expect: { refused: 400, by: 'switchyard' },
    why: 'HTTP/0.9 has neither headers nor bodies: a server that reads "POST /a\\r\\n" as a complete 0.9 request frames the rest differently (a desync). llhttp accepts it as version 0.9 with headers; it must not be forwarded',
  },
  {
    name: 'HTTP/1.1 request without Host',
    send: 'GET /a HTTP/1.1\r\n\r\n',
    expect: { refused: 400, by: 'node' },
    why: 'RFC 9112 3.2: MUST 400; Node\'s requireHostHeader answers it (not a parse error, but the connection closes)',
  },
  {
    name: 'request head over 16 KiB',
    send: `GET /a HTTP/1.1\r\n${H}X-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`,
    expect: { refused: 431, by: 'node' },
    why: 'Node\'s max header size (16 KiB): HPE_HEADER_OVERFLOW, answered 431',
  },

  // --- Pipelined: a valid request, then garbage ---------------------------------------
  {
    name: 'pipelined: a valid GET, then a request with a NUL in its method',
    send: `GET /a HTTP/1.1\r\n${H}\r\nG\x00T /b HTTP/1.1\r\n${H}\r\n`,
    expect: { forwarded: [{ method: 'GET', url: '/a', body: '' }], statuses: [200], thenMaybe: 400 },
    why: 'the first response on a connection answers the first request (RFC 9112 9.3.2): the GET was forwarded, so its 200 must come first; a 400 first would be read as the answer to GET /a',
  },
  {
    name: 'pipelined: a valid POST with a CL body, then garbage',
    send: `POST /a HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhelloG\x00T /b HTTP/1.1\r\n${H}\r\n`,
    expect: { forwarded: [{ method: 'POST', url: '/a', body: 'hello' }], statuses: [200], thenMaybe: 400 },
    why: 'same; worse for a POST: told 400, a client would send again what the backend already executed',
  },

  // --- Accepted: safe leniency and positive controls ----------------------------------
  {
    name: 'control: a valid chunked POST',
    send: `POST /chunked HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n${CLOSE}\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n`,
    expect: { forwarded: [{ method: 'POST', url: '/chunked', body: 'hello world' }], statuses: [200] },
    why: 'positive control: forwarded once, exact body',
  },
  {
    name: 'control: a valid Content-Length POST',
    send: `POST /length HTTP/1.1\r\n${H}Content-Length: 11\r\n${CLOSE}\r\nhello world`,
    expect: { forwarded: [{ method: 'POST', url: '/length', body: 'hello world' }], statuses: [200] },
    why: 'positive control: forwarded once, exact body',
  },
  {
    name: 'control: two valid pipelined requests',
    send: `GET /one HTTP/1.1\r\n${H}\r\nPOST /two HTTP/1.1\r\n${H}Content-Length: 3\r\n${CLOSE}\r\nabc`,
    expect: { forwarded: [{ method: 'GET', url: '/one', body: '' }, { method: 'POST', url: '/two', body: 'abc' }], statuses: [200, 200] },
    why: 'pipelining works, in order',
  },
  {
    name: 'a 10 KiB header line (under the 16 KiB limit)',
    send: `GET /big HTTP/1.1\r\n${H}X-Big: ${'b'.repeat(10 * 1024)}\r\n${CLOSE}\r\n`,
    expect: { forwarded: [{ method: 'GET', url: '/big', body: '' }], statuses: [200] },
    why: 'large but legal: forwarded once (the header is checked intact below)',
  },
  {
    name: 'chunked with a chunk extension',
    send: `POST /ext HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n${CLOSE}\r\n5;name=value\r\nhello\r\n0\r\n\r\n`,
    expect: { forwarded: [{ method: 'POST', url: '/ext', body: 'hello' }], statuses: [200] },
    why: 'extensions are legal and ignored',
  },
  {
    name: 'Transfer-Encoding: identity, chunked',
    send: `POST /te HTTP/1.1\r\n${H}Transfer-Encoding: identity, chunked\r\n${CLOSE}\r\n3\r\nabc\r\n0\r\n\r\n`,
    expect: { forwarded: [{ method: 'POST', url: '/te', body: 'abc' }], statuses: [200] },
    why: 'chunked is final, so the framing is unambiguous; Node accepts it, the body is re-framed upstream (Transfer-Encoding is hop-by-hop)',
  },
  {
    name: 'Transfer-Encoding: CHUNKED (upper case)',
    send: `POST /te HTTP/1.1\r\n${H}Transfer-Encoding: CHUNKED\r\n${CLOSE}\r\n3\r\nabc\r\n0\r\n\r\n`,
    expect: { forwarded: [{ method: 'POST', url: '/te', body: 'abc' }], statuses: [200] },
    why: 'coding names are case-insensitive (RFC 9112 7)',
  },
  {
    name: 'two spaces between method and target',
    send: `GET  /sp HTTP/1.1\r\n${H}${CLOSE}\r\n`,
    expect: { forwarded: [{ method: 'GET', url: '/sp', body: '' }], statuses: [200] },
    why: 'RFC 9112 3 lets a recipient split the request line on whitespace; llhttp does, and the request goes upstream once, normalised',
  },
  {
    name: 'two Host headers',
    send: `GET /hosts HTTP/1.1\r\nHost: first.test\r\nHost: second.test\r\n${CLOSE}\r\n`,
    expect: { forwarded: [{ method: 'GET', url: '/hosts', body: '' }], statuses: [200] },
    why: 'docs/proxying.md: the first Host is kept and the second removed, so routing and the backend see the same host (RFC 9112 3.2 would have a 400; checked below that only one Host goes upstream)',
  },
]

function describeSeen(b: CountingBackend, from: number): string {
  return JSON.stringify(b.heads.slice(from).map((h) => ({ method: h.method, url: h.url, state: h.state, body: h.body })))
}

describe('malformed and ambiguous requests are refused and never forwarded', () => {
  let backend: CountingBackend
  let daemon: RunningDaemon

  beforeAll(async () => {
    backend = await startCountingBackend()
    // retries: 0 so that no row can be masked (or doubled) by a retry.
    daemon = await startDaemon(oneUpstream([backend.url], 'retries: 0'))
  })
  afterAll(async () => {
    await daemon?.stop()
    await backend?.close()
  })

  it.each(rows)('$name', async (row) => {
    // Warm the daemon's pool first: with an idle upstream connection ready, a request the
    // daemon accepts goes out at once, so a wrongly accepted one shows deterministically
    // (with a cold pool it could die with its client before the connect completes).
    const warm = await exchange(daemon.port(), `GET /warm HTTP/1.1\r\n${H}${CLOSE}\r\n`, { responses: 1 })
    expect(parseResponses(warm.text).responses[0]?.status).toBe(200)
    await sleep(20)
    const headsBefore = backend.heads.length
    const bytesBefore = backend.rawLength()
    const rawBefore = backend.rawBytes().length
    const o = row.expect
    const responses = 'forwarded' in o ? o.statuses.length + (o.thenMaybe === undefined ? 0 : 1) : 'unanswered' in o ? undefined : 1
    const res = await exchange(daemon.port(), row.send, { responses, timeoutMs: 'unanswered' in o ? 1000 : 3000 })
    await sleep(150) // anything forwarded late would show by now
    const { responses: got } = parseResponses(res.text)
    const statuses = got.map((r) => r.status)
    const newHeads = backend.heads.slice(headsBefore)
    const evidence = `client got ${JSON.stringify(res.text.slice(0, 300))} (ended by ${res.endedBy}${res.error ? `, ${res.error}` : ''}); backend saw ${describeSeen(backend, headsBefore)}; raw bytes upstream: ${JSON.stringify(backend.rawBytes().slice(rawBefore, rawBefore + 400))}`

    // Whatever the row: nothing smuggled, ever.
    expect(backend.rawBytes().slice(rawBefore), evidence).not.toContain('/smuggled')

    if ('refused' in o) {
      expect(newHeads, `nothing may be forwarded; ${evidence}`).toEqual([])
      expect(backend.rawLength() - bytesBefore, `no byte may reach the backend; ${evidence}`).toBe(0)
      expect(statuses[0], evidence).toBe(o.refused)
      expect(statuses.length, evidence).toBe(1)
      // A parse error leaves the framing of what follows unknown: the connection must go.
      // A well-framed request refused by switchyard may keep its connection (unless `closes`).
      if (o.by === 'node' || o.closes === true) expect(res.endedBy, `the daemon must close the connection after refusing it; ${evidence}`).toBe('server')
      // docs/proxying.md#errors: switchyard's own answers carry X-Request-Id (checked where the docs
      // names the case; for the others any correct refusal will do).
      if (o.by === 'switchyard' && o.closes !== true) expect(got[0]!.headers['x-request-id'] ?? '', evidence).toMatch(/\S/)
    } else if ('refusedMidBody' in o) {
      expect(statuses[0], evidence).toBe(o.refusedMidBody)
      expect(statuses.length, evidence).toBe(1)
      expect(res.endedBy, evidence).toBe('server')
      // At most the head of this very request, and then only cut, never complete.
      expect(newHeads.length, evidence).toBeLessThanOrEqual(1)
      for (const h of newHeads) {
        expect(h.url, evidence).toBe('/a')
        expect(h.state, `a request whose body failed to parse must never complete upstream; ${evidence}`).toBe('aborted')
      }
    } else if ('unanswered' in o) {
      expect(res.text, evidence).toBe('')
      expect(res.endedBy, evidence).toBe('timeout')
      expect(newHeads, evidence).toEqual([])
      expect(backend.rawLength() - bytesBefore, evidence).toBe(0)
    } else {
      const answered = o.thenMaybe !== undefined && statuses.length === o.statuses.length + 1 && statuses.at(-1) === o.thenMaybe ? statuses.slice(0, -1) : statuses
      expect(answered, evidence).toEqual(o.statuses)
      expect(newHeads.map((h) => ({ method: h.method, url: h.url, body: h.body })), evidence).toEqual(o.forwarded)
      expect(newHeads.every((h) => h.state === 'complete'), evidence).toBe(true)
      // Each 200 is the backend's answer to the matching request, in order.
      o.forwarded.forEach((f, i) => {
        expect(got[i]!.body, evidence).toBe(`ok:${f.method} ${f.url} ${f.body.length}`)
      })
    }

    // Row-specific details of what went upstream.
    if (row.name.startsWith('a 10 KiB header')) {
      const h = newHeads[0]!.rawHeaders
      expect(h[h.findIndex((n) => n.toLowerCase() === 'x-big') + 1]).toBe('b'.repeat(10 * 1024))
    }
    if (row.name === 'two Host headers') {
      const names = newHeads[0]!.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase())
      expect(names.filter((n) => n === 'host')).toEqual(['host'])
      expect(newHeads[0]!.rawHeaders[newHeads[0]!.rawHeaders.findIndex((n) => n.toLowerCase() === 'host') + 1]).toBe('first.test')
    }
  })

  it('the daemon is still alive and forwarding after every row', async () => {
    const res = await exchange(daemon.port(), `GET /after HTTP/1.1\r\n${H}${CLOSE}\r\n`, { responses: 1 })
    expect(parseResponses(res.text).responses[0]?.body).toBe('ok:GET /after 0')
    expect(daemon.proc.exitCode).toBe(null)
  })
})
