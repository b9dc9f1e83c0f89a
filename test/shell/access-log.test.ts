// The access log's lines, both formats, through the process's real writer into a regular
// file: the fields (host, user_agent, referer, route, user on every line), client-sent values
// escaped and cut to MAX_HEADER_CHARS, and every line whole and on its own line however long
// its values are (a line that might not fit what is left of a 4 KiB buffer is encoded aside
// and copied by its length; one longer than a buffer gets its own).
import { describe, expect, it } from 'vitest'
import { mkdtempSync, openSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { RequestLogFields } from '../../src/core/headers.js'
import { AccessLog, MAX_HEADER_CHARS } from '../../src/shell/observe/access-log.js'
import { LineWriter } from '../../src/shell/observe/line-writer.js'
import { Rng } from '../helpers/prng.js'
import { COMBINED, unescapeClf } from '../helpers/combined-log.js'

/** An AccessLog writing through a LineWriter of `size` into a temp file; `lines()` flushes and reads it back. */
function logTo(format: 'json' | 'combined', size = 4096): { log: AccessLog; lines(): string[] } {
  const file = join(mkdtempSync(join(tmpdir(), 'switchyard-access-')), 'access.log')
  const writer = new LineWriter(openSync(file, 'a'), size, 60_000)
  return {
    log: new AccessLog(format, 4242, writer),
    lines() {
      writer.flushSync()
      const text = readFileSync(file, format === 'json' ? 'utf8' : 'latin1')
      expect(text.endsWith('\n')).toBe(true)
      return text.slice(0, -1).split('\n')
    },
  }
}

const fields = (f: Partial<RequestLogFields> = {}): RequestLogFields => ({ requestId: 'req-1', host: undefined, userAgent: undefined, referer: undefined, authUser: '', ...f })
const TARGET = AccessLog.target('app', '127.0.0.1:3001')
const ROUTE = Buffer.from(',"route":"api"')

function writeOne(log: AccessLog, f: RequestLogFields, path = '/x?y=1', status = 200, bytesOut = 12, httpVersion = '1.1'): void {
  log.write(f, 'GET', path, '10.0.0.7', status, TARGET, ROUTE, 0.0015, 100, bytesOut, 0, '', '', httpVersion)
}

const HOSTILE = [
  'plain/1.0',
  'quote " and \\ backslash',
  'fake" 200 1 "-" "field',
  'line\r\nbreak\rand\nmore',
  'control \u0000\u0001\u001b[31m\u007f',
  'latin1 \u00e9\u00ff\u0080',
  '\u00c3\u00a9 (UTF-8 bytes of \u00e9 as Node reads them)',
  'tab\there',
]

describe('AccessLog, json', () => {
  it('has host, user_agent, referer, route and http_version on every line; "" when absent', () => {
    const { log, lines } = logTo('json')
    writeOne(log, fields({ host: 'app.example.com', userAgent: 'curl/8.5', referer: 'https://a.example/' }), '/x', 200, 12, '2.0')
    writeOne(log, fields())
    log.write(fields(), 'GET', '/nowhere', '10.0.0.7', 404, AccessLog.NO_TARGET, AccessLog.NO_ROUTE, 0.001, 50, 9, 0, '')
    const [a, b, c] = lines().map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(a).toMatchObject({ level: 'info', pid: 4242, kind: 'access', request_id: 'req-1', method: 'GET', path: '/x', client: '10.0.0.7', status: 200,
      upstream: 'app', server: '127.0.0.1:3001', route: 'api', http_version: '2.0', host: 'app.example.com', user_agent: 'curl/8.5', referer: 'https://a.example/', msg: 'request' })
    expect(b).toMatchObject({ host: '', user_agent: '', referer: '', route: 'api', http_version: '1.1' })
    expect(c).toMatchObject({ status: 404, upstream: '', server: '', route: '', host: '', user_agent: '', referer: '' })
    expect(a).not.toHaveProperty('user')
  })

  it('names the basic_auth user when one was let in', () => {
    const { log, lines } = logTo('json')
    writeOne(log, fields({ authUser: 'alice' }))
    expect(JSON.parse(lines()[0]!)).toMatchObject({ user: 'alice' })
  })

  it.each(HOSTILE)('%j: one line, JSON, the value back as sent', (value) => {
    const { log, lines } = logTo('json')
    writeOne(log, fields({ host: value, userAgent: value, referer: value }))
    const out = lines()
    expect(out).toHaveLength(1)
    expect(JSON.parse(out[0]!)).toMatchObject({ host: value, user_agent: value, referer: value })
  })

  it(`cuts host, user_agent and referer to ${MAX_HEADER_CHARS} characters`, () => {
    const { log, lines } = logTo('json')
    const long = `"${'A'.repeat(8190)}\n`
    writeOne(log, fields({ host: long, userAgent: long, referer: long }))
    const out = lines()
    expect(out).toHaveLength(1)
    const line = JSON.parse(out[0]!) as Record<string, string>
    for (const k of ['host', 'user_agent', 'referer']) expect(line[k]).toBe(long.slice(0, MAX_HEADER_CHARS))
  })
})

describe('AccessLog, combined', () => {
  it('writes Apache combined lines: `-` for what is empty, %b `-` for no body bytes', () => {
    const { log, lines } = logTo('combined')
    writeOne(log, fields({ userAgent: 'curl/8.5', referer: 'https://a.example/p?q=1', authUser: 'alice' }), '/x?y=1', 200, 1234)
    writeOne(log, fields(), '/', 304, 0, '2.0')
    const [a, b] = lines()
    expect(a).toMatch(COMBINED)
    expect(a!.replace(/\[[^\]]+\]/, '[T]')).toBe('10.0.0.7 - alice [T] "GET /x?y=1 HTTP/1.1" 200 1234 "https://a.example/p?q=1" "curl/8.5"')
    expect(b!.replace(/\[[^\]]+\]/, '[T]')).toBe('10.0.0.7 - - [T] "GET / HTTP/2.0" 304 - "-" "-"')
    // The time is now, in the local time zone.
    const stamp = /\[(\d{2})\/(\w{3})\/(\d{4}):/.exec(a!)!
    const now = new Date()
    expect(Number(stamp[3])).toBeGreaterThanOrEqual(now.getFullYear() - 1)
  })

  it.each(HOSTILE)('%j: one line, matching the combined regex, escaped as nginx does', (value) => {
    const { log, lines } = logTo('combined')
    // (A request target has no spaces: Node's parser refuses them.)
    const path = `/p?${value.replaceAll(' ', '+')}`
    writeOne(log, fields({ userAgent: value, referer: value, authUser: value }), path)
    const out = lines()
    expect(out).toHaveLength(1)
    const m = COMBINED.exec(out[0]!)
    expect(m, out[0]).not.toBeNull()
    expect(out[0]).toMatch(/^[\x20-\x7e]+$/)
    expect(unescapeClf(m![6]!)).toBe(path)
    expect(unescapeClf(m![10]!)).toBe(value)
    expect(unescapeClf(m![11]!)).toBe(value)
    expect(Buffer.from(unescapeClf(m![3]!), 'latin1').toString('utf8')).toBe(value) // %u: UTF-8, spaces escaped too
  })

  it(`cuts user_agent and referer to ${MAX_HEADER_CHARS} characters`, () => {
    const { log, lines } = logTo('combined')
    writeOne(log, fields({ userAgent: 'U'.repeat(8192), referer: 'R'.repeat(8192) }))
    const m = COMBINED.exec(lines()[0]!)!
    expect(m[10]).toBe('R'.repeat(MAX_HEADER_CHARS))
    expect(m[11]).toBe('U'.repeat(MAX_HEADER_CHARS))
  })
})

