// Table tests of compression's pure decisions (src/core/policies/compression.ts): Accept-Encoding
// negotiation with q-values and its bounds, which responses are eligible, and the head edits.
import { describe, expect, it } from 'vitest'
import {
  ACCEPT_ENCODING_MAX_BYTES, addVary, compileCompression, compressedHead, compressible, DEFAULT_TYPES, mediaTypeProblem, negotiate, typeMatches, weakETag,
  type Encoding, type ResponseFields,
} from '../../../src/core/policies/compression.js'

const ALL: Encoding[] = ['zstd', 'br', 'gzip']

describe('negotiate: Accept-Encoding against the route algorithms', () => {
  // [Accept-Encoding, algorithms, expected]
  const rows: [string | undefined, Encoding[], Encoding | null][] = [
    [undefined, ALL, null],
    ['', ALL, null],
    ['identity', ALL, null],
    ['gzip', ALL, 'gzip'],
    ['GZip', ALL, 'gzip'],
    ['x-gzip', ALL, 'gzip'],
    ['gzip, deflate, br', ALL, 'br'], // a tie: the route's order (zstd > br > gzip)
    ['gzip, deflate, br, zstd', ALL, 'zstd'], // Chrome's
    ['gzip, deflate, br, zstd', ['gzip', 'br'], 'gzip'], // the route's order decides ties
    ['br;q=0.5, gzip', ALL, 'gzip'],
    ['br;q=1.0, gzip;q=0.9', ALL, 'br'],
    ['zstd;q=0, br;q=0, gzip;q=0', ALL, null],
    ['gzip;q=0', ['gzip'], null],
    ['*', ALL, 'zstd'],
    ['*;q=0.1, gzip;q=0.5', ALL, 'gzip'],
    ['*;q=0', ALL, null],
    ['br;q=0, *', ALL, 'zstd'],
    ['identity;q=0', ALL, null], // nothing acceptable: identity anyway (no 406)
    ['deflate, compress', ALL, null],
    [' gzip ; q=0.8 ,br;q=0.7', ALL, 'gzip'],
    ['gzip;Q=0.2, br;q=0.1', ALL, 'gzip'],
    ['br;q=abc, gzip', ALL, 'gzip'], // a malformed q ignores its entry
    ['br;q=1.5, gzip;q=0.1', ALL, 'gzip'],
    ['br;q=0.1234, gzip;q=0.1', ALL, 'gzip'], // four decimals: malformed
    ['br;level=5, gzip;q=0.5', ALL, 'br'], // another parameter: q stays 1
    ['br;q=0.001', ALL, 'br'],
    [',,,gzip', ALL, 'gzip'],
  ]
  it.each(rows)('%j with %j -> %s', (header, algorithms, want) => {
    expect(negotiate(header, algorithms)).toBe(want)
  })

  it('reads a bounded prefix: entries past the 16th and bytes past the limit are ignored', () => {
    const many = `${Array.from({ length: 999 }, (_, i) => `x-${i}`).join(', ')}, gzip`
    expect(negotiate(many, ALL)).toBe(null)
    expect(negotiate(`${'x'.repeat(64 * 1024)}, gzip`, ALL)).toBe(null)
    expect(negotiate(`gzip, ${'a;q=0.5, '.repeat(8000)}`, ALL)).toBe('gzip')
    const atEdge = `${' '.repeat(ACCEPT_ENCODING_MAX_BYTES - 4)}gzip`
    expect(negotiate(atEdge, ALL)).toBe('gzip')
    expect(negotiate(` ${atEdge}`, ALL)).toBe(null)
  })
})

