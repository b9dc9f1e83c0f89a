// A real ACME server for tests: Debian's `pebble` (Let's Encrypt's test CA), with
// `pebble-challtestsrv` from the same package as its DNS server, so that any name resolves
// to 127.0.0.1 (pebble validates HTTP-01 by fetching http://<domain>:<httpPort>/...).
// - Debian ships no test certificate for pebble's own HTTPS directory: the helper makes a
//   CA (test-ca.ts) and a certificate for 127.0.0.1; `caFile` is what switchyard's
//   `tls.acme.ca_file` names.
// - `httpPort` is where pebble sends HTTP-01 requests: the daemon's plain listener must be
//   bound there (the caller picks a free port first).
// - PEBBLE_VA_NOSLEEP=1 (no random validation delay), PEBBLE_WFE_NONCEREJECT=0 (no bad-nonce
//   errors on purpose), PEBBLE_VA_ALWAYS_VALID=0 (challenges really are fetched),
//   PEBBLE_AUTHZREUSE=0 (each order proves its names again: a renewal is a full order).
// - challtestsrv answers AAAA with nothing (-defaultIPv6 ""): the daemon listens on IPv4.
// - `root()` is pebble's root CA (regenerated at each start) from its management port: what
//   a client trusts to verify the certificates pebble issues.
import { spawn, type ChildProcess } from 'node:child_process'
import https from 'node:https'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { makeTestCa } from './test-ca.js'
import { freePort } from './prometheus.js'

export interface Pebble {
  /** https://127.0.0.1:<port>/dir */
  readonly directory: string
  /** PEM file of the CA that signs pebble's HTTPS certificate (tls.acme.ca_file). */
  readonly caFile: string
  /** Pebble's root CA certificate (PEM): issued certificates verify against it. */
  root(): Promise<string>
  /** pebble's output so far (for failure messages). */
  readonly output: string[]
  close(): Promise<void>
}

export interface PebbleOptions {
  /** The port pebble connects to for HTTP-01. */
  readonly httpPort: number
  /** Lifetime of issued certificates, in seconds. */
  readonly validitySeconds?: number
}

export async function startPebble(options: PebbleOptions): Promise<Pebble> {
  const ca = makeTestCa('pebble test CA')
  const served = ca.issue('pebble', ['localhost', 'IP:127.0.0.1'])
  const [acmePort, managementPort, dnsPort, challtestPort] = [await freePort(), await freePort(), await freePort(), await freePort()]
  const configFile = join(ca.dir, 'pebble-config.json')
  writeFileSync(configFile, JSON.stringify({
    pebble: {
      listenAddress: `127.0.0.1:${acmePort}`,
      managementListenAddress: `127.0.0.1:${managementPort}`,
      certificate: served.cert,
      privateKey: served.key,
      httpPort: options.httpPort,
      tlsPort: 0,
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
      ...(options.validitySeconds === undefined ? {} : { certificateValidityPeriod: options.validitySeconds }),
    },
  }))
  const output: string[] = []
  const procs: ChildProcess[] = []
  const close = async (): Promise<void> => {
    await Promise.all(procs.map((p) => (p.exitCode !== null || p.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((r) => { p.once('exit', () => r()); p.kill('SIGTERM') }))))
  }
  try {
    const dns = spawn('pebble-challtestsrv', ['-dns01', `127.0.0.1:${dnsPort}`, '-http01', '', '-https01', '', '-tlsalpn01', '',
      '-management', `127.0.0.1:${challtestPort}`, '-defaultIPv4', '127.0.0.1', '-defaultIPv6', ''], { stdio: ['ignore', 'pipe', 'pipe'] })
    procs.push(dns)
    await waitForLine(dns, /Starting management server/, output)
    const pebble = spawn('pebble', ['-config', configFile, '-dnsserver', `127.0.0.1:${dnsPort}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_VA_ALWAYS_VALID: '0', PEBBLE_AUTHZREUSE: '0' },
    })
    procs.push(pebble)
    await waitForLine(pebble, /[Ll]istening on/, output)
  } catch (err) {
    await close()
    throw err
  }
  const caPem = ca.read(ca.ca.cert)
  return {
    directory: `https://127.0.0.1:${acmePort}/dir`,
    caFile: ca.ca.cert,
    output,
    root: () => new Promise((resolve, reject) => {
      https.get(`https://127.0.0.1:${managementPort}/roots/0`, { ca: caPem, timeout: 5_000 }, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (d: string) => { body += d })
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`pebble /roots/0 answered ${res.statusCode}: ${body}`))))
      }).on('error', reject)
    }),
    close,
  }
}

/** Resolves when the process prints a line matching `re` (stdout or stderr), within 10 s. */
function waitForLine(proc: ChildProcess, re: RegExp, output: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${proc.spawnfile} did not start within 10s: ${output.join('\n')}`)), 10_000)
    const onData = (d: Buffer): void => {
      const text = d.toString()
      output.push(...text.split('\n').filter((l) => l !== ''))
      if (re.test(text)) {
        clearTimeout(timer)
        resolve()
      }
    }
    proc.stdout!.on('data', onData)
    proc.stderr!.on('data', onData)
    proc.once('error', (err) => { clearTimeout(timer); reject(err) })
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${proc.spawnfile} exited with ${code}: ${output.join('\n')}`)) })
  })
}
