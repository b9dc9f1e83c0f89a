// The access log's fields and formats (issue #17 item 6) against the real daemon: host,
// user_agent, referer, http_version, route and client on every JSON line; with
// `log.access_log_format: combined`, Apache combined lines that the standard regex and
// goaccess (Debian's) parse. Requests carry hostile User-Agent and Referer values sent as raw
// bytes (quotes, backslashes, a fake field, obs-text, 8 KiB, and CR/LF/NUL/ESC attempts, which
// Node's parser refuses with a 400 before any line is due): every line stays one line, each
// value comes back as sent. A basic_auth route names its user (%u); a reload switches the format.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { closeAfterEach } from '../helpers/scope.js'
import type { RunningDaemon } from '../helpers/daemon.js'
import { exchange, parseResponses } from '../helpers/raw-http.js'
import { COMBINED, unescapeClf } from '../helpers/combined-log.js'
import { needTool } from '../helpers/tools.js'

const dir = mkdtempSync(join(tmpdir(), 'sy-access-log-'))
const USER = 'j\u00f6rg'
const PASSWORD = 'pw'
const users = join(dir, 'htpasswd')
writeFileSync(users, `${USER}:{SHA}${createHash('sha1').update(PASSWORD).digest('base64')}\n`)

/** The logged cut of a client-sent value (MAX_HEADER_CHARS). */
const CAP = 1024

interface Case {
  readonly name: string
  /** Raw header lines (Latin-1 bytes) after Host. */
  readonly lines: readonly string[]
  readonly path?: string
  readonly version?: string
  /** What the log shows, when the request is answered: undefined = absent. */
  readonly userAgent?: string
  readonly referer?: string
  readonly host?: string
  readonly status: number
  readonly route: string
  readonly user?: string
}

/** 8 KiB with a quote inside; as a Referer, 3,000 bytes of it (both at 8 KiB would pass the 16 KiB header limit: 431). */
const BIG = `${'A'.repeat(4096)}"${'B'.repeat(4095)}`
const BIG_REFERER = BIG.slice(1000, 4000)
const CASES: readonly Case[] = [
  { name: 'plain', lines: ['User-Agent: curl/8.5.0', 'Referer: https://ref.example/p?q=1'], userAgent: 'curl/8.5.0', referer: 'https://ref.example/p?q=1', status: 200, route: 'api' },
  { name: 'absent', lines: [], status: 200, route: 'api' },
  { name: 'a fake field', lines: ['User-Agent: evil" 200 1 "-" "fake\\', 'Referer: http://r/"q"\\x'], userAgent: 'evil" 200 1 "-" "fake\\', referer: 'http://r/"q"\\x', status: 200, route: 'api' },
  { name: 'obs-text bytes and a tab', lines: ['User-Agent: \xff\xfe\xc3\xa9 obs\ttext', 'Referer: \x80\x81'], userAgent: '\xff\xfe\xc3\xa9 obs\ttext', referer: '\x80\x81', status: 200, route: 'api' },
  { name: '8 KiB', lines: [`User-Agent: ${BIG}`, `Referer: ${BIG_REFERER}`], userAgent: BIG.slice(0, CAP), referer: BIG_REFERER.slice(0, CAP), status: 200, route: 'api' },
  { name: 'HTTP/1.0, no Host', lines: ['User-Agent: old/1'], version: '1.0', userAgent: 'old/1', status: 200, route: 'api', host: '' },
  { name: 'no route', lines: ['User-Agent: lost/1'], path: '/none', userAgent: 'lost/1', status: 404, route: '' },
  { name: 'basic_auth let in', lines: [`Authorization: Basic ${Buffer.from(`${USER}:${PASSWORD}`, 'utf8').toString('base64')}`], path: '/private/x', status: 200, route: 'private', user: USER },
  { name: 'basic_auth refused', lines: ['Authorization: Basic eDp5'], path: '/private/x', status: 401, route: 'private' },
  // Refused by Node's parser (a 400 without X-Request-Id, no line) — or, if ever let through, logged on one line.
  { name: 'CR LF in a value', lines: ['User-Agent: a\r\nX-Injected: 1'], userAgent: 'a', status: 200, route: 'api' },
  { name: 'bare CR', lines: ['User-Agent: a\rb'], status: 400, route: '' },
  { name: 'obs-fold', lines: ['User-Agent: folded', ' continued'], status: 400, route: '' },
  { name: 'NUL', lines: ['User-Agent: a\x00b'], status: 400, route: '' },
  { name: 'ESC', lines: ['Referer: \x1b[31mred'], status: 400, route: '' },
]

