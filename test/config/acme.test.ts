// `listeners[].tls.acme` (docs/tls.md#acme): values and defaults, certificates optional with
// acme, the plain listener HTTP-01 needs, and every bad value as a problem with its key path
// and line; acme is restart-only (a reload that changes it is refused).
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, test } from 'vitest'
import { parseConfig } from '../../src/config/load.js'
import { restartNeeded } from '../../src/config/restart.js'
import type { Config } from '../../src/config/types.js'
import { makeTestCa, type TestCa } from '../helpers/test-ca.js'
import { expectProblems, type ExpectedProblem } from '../helpers/config.js'

type Expected = ExpectedProblem

let pki: TestCa
let garbage: string
beforeAll(() => {
  pki = makeTestCa()
  garbage = join(pki.dir, 'garbage.pem')
  writeFileSync(garbage, 'not a certificate\n')
})

// The storage need not exist; the directory above it must be writable.
const PARENT = mkdtempSync(join(tmpdir(), 'switchyard-acme-config-'))
const STORAGE = join(PARENT, 'acme')
const A_FILE = join(PARENT, 'file')
writeFileSync(A_FILE, '')

// Line 5 is the acme map's first key (flow style: the whole map is on line 5).
const yaml = (acme: string, plain = '  - port: 80\n'): string =>
  `listeners:\n  - port: 443\n    tls:\n      acme:\n${acme}${plain}upstreams: {app: {servers: [{url: "http://127.0.0.1:1"}]}}\n`
const good = (extra = ''): string =>
  `        directory: https://acme-staging-v02.api.letsencrypt.org/directory\n        domains: [Example.com, www.example.com]\n        storage: ${STORAGE}\n${extra}`

function config(text: string): Config {
  const r = parseConfig(text)
  if (!r.ok) throw new Error(JSON.stringify(r.problems))
  return r.config
}


describe('listeners[].tls.acme', () => {
  test('valid, with defaults: no certificates needed, names lower-cased, renew_before 30 days', () => {
    const tls = config(yaml(good())).listeners[0]!.tls
    expect(tls).toMatchObject({
      certificates: [],
      acme: { directory: 'https://acme-staging-v02.api.letsencrypt.org/directory', email: null, domains: ['example.com', 'www.example.com'],
        storage: STORAGE, caFile: null, ca: null, renewBeforeMs: 30 * 86_400_000 },
    })
  })

  test('every key', () => {
    const acme = config(yaml(good(`        email: ops@example.com\n        ca_file: ${pki.ca.cert}\n        renew_before: 720h\n`))).listeners[0]!.tls!.acme
    expect(acme).toMatchObject({ email: 'ops@example.com', caFile: pki.ca.cert, renewBeforeMs: 720 * 3_600_000 })
    expect(acme?.ca).toContain('BEGIN CERTIFICATE')
  })

  test.each<[string, string, Expected[], string?]>([
    ['an unknown key', good('        emial: ops@example.com\n'), [['listeners.0.tls.acme.emial', 8, /unknown key "emial"; did you mean "email"\?/]]],
    ['no directory, domains or storage', '        email: ops@example.com\n', [
      ['listeners.0.tls.acme.directory', 5, /required/], ['listeners.0.tls.acme.domains', 5, /required/], ['listeners.0.tls.acme.storage', 5, /required/]]],
    ['an http:// directory', good('        directory: http://acme.internal/dir\n').replace(/^ {8}directory: https.*\n/, ''), [['listeners.0.tls.acme.directory', 7, /must be the https:\/\/ URL/]]],
    ['a bad email', good('        email: ops\n'), [['listeners.0.tls.acme.email', 8, /must be an email address/]]],
    ['an empty domain list', good().replace(/domains: \[.*\]/, 'domains: []'), [['listeners.0.tls.acme.domains', 6, /at least one domain/]]],
    ['a wildcard', good().replace(/domains: \[.*\]/, 'domains: ["*.example.com"]'), [['listeners.0.tls.acme.domains.0', 6, /DNS-01/]]],
    ['an IP address', good().replace(/domains: \[.*\]/, 'domains: [192.0.2.1]'), [['listeners.0.tls.acme.domains.0', 6, /must be a DNS name/]]],
    ['a name twice', good().replace(/domains: \[.*\]/, 'domains: [a.example, A.example]'), [['listeners.0.tls.acme.domains.1', 6, /listed twice/]]],
    ['a relative storage', good().replace(STORAGE, 'acme'), [['listeners.0.tls.acme.storage', 7, /must be an absolute path/]]],
    ['a storage that is a file', good().replace(STORAGE, A_FILE), [['listeners.0.tls.acme.storage', 7, /is not a directory/]]],
    ['a storage under a file', good().replace(STORAGE, join(A_FILE, 'acme')), [['listeners.0.tls.acme.storage', 7, /is not a directory/]]],
    ['a missing ca_file', good('        ca_file: /nonexistent/ca.pem\n'), [['listeners.0.tls.acme.ca_file', 8, /does not exist/]]],
    ['a ca_file with no certificate', '', [['listeners.0.tls.acme.ca_file', 8, /holds no PEM certificate/]], 'garbage'],
    ['renew_before without a unit', good('        renew_before: 30\n'), [['listeners.0.tls.acme.renew_before', 8, /must be a duration/]]],
    ['renew_before over a year', good('        renew_before: 9000h\n'), [['listeners.0.tls.acme.renew_before', 8, /at most 8760h/]]],
  ])('%s', (_name, acme, expected, special) => {
    expectProblems(yaml(special === 'garbage' ? good(`        ca_file: ${garbage}\n`) : acme), expected)
  })

  test('needs a plain listener for HTTP-01', () => {
    expectProblems(yaml(good(), ''), [['listeners.0.tls.acme', 5, /needs a plain listener/]])
  })

  test('without acme, certificates are still required', () => {
    expectProblems('listeners:\n  - port: 443\n    tls: {min_version: "1.3"}\nupstreams: {app: {servers: [{url: "http://127.0.0.1:1"}]}}\n',
      [['listeners.0.tls.certificates', 3, /required/]])
  })

  test('a reload that changes acme is refused; one that keeps it is not', () => {
    const running = config(yaml(good()))
    expect(restartNeeded(running, config(yaml(good())))).toEqual([])
    expect(restartNeeded(running, config(yaml(good('        renew_before: 10m\n'))))).toEqual([expect.stringMatching(/acme/)])
  })
})
