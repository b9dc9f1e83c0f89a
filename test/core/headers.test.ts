import { describe, expect, it } from 'vitest'
import { clientResponseHeaders, isSaneRequestId, upstreamRequestHeaders } from '../../src/core/headers.js'

const NEW_ID = 'generated-id'
const up = (raw: string[], addr = '10.0.0.9', proto = 'http') => upstreamRequestHeaders(raw, addr, proto, () => NEW_ID)

/** The flat list as [name, value] pairs, easier to read in expectations. */
const pairs = (flat: readonly string[]): [string, string][] => {
  const out: [string, string][] = []
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i] as string, flat[i + 1] as string])
  return out
}
const values = (flat: readonly string[], name: string): string[] =>
  pairs(flat).filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v)

describe('upstreamRequestHeaders', () => {
  it('keeps ordinary headers byte for byte, in order, original case; appends X-Forwarded-* and X-Request-Id', () => {
    const h = up(['Host', 'Example.com:8080', 'User-Agent', 'curl/8', 'accept', '*/*', 'X-Custom', ' a , b ', 'cookie', 'a=1', 'Cookie', 'b=2'])
    expect(pairs(h.headers)).toEqual([
      ['Host', 'Example.com:8080'],
      ['User-Agent', 'curl/8'],
      ['accept', '*/*'],
      ['X-Custom', ' a , b '],
      ['cookie', 'a=1'],
      ['Cookie', 'b=2'],
      ['X-Forwarded-For', '10.0.0.9'],
      ['X-Real-IP', '10.0.0.9'],
      ['X-Forwarded-Proto', 'http'],
      ['X-Forwarded-Host', 'Example.com:8080'],
      ['X-Request-Id', NEW_ID],
    ])
    expect(h.host).toBe('Example.com:8080')
    expect(h.requestId).toBe(NEW_ID)
    expect(h.hasBody).toBe(false)
  })

  it.each([
    'Connection', 'connection', 'CONNECTION',
    'Keep-Alive', 'keep-alive', 'KEEP-ALIVE', 'kEEp-aLIve',
    'Proxy-Connection', 'proxy-connection',
    'TE', 'te', 'Te',
    'Trailer', 'trailer',
    'Transfer-Encoding', 'transfer-encoding', 'TRANSFER-encoding',
    'Upgrade', 'upgrade',
    'Proxy-Authorization', 'proxy-authorization',
    'Proxy-Authenticate', 'proxy-authenticate',
    'Expect', 'expect', 'EXPECT',
    'X-Forwarded-Proto', 'x-forwarded-proto', 'X-FORWARDED-PROTO',
    'X-Forwarded-Host', 'x-forwarded-host',
    'X-Real-IP', 'x-real-ip', 'X-Real-Ip',
  ])('drops %s', (name) => {
    const h = up(['Host', 'a', name, 'keep-alive', 'X-Keep', '1'])
    expect(h.headers.slice(0, 4)).toEqual(['Host', 'a', 'X-Keep', '1'])
    expect(h.headers.filter((_, i) => i % 2 === 0 && h.headers[i]?.toLowerCase() === name.toLowerCase() && !name.toLowerCase().startsWith('x-forwarded') && name.toLowerCase() !== 'x-real-ip')).toEqual([])
  })

  it.each([['TE', 'trailers', true], ['te', 'deflate, Trailers', true], ['TE', 'gzip', false]] as const)('%s: %s -> teTrailers %s, the header removed', (name, value, want) => {
    const h = up([name, value, 'Host', 'h'])
    expect(h.teTrailers).toBe(want)
    expect(values(h.headers, 'te')).toEqual([])
  })

  it('sets X-Real-IP to the client address: a client-sent one never reaches the server', () => {
    const h = up(['X-Real-IP', '203.0.113.9', 'x-real-ip', '203.0.113.10', 'Host', 'h'], '192.0.2.1')
    expect(values(h.headers, 'x-real-ip')).toEqual(['192.0.2.1'])
  })

  it.each<[string, string[], boolean, string[]]>([
    ['untrusted peer: ours, whatever the client sent', ['X-Forwarded-Proto', 'https'], false, ['http']],
    ['trusted peer: its first value is kept', ['X-Forwarded-Proto', 'https', 'X-Forwarded-Proto', 'http'], true, ['https']],
    ['trusted peer that sent none: ours', [], true, ['http']],
    ['trusted peer, empty value: ours', ['X-Forwarded-Proto', ''], true, ['http']],
    ['trusted peer, Connection names it: ours', ['X-Forwarded-Proto', 'https', 'Connection', 'x-forwarded-proto'], true, ['http']],
  ])('X-Forwarded-Proto, %s', (_name, raw, trusted, want) => {
    expect(values(upstreamRequestHeaders(raw, '10.0.0.9', 'http', () => NEW_ID, trusted).headers, 'x-forwarded-proto')).toEqual(want)
  })

  it('replaces client X-Forwarded-Proto and X-Forwarded-Host', () => {
    const h = up(['X-Forwarded-Proto', 'https', 'Host', 'h.com', 'x-forwarded-host', 'evil.com'], '1.2.3.4', 'http')
    expect(values(h.headers, 'x-forwarded-proto')).toEqual(['http'])
    expect(values(h.headers, 'x-forwarded-host')).toEqual(['h.com'])
  })

  it('omits X-Forwarded-Host without Host', () => {
    const h = up(['X-Forwarded-Host', 'evil.com', 'Accept', '*/*'], '1.2.3.4', 'https')
    expect(values(h.headers, 'x-forwarded-host')).toEqual([])
    expect(values(h.headers, 'x-forwarded-proto')).toEqual(['https'])
    expect(h.host).toBeUndefined()
  })

  it.each<[string[], string, string]>([
    [[], '10.0.0.9', 'no client value'],
    [['X-Forwarded-For', '1.1.1.1'], '1.1.1.1, 10.0.0.9', 'one value'],
    [['X-Forwarded-For', '1.1.1.1, 2.2.2.2'], '1.1.1.1, 2.2.2.2, 10.0.0.9', 'one list'],
    [['x-forwarded-for', '1.1.1.1', 'Accept', '*/*', 'X-FORWARDED-FOR', '2.2.2.2'], '1.1.1.1, 2.2.2.2, 10.0.0.9', 'two headers, any case'],
    [['X-Forwarded-For', ''], '10.0.0.9', 'empty value'],
  ])('X-Forwarded-For %j -> %s (%s)', (raw, expected) => {
    const h = up(raw)
    expect(values(h.headers, 'x-forwarded-for')).toEqual([expected])
  })

  it('IPv6 client address goes in as is', () => {
    expect(values(up([], '::1').headers, 'x-forwarded-for')).toEqual(['::1'])
  })

  it.each([
    ['Connection', 'X-Secret', ['X-Secret']],
    ['connection', 'keep-alive, X-Secret', ['X-Secret']],
    ['Connection', 'close, x-secret , X-Other', ['X-Secret', 'x-other']],
    ['CONNECTION', 'Upgrade, X-SECRET', ['x-secret']],
  ])('Connection %s: %s drops the named headers %j, wherever they are', (cname, cvalue, droppedNames) => {
    const raw = ['X-Secret', 's', 'Host', 'h', cname, cvalue, 'x-other', 'o', 'X-Keep', 'k', 'x-secret', 's2']
    const h = up(raw)
    const names = pairs(h.headers).map(([n]) => n.toLowerCase())
    for (const d of droppedNames) expect(names).not.toContain(d.toLowerCase())
    expect(names).toContain('x-keep')
    expect(names).toContain('host')
    expect(names).not.toContain('connection')
  })

  it('Connection can not remove Host or Content-Length', () => {
    const h = up(['Host', 'h', 'Content-Length', '5', 'Connection', 'host, content-length'])
    expect(pairs(h.headers).slice(0, 2)).toEqual([['Host', 'h'], ['Content-Length', '5']])
    expect(h.hasBody).toBe(true)
  })

  it('Connection naming X-Forwarded-For or X-Request-Id drops the client copies only', () => {
    const h = up(['X-Forwarded-For', '6.6.6.6', 'X-Request-Id', 'client-id', 'Connection', 'X-Forwarded-For, X-Request-Id'])
    expect(values(h.headers, 'x-forwarded-for')).toEqual(['10.0.0.9'])
    expect(values(h.headers, 'x-request-id')).toEqual([NEW_ID])
  })

  it.each<[string, string[], string | undefined, string | undefined]>([
    ['Title-Case', ['User-Agent', 'curl/8', 'Referer', 'https://a/'], 'curl/8', 'https://a/'],
    ['lower case (h2)', ['user-agent', 'grpc-go/1', 'referer', '/r'], 'grpc-go/1', '/r'],
    ['odd case', ['uSER-aGENT', 'x', 'REFERER', 'y'], 'x', 'y'],
    ['absent', ['Accept', '*/*'], undefined, undefined],
    ['the first of two', ['User-Agent', 'one', 'User-Agent', 'two', 'Referer', 'r1', 'referer', 'r2'], 'one', 'r1'],
    ['empty', ['User-Agent', '', 'Referer', ''], '', ''],
    ['as sent, hostile bytes too', ['User-Agent', 'a"b\\c\u00ff'], 'a"b\\c\u00ff', undefined],
  ])('reads User-Agent and Referer for the access log, %s; forwards every copy unchanged', (_name, raw, userAgent, referer) => {
    const h = up(raw)
    expect(h.userAgent).toBe(userAgent)
    expect(h.referer).toBe(referer)
    expect(h.authUser).toBe('')
    expect(h.headers.slice(0, raw.length)).toEqual(raw)
  })

  it('keeps a sane client X-Request-Id, exactly one goes upstream', () => {
    const h = up(['X-Request-ID', 'abc-123', 'x-request-id', 'second'])
    expect(h.requestId).toBe('abc-123')
    expect(values(h.headers, 'x-request-id')).toEqual(['abc-123'])
  })

  it.each([
    ['', 'empty'],
    ['a'.repeat(129), 'too long'],
    ['has space', 'space'],
    ['line\nbreak', 'newline'],
    ['tab\there', 'tab'],
    ['quote"d', 'quote'],
    ['semi;colon', 'semicolon'],
    ['comma,list', 'comma'],
    ['caf\u00e9', 'non-ASCII'],
  ])('replaces an insane X-Request-Id %j (%s)', (id) => {
    const h = up(['X-Request-Id', id])
    expect(h.requestId).toBe(NEW_ID)
    expect(values(h.headers, 'x-request-id')).toEqual([NEW_ID])
  })

  it('calls newRequestId only when needed', () => {
    let calls = 0
    const gen = () => `id-${++calls}`
    expect(upstreamRequestHeaders(['X-Request-Id', 'ok'], 'a', 'http', gen).requestId).toBe('ok')
    expect(calls).toBe(0)
    expect(upstreamRequestHeaders([], 'a', 'http', gen).requestId).toBe('id-1')
  })

  it.each<[string[], boolean, boolean]>([
    [[], false, false],
    [['Content-Length', '0'], false, false],
    [['content-length', '12'], true, false],
    [['Transfer-Encoding', 'chunked'], true, true],
    [['transfer-encoding', 'gzip, chunked'], true, true],
    [['TRANSFER-ENCODING', ''], true, true],
  ])('hasBody %j -> %s, transferEncoding %s', (raw, expected, te) => {
    const h = up(raw)
    expect(h.hasBody).toBe(expected)
    expect(h.transferEncoding).toBe(te)
    expect(values(h.headers, 'transfer-encoding')).toEqual([])
  })

  it('keeps only the first Host', () => {
    const h = up(['Host', 'first.com', 'Host', 'second.com'])
    expect(values(h.headers, 'host')).toEqual(['first.com'])
    expect(h.host).toBe('first.com')
  })

  it('h2: :authority becomes Host, the other pseudo-headers are dropped', () => {
    const h = up([':method', 'GET', ':authority', 'h2.example.com', ':scheme', 'https', ':path', '/x', 'accept', '*/*'])
    expect(pairs(h.headers).slice(0, 2)).toEqual([['Host', 'h2.example.com'], ['accept', '*/*']])
    expect(h.host).toBe('h2.example.com')
    expect(pairs(h.headers).map(([n]) => n).filter((n) => n.startsWith(':'))).toEqual([])
  })

  it('h2: :authority wins over a later host header', () => {
    const h = up([':authority', 'a.example.com', 'host', 'b.example.com'])
    expect(values(h.headers, 'host')).toEqual(['a.example.com'])
    expect(h.host).toBe('a.example.com')
  })

  it('leaves no header undici refuses (keep-alive, upgrade, transfer-encoding, expect, connection)', () => {
    const h = up(['Connection', 'Upgrade', 'Upgrade', 'websocket', 'Sec-WebSocket-Key', 'k', 'Sec-WebSocket-Version', '13',
      'Expect', '100-continue', 'Keep-Alive', 'timeout=5', 'Transfer-Encoding', 'chunked'])
    const names = pairs(h.headers).map(([n]) => n.toLowerCase())
    for (const refused of ['connection', 'upgrade', 'expect', 'keep-alive', 'transfer-encoding']) expect(names).not.toContain(refused)
    expect(names).toContain('sec-websocket-key')
  })
})

