// Slow clients in front of a gunicorn-like app (issue #16): a backend with 2 sync workers
// (backends/sync-workers.mjs), a fast GET every 100 ms (open loop: latency from the intended
// send time, a fresh connection each), first with no other traffic, then with 4 clients
// uploading 1 MiB at 50 KB/s (a new upload as soon as one ends). Printed: the fast GET's p50
// and p99 in both phases and the p99 ratio, for switchyard with buffering off, with request
// and response buffering on, and nginx (its defaults buffer both) from PATH. The goal of
// issue #16: with buffering, the p99 under slow uploads within 2x of the p99 without them.
// A standalone script, not a run.mjs scenario (its load is not wrk's). About 30 s with the
// defaults; figures only on a quiet machine.
//
//   npm run build && node bench/slow-clients.mjs
//   DURATION=4 TARGETS=switchyard-off,switchyard-on,nginx PORT_BASE=9400 node bench/slow-clients.mjs
import http from 'node:http'
import { performance } from 'node:perf_hooks'
import { mkdirSync, mkdtempSync, openSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { assertFree, hasCommand, start, stop, waitForPort } from './proc.mjs'
import { nginxProxyConf } from './conf.mjs'
import { percentile, sortNum } from './load/stats.mjs'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const DURATION = Number(process.env.DURATION ?? 4) // seconds per phase
const PORT_BASE = Number(process.env.PORT_BASE ?? 9400)
const BACKEND_PORT = PORT_BASE + 1
const PROXY_PORT = PORT_BASE + 10
const TARGETS = (process.env.TARGETS ?? 'switchyard-off,switchyard-on,nginx').split(',').map((s) => s.trim()).filter(Boolean)
const RUN_DIR = process.env.RUN_DIR ?? mkdtempSync(path.join(tmpdir(), 'switchyard-slow-clients-'))
const FAST_EVERY_MS = 100
const FAST_TIMEOUT_MS = 5_000 // a fast GET that waits longer counts as failed, at this latency
const UPLOADERS = 4
const UPLOAD_BYTES = 1024 * 1024
const UPLOAD_RATE = 50 * 1024 // bytes per second
const UPLOAD_TICK_MS = 100

mkdirSync(RUN_DIR, { recursive: true })
const log = { fd: openSync(path.join(RUN_DIR, 'bench.log'), 'a'), write(d) { writeFileSync(this.fd, d) } }

const SPOOL = path.join(RUN_DIR, 'spool')
mkdirSync(SPOOL, { recursive: true })

function switchyardYaml(buffering) {
  return `listeners: [{ address: 127.0.0.1, port: ${PROXY_PORT} }]
admin: { port: 0 }
log: { level: warn, access_log: false }
upstreams:
  app:
    servers: [{ url: "http://127.0.0.1:${BACKEND_PORT}" }]
    timeouts: { response_headers: 60s }
${buffering ? `    buffering: { request: true, response: true, temp_dir: ${SPOOL} }\n` : ''}`
}

function startProxy(name) {
  const dir = path.join(RUN_DIR, name)
  mkdirSync(dir, { recursive: true })
  if (name === 'nginx') {
    const f = path.join(dir, 'nginx.conf')
    // nginx's defaults: proxy_request_buffering on, proxy_buffering on (temp files under the prefix).
    writeFileSync(f, nginxProxyConf({ port: PROXY_PORT, backends: [BACKEND_PORT], fragments: [{ server: 'proxy_read_timeout 60s;' }] }))
    return start(['nginx', '-p', `${dir}/`, '-c', f, '-e', `${dir}/error.log`], { cpu: 1, log })
  }
  const f = path.join(dir, 'switchyard.yaml')
  writeFileSync(f, switchyardYaml(name === 'switchyard-on'))
  return start([process.execPath, path.resolve(HERE, '../dist/cli.js'), '--config', f], { cpu: 1, log, stdout: 'ignore' })
}

/** One fast GET; resolves with its latency in ms from `due` (FAST_TIMEOUT_MS when it never answered). */
function fastGet(due) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port: PROXY_PORT, path: '/fast', agent: false }, (res) => {
      res.resume()
      res.on('end', () => resolve({ ms: performance.now() - due, ok: res.statusCode === 200 }))
    })
    req.setTimeout(FAST_TIMEOUT_MS, () => req.destroy())
    req.on('error', () => resolve({ ms: Math.max(performance.now() - due, FAST_TIMEOUT_MS), ok: false }))
  })
}