function yaml(backend: string, format: string): string {
  return `
listeners: [{ address: 127.0.0.1, port: 0 }]
admin: { port: 0 }
log: { access_log_format: ${format} }
upstreams: { app: { servers: [{ url: ${backend} }] } }
routes:
  - { name: private, match: { path_prefix: /private }, upstream: app, basic_auth: { realm: staff, users_file: ${users} } }
  - { name: api, match: { path_prefix: /r }, upstream: app }
`
}

interface Sent {
  readonly c: Case
  readonly path: string
  /** The daemon answered it (X-Request-Id): a line is due. */
  readonly answered: boolean
  readonly status: number
}

/** Each case on its own connection, as raw bytes; the path `/r/<i>` (or the case's) names its line. */
async function sendAll(d: RunningDaemon): Promise<Sent[]> {
  const sent: Sent[] = []
  for (const [i, c] of CASES.entries()) {
    const path = `${c.path ?? '/r'}?case=${i}`
    const host = c.version === '1.0' ? [] : ['Host: app.test']
    const head = [`GET ${path} HTTP/${c.version ?? '1.1'}`, ...host, ...c.lines, 'Connection: close', '', ''].join('\r\n')
    const r = await exchange(d.port(), head, { responses: 1, graceMs: 0 })
    const res = parseResponses(r.text).responses[0]
    expect(res, `${c.name}: ${r.text}`).toBeDefined()
    sent.push({ c, path, answered: res!.headers['x-request-id'] !== undefined, status: res!.status })
  }
  return sent
}

/** Stops the daemon and waits until its stdout is read to the end. */
async function stopAndDrain(d: RunningDaemon): Promise<void> {
  const closed = new Promise((resolve) => {
    if (d.proc.stdout!.readableEnded) resolve(null)
    else d.proc.stdout!.once('close', resolve)
  })
  expect(await d.stop()).toBe(0)
  await closed
}

function expectAnswers(sent: readonly Sent[]): void {
  for (const s of sent) {
    if (s.c.status === 400) expect(s, s.c.name).toMatchObject({ answered: false, status: 400 })
    else if (s.c.name === 'CR LF in a value') expect(s.answered, s.c.name).toBe(true) // a header line of its own
    else expect(s, s.c.name).toMatchObject({ answered: true, status: s.c.status })
  }
}