describe.each(['json', 'combined'] as const)('AccessLog %s through a 4 KiB writer', (format) => {
  it('keeps 3,000 lines of random lengths and bytes whole, in order, one per line (a 40 KiB path included)', () => {
    const { log, lines } = logTo(format, 4096)
    const rng = new Rng(0xacce55)
    const n = 3000
    const agents: string[] = []
    for (let i = 0; i < n; i++) {
      let ua = HOSTILE[i % HOSTILE.length]!
      const extra = rng.u32() % (i % 10 === 0 ? 3000 : 200)
      for (let k = 0; k < extra; k++) ua += String.fromCharCode(rng.u32() % 4 === 0 ? rng.u32() % 256 : 0x41 + (rng.u32() % 26))
      agents.push(ua)
      writeOne(log, fields({ requestId: `r${i}`, userAgent: ua }), i === 1234 ? `/${'p'.repeat(40 * 1024)}` : `/${i}`)
    }
    const out = lines()
    expect(out).toHaveLength(n)
    out.forEach((line, i) => {
      const want = agents[i]!.slice(0, MAX_HEADER_CHARS)
      if (format === 'json') {
        expect(JSON.parse(line)).toMatchObject({ request_id: `r${i}`, user_agent: want })
      } else {
        const m = COMBINED.exec(line)
        expect(m, line.slice(0, 200)).not.toBeNull()
        expect(m![6]).toBe(i === 1234 ? `/${'p'.repeat(40 * 1024)}` : `/${i}`)
      }
    })
  })
})
