// docs/tls.md#acme: certificates from a real ACME server. One pebble for the file
// (helpers/pebble.ts: Debian's pebble, its pebble-challtestsrv as the DNS server that
// resolves every name to 127.0.0.1, its own HTTPS certificate from a test CA given to the
// daemon as `ca_file`). Pebble validates HTTP-01 on one fixed port, so the daemon's plain
// listener is bound there (a port found free first). Issued certificates live 120 s.
// - issuance end to end: HTTP-01 answered by the plain listener (redirect_https on), the
//   certificate installed without a restart and verified with pebble's root; files 0600;
//   an unknown challenge token still goes to the routes; the metrics;
// - a restart serves the stored certificate with no new order, to clients without SNI
//   too, and across a reload;
// - renewal (renew_before just under the lifetime) installs new certificates while a
//   keep-alive connection made before stays open and keeps serving;
// - a failed order (validation on a port the daemon does not listen on) is logged, counted
//   and scheduled again, while the listener's configured certificate serves;
// - workers: 2: the primary orders, every worker serves the certificate.
import { X509Certificate } from 'node:crypto'
import https from 'node:https'
import { mkdtempSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import tls, { type TLSSocket } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeAfterEach } from '../helpers/scope.js'
import { request } from '../helpers/client.js'
import { scrape, seriesValue } from '../helpers/metrics.js'
import { freePort } from '../helpers/prometheus.js'
import { startPebble, type Pebble } from '../helpers/pebble.js'
import { makePki } from '../helpers/pki.js'
import { requireTool, missingToolMessage } from '../helpers/tools.js'
import type { RunningDaemon } from '../helpers/daemon.js'

const { backend, daemon } = closeAfterEach()
const DOMAINS = ['acme.example.com', 'www.acme.example.com']
const ISSUE_TIMEOUT_MS = 30_000
/** acme-client's HTTP honours HTTPS_PROXY: pebble is local, whatever the machine's proxy. */
const LOCAL = { NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost' }

const havePebble = requireTool('pebble', 'pebble')
let pebble: Pebble
let root: string
let httpPort: number

beforeAll(async () => {
  if (!havePebble) return
  httpPort = await freePort()
  pebble = await startPebble({ httpPort, validitySeconds: 120 })
  root = await pebble.root()
}, 20_000)
afterAll(async () => { await pebble?.close() })

function config(storage: string, upstream: string, extra: { renewBefore?: string; workers?: number } = {}): string {
  return `listeners:
  - name: web
    address: 127.0.0.1
    port: 0
    tls:
      acme:
        directory: ${pebble.directory}
        email: ops@example.com
        domains: [${DOMAINS.join(', ')}]
        storage: ${storage}
        ca_file: ${pebble.caFile}
${extra.renewBefore === undefined ? '' : `        renew_before: ${extra.renewBefore}\n`}  - name: plain
    address: 127.0.0.1
    port: ${httpPort}
    redirect_https: true
admin:
  port: 0
workers: ${extra.workers ?? 1}
upstreams:
  app:
    servers:
      - url: ${upstream}
`
}

interface Seen {
  readonly status: number
  readonly body: string
  readonly serial: string
  readonly names: string
  readonly localPort: number
  readonly reused: boolean
}

/** One HTTPS request for `name`, verified against pebble's root; rejects on a TLS error. */
function get(port: number, agent: https.Agent | false = false, name = DOMAINS[0] as string): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/', servername: name, headers: { host: name }, ca: root, agent, timeout: 5_000 }, (res) => {
      const socket = res.socket as TLSSocket
      const cert = socket.getPeerCertificate()
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { body += d })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, serial: cert.serialNumber, names: cert.subjectaltname ?? '', localPort: socket.localPort ?? 0, reused: req.reusedSocket }))
    })
    req.on('timeout', () => req.destroy(new Error('timed out')))
    req.on('error', reject)
    req.end()
  })
}

/** The serial of the certificate a client that sends no SNI gets (verified against pebble's root, any name). */
function noSniSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: root, checkServerIdentity: () => undefined, timeout: 5_000 }, () => {
      resolve(socket.getPeerCertificate().serialNumber)
      socket.end()
    })
    socket.on('error', reject)
  })
}