describe('which responses are compressed', () => {
  const rules = compileCompression({ algorithms: ALL, minSize: 1024, types: ['text/*', 'application/json', 'image/svg+xml', 'application/*'] })
  const base: ResponseFields = { 'content-type': 'application/json', 'content-length': '5000' }
  // [why, status, fields, expected]
  const rows: [string, number, ResponseFields, boolean][] = [
    ['json of 5000 bytes', 200, base, true],
    ['a type with parameters', 200, { ...base, 'content-type': 'Text/HTML; charset=utf-8' }, true],
    ['text/* covers text/csv', 200, { ...base, 'content-type': 'text/csv' }, true],
    ['text/* is not text/', 200, { ...base, 'content-type': 'text/' }, false],
    ['not listed', 200, { ...base, 'content-type': 'image/png' }, false],
    ['application/* covers application/xml', 200, { ...base, 'content-type': 'application/xml' }, true],
    ['no type', 200, { 'content-length': '5000' }, false],
    ['event streams never', 200, { ...base, 'content-type': 'text/event-stream' }, false],
    ['gRPC never, even under application/*', 200, { ...base, 'content-type': 'application/grpc+proto' }, false],
    ['under min_size', 200, { ...base, 'content-length': '1023' }, false],
    ['exactly min_size', 200, { ...base, 'content-length': '1024' }, true],
    ['unknown length (chunked)', 200, { 'content-type': 'application/json' }, true],
    ['empty', 200, { ...base, 'content-length': '0' }, false],
    ['already gzip', 200, { ...base, 'content-encoding': 'gzip' }, false],
    ['already br (list)', 200, { ...base, 'content-encoding': ['br'] }, false],
    ['identity is no encoding', 200, { ...base, 'content-encoding': 'identity' }, true],
    ['no-transform', 200, { ...base, 'cache-control': 'public, no-transform' }, false],
    ['No-Transform, max-age', 200, { ...base, 'cache-control': 'No-Transform, max-age=60' }, false],
    ['no-transformer is another directive', 200, { ...base, 'cache-control': 'no-transformer' }, true],
    ['206', 206, { ...base, 'content-range': 'bytes 0-4999/10000' }, false],
    ['Content-Range on a 200', 200, { ...base, 'content-range': 'bytes 0-4999/10000' }, false],
    ['204', 204, base, false],
    ['304', 304, base, false],
    ['404 page', 404, base, true],
    ['500 page', 500, base, true],
  ]
  it.each(rows)('%s', (_why, status, fields, want) => {
    expect(compressible(rules, status, fields)).toBe(want)
  })

  it('the default types and the media type check', () => {
    const d = compileCompression({ algorithms: ALL, minSize: 0, types: DEFAULT_TYPES })
    expect(['text/html', 'application/json', 'image/svg+xml', 'application/javascript'].every((t) => typeMatches(d, t))).toBe(true)
    expect(['image/png', 'application/octet-stream', 'video/mp4', 'application/grpc', 'text/event-stream'].some((t) => typeMatches(d, t))).toBe(false)
    expect(typeMatches(compileCompression({ algorithms: ALL, minSize: 0, types: ['TEXT/*'] }), 'text/plain')).toBe(true)
    expect([mediaTypeProblem('application/json'), mediaTypeProblem('text/*'), mediaTypeProblem('application/vnd.api+json')]).toEqual([undefined, undefined, undefined])
    expect(mediaTypeProblem('json')).toMatch(/media type/)
    expect(mediaTypeProblem('*/*')).toMatch(/media type/)
    expect(mediaTypeProblem('text/html; charset=utf-8')).toMatch(/media type/)
  })
})

describe('head edits', () => {
  // [head before, encoding, head after]
  const rows: [string[], Encoding, string[]][] = [
    [['Content-Type', 'application/json', 'Content-Length', '5000', 'ETag', '"abc"', 'X-Request-Id', 'r'], 'gzip',
      ['Content-Type', 'application/json', 'ETag', 'W/"abc"', 'X-Request-Id', 'r', 'Content-Encoding', 'gzip', 'Vary', 'Accept-Encoding']],
    [['etag', 'W/"abc"', 'Accept-Ranges', 'bytes', 'Vary', 'Origin'], 'br',
      ['etag', 'W/"abc"', 'Vary', 'Origin, Accept-Encoding', 'Content-Encoding', 'br']],
    [['Vary', 'Origin', 'vary', 'accept-encoding'], 'zstd', ['Vary', 'Origin', 'vary', 'accept-encoding', 'Content-Encoding', 'zstd']],
    [['Vary', '*', 'Content-Encoding', 'identity'], 'gzip', ['Vary', '*', 'Content-Encoding', 'gzip']],
  ]
  it.each(rows)('%j as %s', (before, encoding, after) => {
    const head = [...before]
    compressedHead(head, encoding)
    expect(head).toEqual(after)
  })

  it.each([
    [[], ['Vary', 'Accept-Encoding']],
    [['Vary', 'Origin'], ['Vary', 'Origin, Accept-Encoding']],
    [['Vary', 'Origin, Accept-Encoding'], ['Vary', 'Origin, Accept-Encoding']],
    [['Vary', ''], ['Vary', 'Accept-Encoding']],
  ])('Vary %j -> %j', (before, after) => {
    const head = [...before]
    addVary(head)
    expect(head).toEqual(after)
  })

  it('weak ETags', () => {
    expect([weakETag('"x"'), weakETag('W/"x"'), weakETag('""')]).toEqual(['W/"x"', 'W/"x"', 'W/""'])
  })
})
