// The config keys of the edge (contract section 6) that this side owns: a listener's
// trusted_proxies and proxy_protocol, an upstream's tls and http2. Every bad value is a
// problem with its key path and line; TLS files are read at load (a private CA made here).
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, test } from 'vitest'
import { parseConfig } from '../../src/config/load.js'
import { makeTestCa, type Issued, type TestCa } from '../helpers/test-ca.js'
import { expectProblems, type ExpectedProblem } from '../helpers/config.js'

type Expected = ExpectedProblem


const listener = (extra: string): string => `listeners:\n  - port: 8080\n${extra}upstreams: {app: {servers: [{url: "http://127.0.0.1:1"}]}}\n`

describe('listeners[].trusted_proxies and proxy_protocol', () => {
  test('valid: ranges and bare addresses of both families', () => {
    const r = parseConfig(listener('    trusted_proxies: [10.0.0.0/8, "::1", "2001:db8::/32", 192.0.2.7]\n    proxy_protocol: true\n'))
    expect(r.ok && r.config.listeners[0]).toMatchObject({
      proxyProtocol: true,
      trustedProxies: [{ family: 4, network: '10.0.0.0', prefix: 8 }, { family: 6, network: '::1', prefix: 128 },
        { family: 6, network: '2001:db8::', prefix: 32 }, { family: 4, network: '192.0.2.7', prefix: 32 }],
    })
  })

  test.each<[string, string, Expected[]]>([
    ['not a list', '    trusted_proxies: 10.0.0.0/8\n', [['listeners.0.trusted_proxies', 3, /must be a list of addresses or CIDR ranges/]]],
    ['a number in the list', '    trusted_proxies: [10.0.0.0/8, 42]\n', [['listeners.0.trusted_proxies.1', 3, /must be an address or a CIDR range as a string \(got 42\)/]]],
    ['a hostname', '    trusted_proxies:\n      - lb.internal\n', [['listeners.0.trusted_proxies.0', 4, /IPv4 or IPv6 address or a CIDR range/]]],
    ['host bits past the prefix', '    trusted_proxies: [10.0.0.1/8]\n', [['listeners.0.trusted_proxies.0', 3, /write 10\.0\.0\.0\/8/]]],
    ['prefix too long', '    trusted_proxies: ["::/200"]\n', [['listeners.0.trusted_proxies.0', 3, /0 to 128/]]],
    ['proxy_protocol not a boolean', '    proxy_protocol: v2\n', [['listeners.0.proxy_protocol', 3, /must be true or false/]]],
  ])('%s', (_name, extra, expected) => {
    expectProblems(listener(extra), expected)
  })
})

describe('upstreams.<name>.tls and http2', () => {
  let pki: TestCa
  let client: Issued
  let other: Issued
  let garbage: string
  beforeAll(() => {
    pki = makeTestCa()
    client = pki.issue('client', [], 'client')
    other = pki.issue('other', [], 'client')
    garbage = join(pki.dir, 'garbage.pem')
    writeFileSync(garbage, 'not a PEM file\n')
  })

  // Line 4 is the upstream's `tls:` (or `http2:`), then its servers.
  const upstream = (tls: string, url = 'https://127.0.0.1:8443'): string =>
    `listeners: [{port: 8080}]\nupstreams:\n  app:\n${tls}    servers: [{url: "${url}"}]\n`

  test('valid: files read at load, their PEM text kept', () => {
    const r = parseConfig(upstream(`    tls: {ca_file: ${pki.ca.cert}, server_name: app.internal, cert_file: ${client.cert}, key_file: ${client.key}}\n    http2: true\n`))
    if (!r.ok) throw new Error(JSON.stringify(r.problems))
    const u = r.config.upstreams[0]!
    expect(u.http2).toBe(true)
    expect(u.tls).toMatchObject({ caFile: pki.ca.cert, serverName: 'app.internal', verify: true, certFile: client.cert, keyFile: client.key })
    expect(u.tls?.ca).toContain('BEGIN CERTIFICATE')
    expect(u.tls?.key).toContain('PRIVATE KEY')
    expect(u.servers[0]).toEqual({ url: 'https://127.0.0.1:8443', id: '127.0.0.1:8443', weight: 1, maxRequests: 0 })
  })

  test('an https:// URL without a port gets 443', () => {
    const r = parseConfig(upstream('', 'https://app.internal'))
    expect(r.ok && r.config.upstreams[0]!.servers[0]!.id).toBe('app.internal:443')
  })

  test.each<[string, () => string, Expected[]]>([
    ['an unknown key', () => '    tls: {verfiy: false}\n', [['upstreams.app.tls.verfiy', 4, /unknown key "verfiy"; did you mean "verify"\?/]]],
    ['not a map', () => '    tls: true\n', [['upstreams.app.tls', 4, /must be a map with the keys ca_file/]]],
    ['a missing ca_file', () => '    tls: {ca_file: /nonexistent/ca.pem}\n', [['upstreams.app.tls.ca_file', 4, /cannot read \/nonexistent\/ca\.pem: ENOENT/]]],
    ['a relative ca_file', () => '    tls: {ca_file: ca.pem}\n', [['upstreams.app.tls.ca_file', 4, /must be an absolute path/]]],
    ['a ca_file with no certificate', () => `    tls: {ca_file: ${garbage}}\n`, [['upstreams.app.tls.ca_file', 4, /holds no PEM certificate/]]],
    ['a key_file with no key', () => `    tls: {cert_file: ${client.cert}, key_file: ${garbage}}\n`, [['upstreams.app.tls.key_file', 4, /holds no PEM private key/]]],
    ['a key that does not match its certificate', () => `    tls: {cert_file: ${client.cert}, key_file: ${other.key}}\n`, [['upstreams.app.tls.key_file', 4, /does not match cert_file/]]],
    ['cert_file without key_file', () => `    tls: {cert_file: ${client.cert}}\n`, [['upstreams.app.tls.key_file', 4, /required with cert_file/]]],
    ['key_file without cert_file', () => `    tls: {key_file: ${client.key}}\n`, [['upstreams.app.tls.cert_file', 4, /required with key_file/]]],
    ['a bad server_name', () => '    tls: {server_name: "bad name!"}\n', [['upstreams.app.tls.server_name', 4, /must be a DNS name/]]],
    ['verify not a boolean', () => '    tls: {verify: "no"}\n', [['upstreams.app.tls.verify', 4, /must be true or false/]]],
    ['http2 not a boolean', () => '    http2: h2\n', [['upstreams.app.http2', 4, /must be true or false/]]],
  ])('%s', (_name, tls, expected) => {
    expectProblems(upstream(tls()), expected)
  })

  test('tls on an upstream without an https:// server', () => {
    expectProblems(upstream('    tls: {verify: false}\n', 'http://127.0.0.1:8080'), [['upstreams.app.tls', 4, /applies to https:\/\/ servers only/]])
  })
})
