// A streamed body's memory is bounded by a few high-water marks whatever its size (issue #20,
// item 2): a 64 MiB upload (Content-Length and chunked) and a 64 MiB download through the
// daemon, sent and read as fast as the loopback allows, raise its resident memory (sampled
// every 100 ms from /proc, and once more at the end) by less than 16 MiB over its idle size.
// Buffering a whole body anywhere on the path adds 64 MiB and fails this; so does a lost
// backpressure signal (the fast side outruns the slow one into memory), and so does leaving
// the dead read buffers to V8's external-memory limit (request/body-gc.ts). Measured on
// 2026-12-06: +73 MiB each before body-gc.ts, +0 to +5 MiB with it.
import http from 'node:http'
import { describe, expect, it } from 'vitest'
import { closeAfterEach } from '../helpers/scope.js'
import type { RunningDaemon } from '../helpers/daemon.js'
import { peakAbove, pump, rssMiB } from '../helpers/memory.js'

const { backend, daemon } = closeAfterEach()
const MiB = 1024 * 1024
const SIZE = 64 * MiB
const BOUND_MiB = 16
const CHUNK = Buffer.alloc(64 * 1024, 7)

/** The daemon's peak RSS above `idle` (MiB) while `transfer` runs. */
async function peakDuring(pid: number, idle: number, transfer: () => Promise<void>): Promise<number> {
  return (await peakAbove(pid, idle, transfer)).peak
}

function upload(d: RunningDaemon, chunked: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(d.url('/upload'), { method: 'POST', agent: false, headers: chunked ? {} : { 'content-length': SIZE } }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => { body += c.toString() })
      res.on('end', () => (body === String(SIZE) ? resolve() : reject(new Error(`the backend counted ${body}`))))
    })
    req.on('error', reject)
    pump(req, SIZE, () => CHUNK)
  })
}

function download(d: RunningDaemon): Promise<void> {
  return new Promise((resolve, reject) => {
    http.get(d.url('/download'), { agent: false }, (res) => {
      let n = 0
      res.on('data', (c: Buffer) => { n += c.length })
      res.on('end', () => (n === SIZE ? resolve() : reject(new Error(`got ${n} bytes`))))
      res.on('error', reject)
    }).on('error', reject)
  })
}

describe('memory of a streamed body', () => {
  it(`64 MiB up (Content-Length, chunked) and down: peak RSS < idle + ${BOUND_MiB} MiB`, async () => {
    const app = await backend('app', (req, res) => {
      if (req.method === 'POST') {
        let n = 0
        req.on('data', (c: Buffer) => { n += c.length })
        req.on('end', () => res.end(String(n)))
        return
      }
      if (req.url !== '/download') {
        res.end('small')
        return
      }
      res.writeHead(200, { 'content-length': SIZE })
      pump(res, SIZE, () => CHUNK)
    })
    const d = await daemon(`
listeners: [{ address: 127.0.0.1, port: 0 }]
admin: { port: 0 }
upstreams: { app: { servers: [{ url: "${app.url}" }] } }
`)
    const pid = d.proc.pid as number
    // Warm up every path (code, pools, buffers) with small bodies, then take the idle size.
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => http.get(d.url('/'), { agent: false }, (res) => { res.resume(); res.on('end', resolve) }))
      await new Promise((resolve) => {
        const req = http.request(d.url('/upload'), { method: 'POST', agent: false }, (res) => { res.resume(); res.on('end', resolve) })
        req.end(Buffer.alloc(256 * 1024))
      })
    }
    const idle = rssMiB(pid)
    const grown = {
      contentLength: await peakDuring(pid, idle, () => upload(d, false)),
      chunked: await peakDuring(pid, idle, () => upload(d, true)),
      download: await peakDuring(pid, idle, () => download(d)),
    }
    console.log(`idle ${idle.toFixed(0)} MiB; peak above it: ${Object.entries(grown).map(([k, v]) => `${k} +${v.toFixed(1)}`).join(', ')} MiB`)
    for (const [name, mib] of Object.entries(grown)) expect(mib, name).toBeLessThan(BOUND_MiB)
  })
})
