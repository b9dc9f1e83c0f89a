// Which responses may be buffered (src/core/buffering.ts): one row per case.
import { describe, expect, it } from 'vitest'
import { responseMayBuffer } from '../../src/core/buffering.js'

type Row = [method: string, status: number, contentType: string | string[] | undefined, accel: string | string[] | undefined, expected: boolean]

const ROWS: Row[] = [
  ['GET', 200, 'application/json', undefined, true],
  ['GET', 200, undefined, undefined, true],
  ['POST', 201, 'text/html; charset=utf-8', undefined, true],
  ['GET', 404, 'text/plain', undefined, true],
  ['GET', 200, 'application/octet-stream', 'yes', true],
  ['GET', 200, 'text/event-stream', undefined, false],
  ['GET', 200, 'Text/Event-Stream; charset=utf-8', undefined, false],
  ['GET', 200, ' text/event-stream', undefined, false],
  ['GET', 200, 'text/event-streaming', undefined, true],
  ['GET', 200, ['text/event-stream'], undefined, false],
  ['GET', 200, 'text/plain', 'no', false],
  ['GET', 200, 'text/plain', 'No', false],
  ['GET', 200, 'text/plain', ' no ', false],
  ['GET', 200, 'text/plain', ['no', 'yes'], false],
  ['HEAD', 200, 'text/plain', undefined, false],
  ['GET', 204, undefined, undefined, false],
  ['GET', 304, 'text/plain', undefined, false],
  ['GET', 103, undefined, undefined, false],
]

describe('responseMayBuffer', () => {
  it.each(ROWS)('%s %i content-type=%j x-accel-buffering=%j -> %s', (method, status, type, accel, expected) => {
    expect(responseMayBuffer(method, status, type, accel)).toBe(expected)
  })
})