const issued = (d: RunningDaemon): { serial: string }[] => d.logs.filter((l) => l.msg === 'ACME certificate issued') as unknown as { serial: string }[]
const storageDir = (): string => mkdtempSync(join(tmpdir(), 'switchyard-acme-'))
/** The directory of pebble's files under `storage` (one per ACME server: host_port). */
const serverDir = (storage: string): string => join(storage, new URL(pebble.directory).host.replace(':', '_'))
/** Pebble reports a serial in hex without leading zeros; Node in upper-case hex. */
const serialOf = (hex: string): string => BigInt(`0x${hex}`).toString(16)

describe('ACME (pebble)', () => {
  it.skipIf(!havePebble)('issues a certificate over HTTP-01, serves it at once, and a restart reuses it without an order', async () => {
    const app = await backend('app')
    const storage = storageDir()
    const first = await daemon(config(storage, app.url), LOCAL)
    const line = await first.waitForLog((l) => l.msg === 'ACME certificate issued', ISSUE_TIMEOUT_MS)
    expect(line.listener).toBe('web')

    const seen = await get(first.port('web'))
    expect(seen.status).toBe(200)
    expect(seen.body).toBe('app')
    expect(seen.names).toBe(DOMAINS.map((d) => `DNS:${d}`).join(', '))
    expect(serialOf(seen.serial)).toBe(serialOf(String(line.serial)))
    // The second name is served by the same certificate.
    expect((await get(first.port('web'), false, DOMAINS[1])).serial).toBe(seen.serial)

    // Keys are the daemon's only: 0600 (the directory 0700).
    const dir = serverDir(storage)
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    expect(statSync(join(dir, 'account.key')).mode & 0o777).toBe(0o600)
    expect(statSync(join(dir, `${DOMAINS[0]}.key`)).mode & 0o777).toBe(0o600)

    // The plain listener still redirects, and a token it does not hold goes to the routes.
    const plain = `http://127.0.0.1:${httpPort}`
    expect((await request(`${plain}/x`, { headers: { host: DOMAINS[0] } })).status).toBe(308)
    expect(await request(`${plain}/.well-known/acme-challenge/not-ours`)).toMatchObject({ status: 200, body: 'app' })

    const metrics = await scrape(first.adminUrl())
    expect(seriesValue(metrics, 'switchyard_acme_orders_total', { listener: 'web', result: 'success' })).toBe(1)
    expect(seriesValue(metrics, 'switchyard_acme_orders_total', { listener: 'web', result: 'failure' })).toBe(0)
    const expiry = seriesValue(metrics, 'switchyard_tls_certificate_expiry_timestamp_seconds', { listener: 'web', name: DOMAINS[0] as string })
    expect(expiry).toBe(Math.floor(Date.parse(String(line.not_after)) / 1000))
    await first.stop()

    const second = await daemon(config(storage, app.url), LOCAL)
    await second.waitForLog((l) => l.msg === 'ACME certificate loaded from storage')
    expect((await get(second.port('web'))).serial).toBe(seen.serial)
    // A client that sends no SNI gets it too (the listener has no other certificate); so does
    // every client after a reload (the ACME certificate is not the config's).
    second.proc.kill('SIGHUP')
    await second.waitForLog((l) => l.msg === 'config reloaded')
    expect(await noSniSerial(second.port('web'))).toBe(seen.serial)
    expect((await get(second.port('web'))).serial).toBe(seen.serial)
    const after = await scrape(second.adminUrl())
    expect(seriesValue(after, 'switchyard_acme_orders_total', { listener: 'web', result: 'success' })).toBe(0)
    expect(second.logs.filter((l) => l.msg === 'ACME order started')).toEqual([])
  }, 60_000)

  it.skipIf(!havePebble)('renews in the background: new handshakes get the new certificate, an open keep-alive connection stays', async () => {
    const app = await backend('app')
    // Certificates live 120 s: due 2 s after each issuance.
    const d = await daemon(config(storageDir(), app.url, { renewBefore: '118s' }), LOCAL)
    await d.waitForLog((l) => l.msg === 'ACME certificate issued', ISSUE_TIMEOUT_MS)
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 })
    try {
      const before = await get(d.port('web'), agent)
      expect(before.status).toBe(200)
      // A second order completes (bounded wait), from a renewal timer: no restart, no signal.
      await d.waitForLog((l) => l.msg === 'ACME certificate issued' && issued(d).length >= 2, ISSUE_TIMEOUT_MS)

      const kept = await get(d.port('web'), agent)
      expect(kept).toMatchObject({ status: 200, reused: true, localPort: before.localPort, serial: before.serial })
      const fresh = await get(d.port('web'))
      expect(fresh.status).toBe(200)
      expect(fresh.serial).not.toBe(before.serial)
      expect(issued(d).slice(1).map((l) => serialOf(l.serial))).toContain(serialOf(fresh.serial))
      expect(d.logs.some((l) => l.msg === 'ACME certificate loaded from storage')).toBe(false)
    } finally {
      agent.destroy()
    }
  }, 60_000)

  it.skipIf(!havePebble)('a failed order is logged, counted and retried later; the configured certificate serves meanwhile', async () => {
    const app = await backend('app')
    const pki = makePki()
    try {
      const fallback = pki.issue('fallback', [DOMAINS[0] as string])
      // The plain listener is not where pebble validates: the challenge fails.
      const yaml = config(storageDir(), app.url)
        .replace('      acme:\n', `      certificates:\n        - { cert_file: ${fallback.certFile}, key_file: ${fallback.keyFile} }\n      acme:\n`)
        .replace(`port: ${httpPort}`, 'port: 0')
      const d = await daemon(yaml, LOCAL)
      const failed = await d.waitForLog((l) => l.msg === 'ACME order failed: retrying later', ISSUE_TIMEOUT_MS)
      expect(failed).toMatchObject({ listener: 'web', failures: 1, retry_in_ms: 60_000 })
      expect(String(failed.err)).not.toBe('')
      const seen = await new Promise<string>((resolve, reject) => {
        const socket = tls.connect({ host: '127.0.0.1', port: d.port('web'), servername: DOMAINS[0], ca: pki.ca, timeout: 5_000 }, () => {
          resolve(socket.getPeerCertificate().serialNumber)
          socket.end()
        })
        socket.on('error', reject)
      })
      expect(serialOf(seen)).toBe(serialOf(new X509Certificate(fallback.cert).serialNumber))
      const metrics = await scrape(d.adminUrl())
      expect(seriesValue(metrics, 'switchyard_acme_orders_total', { listener: 'web', result: 'failure' })).toBe(1)
      expect(seriesValue(metrics, 'switchyard_acme_orders_total', { listener: 'web', result: 'success' })).toBe(0)
      expect((await request(d.adminUrl('/readyz'))).status).toBe(200)
    } finally {
      await pki.close()
    }
  }, 60_000)

  it.skipIf(!havePebble)('workers: 2: the primary orders once, every worker serves the certificate', async () => {
    const app = await backend('app')
    const d = await daemon(config(storageDir(), app.url, { workers: 2 }), LOCAL)
    const line = await d.waitForLog((l) => l.msg === 'ACME certificate issued', ISSUE_TIMEOUT_MS)
    // New connections spread over both workers (the OS's round robin): each one verifies.
    const serials = new Set<string>()
    for (let i = 0; i < 6; i++) {
      const seen = await get(d.port('web'))
      expect(seen.status).toBe(200)
      serials.add(serialOf(seen.serial))
    }
    expect([...serials]).toEqual([serialOf(String(line.serial))])
    expect(issued(d)).toHaveLength(1)
    expect(seriesValue(await scrape(d.adminUrl()), 'switchyard_acme_orders_total', { listener: 'web', result: 'success' })).toBe(1)
  }, 60_000)
})

if (!havePebble) console.warn(`skipped: ${missingToolMessage('pebble', 'pebble')}`)
