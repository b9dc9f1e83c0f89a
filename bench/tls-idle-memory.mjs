// Memory per idle TLS connection: starts the daemon with one HTTPS listener (a self-signed
// certificate, bench/tls.mjs), opens N TLS connections that complete their handshake (and,
// with H2=1, an h2 session each) and then stay silent, and prints the daemon's RSS delta / N.
//   node bench/tls-idle-memory.mjs            N=2000 PORT=9480 H2=0
// A smoke run: N=200. Needs the build (dist/).
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import http2 from 'node:http2'
import { tmpdir } from 'node:os'
import path from 'node:path'
import tls from 'node:tls'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { waitForPort, rssMiB, stop } from './proc.mjs'
import { benchCertificate } from './tls.mjs'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const N = Number(process.env.N ?? 2000)
const PORT = Number(process.env.PORT ?? 9480)
const H2 = process.env.H2 === '1'

const dir = mkdtempSync(path.join(tmpdir(), 'switchyard-tls-idle-'))
const { cert, key } = benchCertificate(dir)
const file = path.join(dir, 'switchyard.yaml')
writeFileSync(file, `listeners:
  - address: 127.0.0.1
    port: ${PORT}
    timeouts: { keep_alive: 10m, request_head: 10m, request: 10m }
    tls:
      certificates: [{ cert_file: ${cert}, key_file: ${key} }]
admin: { port: 0 }
log: { level: warn }
upstreams:
  app:
    servers: [{ url: "http://127.0.0.1:9" }]
`)
const daemon = spawn(process.execPath, [path.resolve(HERE, '../dist/cli.js'), '--config', file], { stdio: ['ignore', 'ignore', 'inherit'] })
const held = []
try {
  await waitForPort(PORT)
  await sleep(500)
  const before = rssMiB(daemon.pid)
  const ca = readFileSync(cert)
  for (let i = 0; i < N; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, N - i) }, () => new Promise((resolve, reject) => {
      if (H2) {
        const s = http2.connect(`https://127.0.0.1:${PORT}`, { ca, servername: 'localhost' })
        s.once('connect', () => { held.push(s); resolve() })
        s.once('error', reject)
      } else {
        const s = tls.connect({ host: '127.0.0.1', port: PORT, ca, servername: 'localhost', ALPNProtocols: ['http/1.1'] }, () => { held.push(s); resolve() })
        s.once('error', reject)
      }
    })))
  }
  await sleep(1000) // the daemon settles: RSS with the connections held
  const after = rssMiB(daemon.pid)
  console.log(JSON.stringify({ connections: held.length, h2: H2, rss_before_mib: before, rss_after_mib: after, kib_per_connection: Math.round(((after - before) * 1024 / held.length) * 10) / 10 }))
} finally {
  for (const s of held) s.destroy()
  await stop(daemon)
}
