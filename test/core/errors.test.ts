import { errors } from 'undici'
import { describe, expect, it } from 'vitest'
import { classifyError, isIdempotent, mayRetry, type ErrorClass } from '../../src/core/errors.js'

// The typings omit HTTPParserError's (message, code) constructor; llhttp errors are built so.
const ParserError = errors.HTTPParserError as unknown as new (message: string, code: string) => Error
const coded = (code: string, extra: Record<string, unknown> = {}) => Object.assign(new Error('x'), { code, ...extra })

type Expect = Pick<ErrorClass, 'reason' | 'status' | 'connected' | 'passive'>
const refused: Expect = { reason: 'connect_refused', status: 502, connected: false, passive: true }
const connectTimeout: Expect = { reason: 'connect_timeout', status: 504, connected: false, passive: true }
const responseTimeout: Expect = { reason: 'response_timeout', status: 504, connected: true, passive: true }
const reset: Expect = { reason: 'reset', status: 502, connected: true, passive: true }
const other: Expect = { reason: 'other', status: 502, connected: true, passive: false }
const tls: Expect = { reason: 'tls', status: 502, connected: false, passive: true }

describe('classifyError', () => {
  it.each<[string, unknown, Expect]>([
    ['ECONNREFUSED', coded('ECONNREFUSED', { syscall: 'connect', errno: -111 }), refused],
    ['ENOENT: a Unix socket that is not there', coded('ENOENT', { syscall: 'connect', address: '/run/app.sock' }), refused],
    ['EACCES: a Unix socket this process may not open', coded('EACCES', { syscall: 'connect' }), refused],
    ['ENOTFOUND', coded('ENOTFOUND', { syscall: 'getaddrinfo' }), refused],
    ['EAI_AGAIN', coded('EAI_AGAIN'), refused],
    ['EHOSTUNREACH', coded('EHOSTUNREACH'), refused],
    ['ENETUNREACH', coded('ENETUNREACH'), refused],
    ['EADDRNOTAVAIL', coded('EADDRNOTAVAIL'), refused],
    ['happy-eyeballs AggregateError', Object.assign(new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')]), { code: 'ECONNREFUSED' }), refused],
    ['undici ConnectTimeoutError', new errors.ConnectTimeoutError(), connectTimeout],
    ['ETIMEDOUT on connect', coded('ETIMEDOUT', { syscall: 'connect' }), connectTimeout],
    ['ETIMEDOUT without syscall', coded('ETIMEDOUT'), connectTimeout],
    ['ETIMEDOUT on read (established)', coded('ETIMEDOUT', { syscall: 'read' }), reset],
    ['undici HeadersTimeoutError', new errors.HeadersTimeoutError(), responseTimeout],
    ['undici BodyTimeoutError', new errors.BodyTimeoutError(), responseTimeout],
    ['undici SocketError', new errors.SocketError('other side closed'), reset],
    ['ECONNRESET', coded('ECONNRESET', { syscall: 'read' }), reset],
    ['EPIPE', coded('EPIPE', { syscall: 'write' }), reset],
    ['undici HTTPParserError', new ParserError('Invalid status code', 'INVALID_STATUS'), other],
    ['HPE_ code', coded('HPE_INVALID_CONSTANT'), other],
    ['undici ResponseContentLengthMismatchError', new errors.ResponseContentLengthMismatchError(), other],
    ['UND_ERR_RES_EXCEEDED_MAX_SIZE', coded('UND_ERR_RES_EXCEEDED_MAX_SIZE'), other],
    ['undici RequestAbortedError', new errors.RequestAbortedError(), other],
    ['undici ClientDestroyedError', new errors.ClientDestroyedError(), other],
    ['unknown code', coded('EWHATEVER'), other],
    ['TLS: unknown CA', coded('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), tls],
    ['TLS: self-signed', coded('DEPTH_ZERO_SELF_SIGNED_CERT'), tls],
    ['TLS: self-signed in chain', coded('SELF_SIGNED_CERT_IN_CHAIN'), tls],
    ['TLS: expired', coded('CERT_HAS_EXPIRED'), tls],
    ['TLS: wrong name (Node)', coded('ERR_TLS_CERT_ALTNAME_INVALID'), tls],
    ['TLS: client certificate required (OpenSSL alert)', coded('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'), tls],
    ['TLS: plain HTTP server', coded('ERR_SSL_WRONG_VERSION_NUMBER'), tls],
    ['TLS: wrapped in a cause', Object.assign(new Error('x'), { cause: coded('CERT_HAS_EXPIRED') }), tls],
    ['no code', new Error('ECONNREFUSED in the message only'), other],
    ['wrapped: cause carries the code', new Error('fetch failed', { cause: coded('ECONNREFUSED') }), refused],
    ['wrapped: cause is an undici error', new TypeError('x', { cause: new errors.HeadersTimeoutError() }), responseTimeout],
    ['own code wins over cause', Object.assign(new Error('x', { cause: coded('ECONNREFUSED') }), { code: 'UND_ERR_SOCKET' }), reset],
    ['non-string code', Object.assign(new Error('x'), { code: 111 }), other],
    ['undefined', undefined, other],
    ['null', null, other],
    ['a string', 'ECONNREFUSED', other],
  ])('%s', (_name, err, expected) => {
    expect(classifyError(err)).toEqual(expected)
  })

  it('undici error codes are what the table assumes', () => {
    expect(new errors.ConnectTimeoutError().code).toBe('UND_ERR_CONNECT_TIMEOUT')
    expect(new errors.HeadersTimeoutError().code).toBe('UND_ERR_HEADERS_TIMEOUT')
    expect(new errors.BodyTimeoutError().code).toBe('UND_ERR_BODY_TIMEOUT')
    expect(new errors.SocketError('x').code).toBe('UND_ERR_SOCKET')
    expect(new errors.ResponseContentLengthMismatchError().code).toBe('UND_ERR_RES_CONTENT_LENGTH_MISMATCH')
  })

  it('returns shared frozen objects', () => {
    const a = classifyError(coded('ECONNRESET'))
    expect(classifyError(coded('EPIPE'))).toBe(a)
    expect(Object.isFrozen(a)).toBe(true)
  })
})

describe('isIdempotent', () => {
  it.each([
    ['GET', true], ['HEAD', true], ['OPTIONS', true], ['PUT', true], ['DELETE', true], ['TRACE', true],
    ['POST', false], ['PATCH', false], ['CONNECT', false], ['PURGE', false], ['get', false], ['', false],
  ])('%s -> %s', (method, expected) => {
    expect(isIdempotent(method)).toBe(expected)
  })
})

describe('mayRetry', () => {
  const c = (e: unknown) => classifyError(e)
  it.each<[string, unknown, string, boolean, boolean]>([
    ['refused POST with body: never reached the server', coded('ECONNREFUSED'), 'POST', true, true],
    ['connect timeout PATCH with body', new errors.ConnectTimeoutError(), 'PATCH', true, true],
    ['reset GET', coded('ECONNRESET'), 'GET', false, true],
    ['reset GET with body', coded('ECONNRESET'), 'GET', true, false],
    ['reset PUT with body', new errors.SocketError('closed'), 'PUT', true, false],
    ['reset DELETE', new errors.SocketError('closed'), 'DELETE', false, true],
    ['reset POST without body', coded('ECONNRESET'), 'POST', false, false],
    ['headers timeout GET', new errors.HeadersTimeoutError(), 'GET', false, true],
    ['headers timeout POST', new errors.HeadersTimeoutError(), 'POST', true, false],
    ['parse error HEAD', coded('HPE_INVALID_CONSTANT'), 'HEAD', false, true],
    ['unknown error POST', new Error('?'), 'POST', false, false],
    ['unknown error OPTIONS', new Error('?'), 'OPTIONS', false, true],
  ])('%s', (_name, err, method, hasBody, expected) => {
    expect(mayRetry(c(err), method, hasBody)).toBe(expected)
  })
})