/** A fast GET every FAST_EVERY_MS for `seconds` (open loop); resolves with the results once all have ended. */
async function fastLoop(seconds) {
  const started = performance.now()
  const pending = []
  for (let i = 0; i < (seconds * 1000) / FAST_EVERY_MS; i++) {
    const due = started + i * FAST_EVERY_MS
    const wait = due - performance.now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    pending.push(fastGet(due))
  }
  return Promise.all(pending)
}

/** UPLOADERS clients, each uploading UPLOAD_BYTES at UPLOAD_RATE, again and again until stopped. */
function slowUploaders() {
  let stopped = false
  const live = new Set()
  const upload = () => {
    if (stopped) return
    const req = http.request({ host: '127.0.0.1', port: PROXY_PORT, path: '/upload', method: 'POST', agent: false, headers: { 'content-length': UPLOAD_BYTES } })
    live.add(req)
    let sent = 0
    const piece = Buffer.alloc((UPLOAD_RATE * UPLOAD_TICK_MS) / 1000, 97)
    const timer = setInterval(() => {
      const n = Math.min(piece.length, UPLOAD_BYTES - sent)
      sent += n
      if (sent >= UPLOAD_BYTES) {
        clearInterval(timer)
        req.end(piece.subarray(0, n))
      } else req.write(piece.subarray(0, n))
    }, UPLOAD_TICK_MS)
    const again = () => {
      clearInterval(timer)
      live.delete(req)
      upload()
    }
    req.on('response', (res) => { res.resume(); res.on('end', again) })
    req.on('error', again)
  }
  for (let i = 0; i < UPLOADERS; i++) upload()
  return () => {
    stopped = true
    for (const req of live) req.destroy()
  }
}

function summary(results) {
  const sorted = sortNum(results.map((r) => r.ms))
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), failed: results.filter((r) => !r.ok).length, n: results.length }
}

const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`)

async function main() {
  await assertFree([BACKEND_PORT, PROXY_PORT])
  const rows = []
  for (const name of TARGETS) {
    if (name === 'nginx' && !hasCommand('nginx')) {
      console.log('nginx: not installed, skipped')
      continue
    }
    if (!['switchyard-off', 'switchyard-on', 'nginx'].includes(name)) throw new Error(`unknown target ${name} (switchyard-off, switchyard-on, nginx)`)
    // A fresh backend per target: workers stuck behind the previous target's uploads do not carry over.
    const backend = start([process.execPath, path.join(HERE, 'backends/sync-workers.mjs'), String(BACKEND_PORT), '2'], { cpu: 0, log })
    const proxy = startProxy(name)
    try {
      await waitForPort(BACKEND_PORT)
      await waitForPort(PROXY_PORT)
      await fastLoop(0.5) // warm up
      const quiet = summary(await fastLoop(DURATION))
      const stopUploads = slowUploaders()
      await new Promise((r) => setTimeout(r, 500)) // the uploads are under way
      const loaded = summary(await fastLoop(DURATION))
      stopUploads()
      rows.push({ name, quiet, loaded })
      console.log(`${name}: done`)
    } finally {
      await stop(proxy)
      await stop(backend)
    }
  }
  console.log(`\nfast GET every ${FAST_EVERY_MS} ms to gunicorn-like 2 sync workers; ${DURATION} s per phase; slow: ${UPLOADERS} clients uploading 1 MiB at 50 KB/s\n`)
  console.log('| target | p50 alone | p99 alone | p50 with slow uploads | p99 with slow uploads | p99 ratio | failed (alone / slow) |')
  console.log('|---|---|---|---|---|---|---|')
  for (const { name, quiet, loaded } of rows) {
    console.log(`| ${name} | ${fmt(quiet.p50)} | ${fmt(quiet.p99)} | ${fmt(loaded.p50)} | ${fmt(loaded.p99)} | ${(loaded.p99 / quiet.p99).toFixed(1)}x | ${quiet.failed}/${quiet.n} / ${loaded.failed}/${loaded.n} |`)
  }
  console.log(`\nlatencies capped at ${FAST_TIMEOUT_MS / 1000} s (failed); temp files left in ${SPOOL}: ${readdirSync(SPOOL).length}; logs: ${RUN_DIR}/bench.log`)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