describe('clientResponseHeaders', () => {
  it('an HTTP/2 response: undici gives an object (lower-case names, arrays for repeats); it is flattened and filtered the same', () => {
    const out = clientResponseHeaders({ 'content-type': 'application/grpc', 'grpc-status': '5', 'set-cookie': ['a=1', 'b=2'], connection: 'close', 'x-request-id': 'theirs', skipped: undefined }, 'rid')
    expect(out).toEqual(['content-type', 'application/grpc', 'grpc-status', '5', 'set-cookie', 'a=1', 'set-cookie', 'b=2', 'X-Request-Id', 'rid'])
  })

  const b = (...s: string[]) => s.map((x) => Buffer.from(x, 'latin1'))

  it('decodes Buffers as latin1, keeps order and case, appends X-Request-Id', () => {
    const out = clientResponseHeaders(b('Content-Type', 'text/plain', 'X-Name', 'caf\u00e9', 'Set-Cookie', 'a=1', 'set-cookie', 'b=2'), 'rid')
    expect(pairs(out)).toEqual([
      ['Content-Type', 'text/plain'],
      ['X-Name', 'caf\u00e9'],
      ['Set-Cookie', 'a=1'],
      ['set-cookie', 'b=2'],
      ['X-Request-Id', 'rid'],
    ])
  })

  it('every byte survives the latin1 round trip', () => {
    const bytes = Buffer.from([0x61, 0x80, 0xe9, 0xff])
    const out = clientResponseHeaders([Buffer.from('X-Bin'), bytes], 'rid')
    expect(Buffer.from(out[1] as string, 'latin1').equals(bytes)).toBe(true)
  })

  it('accepts strings', () => {
    expect(clientResponseHeaders(['Content-Length', '3'], 'r')).toEqual(['Content-Length', '3', 'X-Request-Id', 'r'])
  })

  it('drops hop-by-hop headers in any case, and a server X-Request-Id', () => {
    const out = clientResponseHeaders(b(
      'Connection', 'keep-alive', 'KEEP-ALIVE', 'timeout=5', 'Transfer-Encoding', 'chunked', 'Trailer', 'X-Sum',
      'Upgrade', 'h2c', 'Proxy-Connection', 'close', 'te', 'trailers', 'Proxy-Authenticate', 'Basic',
      'X-Request-Id', 'server-id', 'x-request-id', 'other', 'Content-Length', '10', 'ETag', '"x"',
    ), 'rid')
    expect(pairs(out)).toEqual([['Content-Length', '10'], ['ETag', '"x"'], ['X-Request-Id', 'rid']])
  })

  it('drops the headers the response Connection names, not Content-Length', () => {
    const out = clientResponseHeaders(b('X-Internal', '1', 'Content-Length', '2', 'Connection', 'close, X-Internal, content-length', 'x-internal', '2', 'Vary', 'Accept'), 'rid')
    expect(pairs(out)).toEqual([['Content-Length', '2'], ['Vary', 'Accept'], ['X-Request-Id', 'rid']])
  })
})

describe('isSaneRequestId', () => {
  it.each([
    ['0f8fad5b-d9cb-469f-a165-70867728950e', true],
    ['01ARZ3NDEKTSV4RRFFQ69G5FAV', true],
    ['Root=1-5759e988-bd862e3fe1be46a994272793', true],
    ['a+b/c=', true],
    ['svc@host:1234~x_y.z', true],
    ['a', true],
    ['a'.repeat(128), true],
    ['a'.repeat(129), false],
    ['', false],
    [' lead', false],
    ['x\r\ny', false],
    ['a\u0000', false],
    ['<script>', false],
    ['a\\b', false],
    ['\u00e9', false],
  ])('%j -> %s', (id, sane) => {
    expect(isSaneRequestId(id)).toBe(sane)
  })
})
