// admin.token_file (src/config/admin-token.ts): the token read at load, and every bad file
// with the key's path and line.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { formatProblem, parseConfig } from '../../src/config/load.js'

const dir = mkdtempSync(join(tmpdir(), 'sy-token-'))
const file = (name: string, content: string | Buffer): string => {
  const p = join(dir, name)
  writeFileSync(p, content)
  return p
}
const TOKEN = '0123456789abcdef0123456789abcdef'

const yaml = (tokenFile: string): string => `listeners: [{port: 1}]
admin:
  token_file: ${JSON.stringify(tokenFile)}
upstreams: {app: {servers: [{url: "http://127.0.0.1:3001"}]}}
`

describe('admin.token_file', () => {
  it('reads and trims the token', () => {
    const path = file('good', `  ${TOKEN}\n`)
    const r = parseConfig(yaml(path))
    expect(r.ok && r.config.admin).toMatchObject({ tokenFile: path, token: TOKEN })
  })

  it('absent: no token (mutations answer 403)', () => {
    const r = parseConfig('listeners: [{port: 1}]\nupstreams: {app: {servers: [{url: "http://127.0.0.1:3001"}]}}\n')
    expect(r.ok && r.config.admin).toMatchObject({ tokenFile: null, token: null })
  })

  it.each<[string, string, string]>([
    ['a relative path', 'admin.token', 'admin.token_file: must be an absolute path (got "admin.token") (line 3)'],
    ['a missing file', join(dir, 'nope'), `admin.token_file: file "${join(dir, 'nope')}" does not exist (line 3)`],
    ['an empty file', file('empty', '\n \n'), 'is empty: write the token in it'],
    ['a short token', file('short', 'abc\n'), 'the token is 3 characters; use at least 16'],
    ['two words', file('words', `${TOKEN} ${TOKEN}`), 'one word of printable ASCII'],
    ['a non-ASCII token', file('utf8', `${TOKEN}é`), 'one word of printable ASCII'],
    ['a large file', file('large', Buffer.alloc(5000, 0x61)), 'is larger than 4 KiB'],
    ['a directory', dir, 'is not a regular file'],
    ['a device', '/dev/zero', 'is not a regular file'],
  ])('%s is a problem at its key', (_, path, message) => {
    const r = parseConfig(yaml(path))
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.problems.map(formatProblem).join('\n')).toContain(message)
    expect(r.problems.every((p) => p.path === 'admin.token_file')).toBe(true)
  })

  it('not a string', () => {
    const r = parseConfig('listeners: [{port: 1}]\nadmin: {token_file: [1]}\nupstreams: {app: {servers: [{url: "http://127.0.0.1:3001"}]}}\n')
    expect(!r.ok && r.problems.map(formatProblem)).toEqual(['admin.token_file: must be a string (got a list) (line 2)'])
  })
})
