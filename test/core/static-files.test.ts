import { describe, expect, it } from 'vitest'
import { acceptedEncodings, directoryLocation, fileEtag, notModified, staticMethodAllowed, staticTarget } from '../../src/core/static-files.js'

type TargetRow = readonly [url: string, prefix: string, expected: { segments: string[]; directory: boolean } | { status: 400 | 404 }, why: string]

const ok = (segments: string[], directory = false): { segments: string[]; directory: boolean } => ({ segments, directory })
const BAD = { status: 400 } as const
const HIDDEN = { status: 404 } as const

const TARGETS: TargetRow[] = [
  ['/static/a.txt', '/static', ok(['a.txt']), 'the prefix is cut (nginx alias)'],
  ['/static/css/a.css?v=3', '/static', ok(['css', 'a.css']), 'the query is ignored'],
  ['/static', '/static', ok([]), 'the prefix alone: the root, not yet a directory path'],
  ['/static?x=1', '/static', ok([]), 'the prefix alone with a query'],
  ['/static/', '/static', ok([], true), 'the root as a directory'],
  ['/static/docs/', '/static', ok(['docs'], true), 'a directory path'],
  ['/', '/', ok([], true), 'prefix "/": the root'],
  ['/a/b.txt', '/', ok(['a', 'b.txt']), 'prefix "/": nothing cut'],
  ['/static//a.txt', '/static', ok(['a.txt']), 'empty segments are merged'],
  ['/static/a%20b.txt', '/static', ok(['a b.txt']), 'percent-decoding'],
  ['/static/%E2%82%AC.txt', '/static', ok(['€.txt']), 'UTF-8 percent-decoding'],
  ['/static/a%25b', '/static', ok(['a%b']), 'decoded once only'],
  ['/static/a+b', '/static', ok(['a+b']), '"+" is not a space in a path'],
  ['/static/..', '/static', BAD, '".."'],
  ['/static/../secret', '/static', BAD, '".." inside'],
  ['/static/a/../../secret', '/static', BAD, '".." deeper'],
  ['/static/.', '/static', BAD, '"."'],
  ['/static/%2e%2e/secret', '/static', BAD, 'encoded ".."'],
  ['/static/%2E%2E/secret', '/static', BAD, 'encoded ".." in capitals'],
  ['/static/.%2e/secret', '/static', BAD, 'half-encoded ".."'],
  ['/static/..%2fsecret', '/static', BAD, 'encoded "/"'],
  ['/static/%2e%2e%2fsecret', '/static', BAD, 'fully encoded "../"'],
  ['/static/a%2Fb', '/static', BAD, 'encoded "/" in a name'],
  ['/static/..\\secret', '/static', BAD, 'a backslash'],
  ['/static/%5c..%5csecret', '/static', BAD, 'encoded backslashes'],
  ['/static/a%00.txt', '/static', BAD, 'encoded NUL'],
  ['/static/a%0a.txt', '/static', BAD, 'encoded newline'],
  ['/static/a%7f', '/static', BAD, 'encoded DEL'],
  ['/static/%zz', '/static', BAD, 'malformed percent-encoding'],
  ['/static/%', '/static', BAD, 'a lone "%"'],
  ['/static/%ff', '/static', BAD, 'invalid UTF-8'],
  ['/static/%c0%ae%c0%ae/secret', '/static', BAD, 'overlong UTF-8 ".." (invalid UTF-8)'],
  ['/static/.env', '/static', HIDDEN, 'a dotfile'],
  ['/static/.git/config', '/static', HIDDEN, 'a dot directory'],
  ['/static/%2egit/config', '/static', HIDDEN, 'an encoded dot directory'],
  ['/static/a/.hidden/', '/static', HIDDEN, 'a dot directory deeper'],
  ['/static/a.b.c', '/static', ok(['a.b.c']), 'dots inside a name are fine'],
  ['/static/...', '/static', HIDDEN, '"..." is a dotfile, not a parent'],
  ['/static/.well-known/acme-challenge/tok', '/static', ok(['.well-known', 'acme-challenge', 'tok']), '/.well-known/ at the top of the root is served (RFC 8615)'],
  ['/static/%2ewell-known/security.txt', '/static', ok(['.well-known', 'security.txt']), 'also encoded'],
  ['/static/a/.well-known/x', '/static', HIDDEN, 'a .well-known deeper is a dot directory like any'],
  ['/static/.well-known/.secret', '/static', HIDDEN, 'dotfiles inside /.well-known/ are still refused'],
  ['/static/.well-known.bak', '/static', HIDDEN, 'a name that only starts like it'],
]

