// Framing checks made before forwarding (core/framing.ts): which versions and
// Transfer-Encoding combinations may pass, the declared length, origin-form targets.
import { describe, expect, it } from 'vitest'
import { declaredLength, framingIsSafe, isOriginForm } from '../../src/core/framing.js'

describe('framingIsSafe', () => {
  it.each([
    ['HTTP/1.1', 1, 1, false, true],
    ['HTTP/1.1 chunked', 1, 1, true, true],
    ['HTTP/1.0', 1, 0, false, true],
    ['HTTP/1.0 with Transfer-Encoding (RFC 9112 6.1: faulty)', 1, 0, true, false],
    ['HTTP/0.9 (no version: headers would be read differently)', 0, 9, false, false],
    ['HTTP/2 (its own framing)', 2, 0, false, true],
    ['HTTP/2 with Transfer-Encoding (nghttp2 refuses it first)', 2, 0, true, false],
    ['HTTP/2.1', 2, 1, false, false],
    ['HTTP/1.2', 1, 2, false, false],
  ] as const)('%s', (_name, major, minor, te, safe) => {
    expect(framingIsSafe(major, minor, te, major === 2)).toBe(safe)
  })
  it('"HTTP/2.0" in an HTTP/1 request line (no h2 stream) is not HTTP/2: refused', () => {
    expect(framingIsSafe(2, 0, false, false)).toBe(false)
  })
})

describe('declaredLength', () => {
  it.each([
    [undefined, -1],
    ['0', 0],
    ['10', 10],
    ['1048576', 1048576],
    ['9007199254740991', 9007199254740991],
  ] as const)('%s -> %d', (value, length) => {
    expect(declaredLength(value)).toBe(length)
  })
})

describe('isOriginForm', () => {
  it.each([
    ['/', true],
    ['/api?x=1', true],
    ['//double', true],
    ['*', false],
    ['http://example.com/', false],
    ['', false],
    ['api', false],
  ])('%j -> %s', (target, ok) => {
    expect(isOriginForm(target)).toBe(ok)
  })
})