describe('access log', () => {
  const scope = closeAfterEach()

  it('json: host, user_agent, referer, http_version, route, client on every line, as sent, one line each', async () => {
    const backend = await scope.backend('app')
    const d = await scope.daemon(yaml(backend.url, 'json'))
    const sent = await sendAll(d)
    await stopAndDrain(d)
    expectAnswers(sent)

    expect(d.logs.filter((l) => String(l.msg).startsWith('(not JSON)'))).toEqual([])
    const access = d.logs.filter((l) => l.kind === 'access')
    const due = sent.filter((s) => s.answered)
    expect(access).toHaveLength(due.length)
    for (const s of due) {
      const line = access.find((l) => l.path === s.path)
      expect(line, s.c.name).toBeDefined()
      // JSON.parse read the line as UTF-8: a byte from 0x80 up is the Latin-1 character Node read.
      expect(line, s.c.name).toMatchObject({
        client: '127.0.0.1',
        status: s.status,
        route: s.c.route,
        http_version: s.c.version ?? '1.1',
        host: s.c.host ?? 'app.test',
        user_agent: s.c.userAgent ?? '',
        referer: s.c.referer ?? '',
      })
      if (s.c.user === undefined) expect(line, s.c.name).not.toHaveProperty('user')
      else expect(line!.user).toBe(s.c.user)
    }
  }, 30_000)

  it('a reload switches the format', async () => {
    const backend = await scope.backend('app')
    const d = await scope.daemon(yaml(backend.url, 'json'))
    const before = d.logs.length
    writeFileSync(d.file, yaml(backend.url, 'combined'))
    d.proc.kill('SIGHUP')
    await d.waitForLog((l) => d.logs.indexOf(l) >= before && l.msg === 'config reloaded')
    const r = await exchange(d.port(), 'GET /r/after HTTP/1.1\r\nHost: app.test\r\nUser-Agent: ua/1\r\nConnection: close\r\n\r\n', { responses: 1, graceMs: 0 })
    expect(parseResponses(r.text).responses[0]?.status).toBe(200)
    const line = await d.waitForLog((l) => String(l.msg).includes('"GET /r/after HTTP/1.1"'))
    expect(String(line.msg)).toMatch(/^\(not JSON\) 127\.0\.0\.1 - - \[[^\]]+\] "GET \/r\/after HTTP\/1\.1" 200 \d+ "-" "ua\/1"$/)
  }, 30_000)

  it('combined: Apache combined lines, the standard regex and goaccess parse every one', async (ctx) => {
    const backend = await scope.backend('app')
    const d = await scope.daemon(yaml(backend.url, 'combined'))
    const sent = await sendAll(d)
    await stopAndDrain(d)
    expectAnswers(sent)

    // The daemon's own lines stay JSON; a combined line never starts with "{".
    const lines = d.logs.filter((l) => String(l.msg).startsWith('(not JSON) ')).map((l) => String(l.msg).slice('(not JSON) '.length))
    expect(d.logs.filter((l) => l.kind === 'access')).toEqual([])
    const due = sent.filter((s) => s.answered)
    expect(lines).toHaveLength(due.length)
    for (const line of lines) {
      expect(line, line.slice(0, 200)).toMatch(COMBINED)
      expect(line).toMatch(/^[\x20-\x7e]+$/)
    }
    for (const s of due) {
      const line = lines.find((l) => COMBINED.exec(l)![6] === s.path)
      expect(line, s.c.name).toBeDefined()
      const m = COMBINED.exec(line!)!
      expect(m[1]).toBe('127.0.0.1')
      expect(m[2]).toBe('-')
      // %u: the user as UTF-8 bytes, escaped.
      expect(Buffer.from(unescapeClf(m[3]!), 'latin1').toString('utf8'), s.c.name).toBe(s.c.user ?? '-')
      expect(m[5]).toBe('GET')
      expect(m[7]).toBe(`HTTP/${s.c.version ?? '1.1'}`)
      expect(Number(m[8])).toBe(s.status)
      expect(unescapeClf(m[10]!), s.c.name).toBe(s.c.referer ?? '-')
      expect(unescapeClf(m[11]!), s.c.name).toBe(s.c.userAgent ?? '-')
    }
    expect(COMBINED.exec(lines.find((l) => l.includes('/private/x?case=7'))!)![3]).toBe('j\\xC3\\xB6rg')

    needTool(ctx, 'goaccess', 'goaccess')
    const log = join(dir, 'access.log')
    const report = join(dir, 'report.json')
    writeFileSync(log, lines.map((l) => `${l}\n`).join(''))
    execFileSync('goaccess', [log, '--log-format=COMBINED', '--no-global-config', '-o', report], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 })
    const general = (JSON.parse(readFileSync(report, 'utf8')) as { general: Record<string, number> }).general
    expect(general).toMatchObject({ total_requests: due.length, valid_requests: due.length, failed_requests: 0 })
  }, 30_000)
})