describe('staticTarget', () => {
  it.each(TARGETS)('%s (prefix %s)', (url, prefix, expected) => {
    expect(staticTarget(url, prefix)).toEqual(expected)
  })
})

describe('directoryLocation', () => {
  it.each([
    ['/static/docs', '/static/docs/'],
    ['/static/docs?x=1&y', '/static/docs/?x=1&y'],
    ['/static', '/static/'],
    ['//evil.example/docs', '/evil.example/docs/'], // never a protocol-relative URL
    ['///evil.example', '/evil.example/'],
    ['/a%20b', '/a%20b/'],
  ])('%s -> %s', (url, location) => {
    expect(directoryLocation(url)).toBe(location)
  })
})

describe('acceptedEncodings', () => {
  it.each([
    [undefined, []],
    ['', []],
    ['identity', []],
    ['gzip', ['gzip']],
    ['br', ['br']],
    ['gzip, br', ['br', 'gzip']], // equal q: br first (smaller)
    ['br;q=0.5, gzip', ['gzip', 'br']],
    ['gzip;q=0.9, br;q=1.0', ['br', 'gzip']],
    ['gzip, deflate, br, zstd', ['br', 'gzip']],
    ['GZIP', ['gzip']],
    ['x-gzip', ['gzip']],
    ['gzip;q=0', []],
    ['gzip;q=0.000, br', ['br']],
    ['br;q=0, gzip;q=0', []],
    ['*', ['br', 'gzip']],
    ['*;q=0', []],
    ['*, gzip;q=0', ['br']],
    ['br;q=0, *', ['gzip']],
    ['*;q=0.5, gzip', ['gzip', 'br']],
    ['gzip;q=2', []], // malformed q: not accepted
    ['gzip;q=abc', []],
    ['gzip;q=0.1234', []],
    ['gzip ; q=0.5', ['gzip']],
    ['gzip;level=1;q=0.5, br;q=0.4', ['gzip', 'br']],
    ['deflate, compress', []],
    [' , ,gzip', ['gzip']],
  ] as const)('%j -> %j', (header, expected) => {
    expect(acceptedEncodings(header)).toEqual(expected)
  })
})

describe('staticMethodAllowed', () => {
  it.each([['GET', true], ['HEAD', true], ['POST', false], ['PUT', false], ['DELETE', false], ['OPTIONS', false], ['get', false], ['PURGE', false]] as const)('%s: %s', (method, allowed) => {
    expect(staticMethodAllowed(method)).toBe(allowed)
  })
})

describe('fileEtag', () => {
  it('is send\'s weak tag: size and whole-ms mtime in hex', () => {
    expect(fileEtag(12, 1_700_000_000_123.9)).toBe('W/"c-18bcfe5687b"')
    expect(fileEtag(0, 0)).toBe('W/"0-0"')
  })
})

describe('notModified', () => {
  const etag = 'W/"c-18bcfe5687b"'
  const lm = 'Tue, 14 Nov 2023 22:13:20 GMT'
  const cases: [string, string | undefined, string | undefined, string | undefined, boolean][] = [
    ['no validator', undefined, undefined, undefined, false],
    ['same weak tag', etag, undefined, undefined, true],
    ['the tag without W/', '"c-18bcfe5687b"', undefined, undefined, true],
    ['one of a list', '"x", W/"c-18bcfe5687b" , "y"', undefined, undefined, true],
    ['star', '*', undefined, undefined, true],
    ['another tag', '"d-1"', undefined, undefined, false],
    ['another tag wins over a matching date', '"d-1"', lm, undefined, false],
    ['a date equal to Last-Modified', undefined, lm, undefined, true],
    ['a later date', undefined, 'Wed, 15 Nov 2023 00:00:00 GMT', undefined, true],
    ['an earlier date', undefined, 'Tue, 14 Nov 2023 22:13:19 GMT', undefined, false],
    ['a garbled date', undefined, 'yesterday', undefined, false],
    ['no-cache asks for the body', etag, undefined, 'no-cache', false],
    ['no-cache in a list', etag, undefined, 'max-age=0, no-cache', false],
    ['max-age=0 alone still validates', etag, undefined, 'max-age=0', true],
  ]
  it.each(cases)('%s', (_name, inm, ims, cc, expected) => {
    expect(notModified(inm, ims, cc, etag, lm)).toBe(expected)
  })
})
