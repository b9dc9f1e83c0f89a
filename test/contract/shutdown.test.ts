// docs/operations.md#lifecycle (the part the core needs): SIGTERM drains in-flight requests and exits 0.
import { describe, expect, it } from 'vitest'
import http from 'node:http'
import { startBackend } from '../helpers/backends.js'
import { startDaemon } from '../helpers/daemon.js'
import { oneUpstream } from '../helpers/config.js'
import { request, sleep } from '../helpers/client.js'

describe('graceful shutdown', () => {
  it('finishes the in-flight request, closes kept-alive connections, exits 0', async () => {
    const slow = await startBackend('slow', (_req, res) => { setTimeout(() => res.end('done'), 600) })
    const d = await startDaemon(oneUpstream([slow.url]))
    const agent = new http.Agent({ keepAlive: true })
    try {
      const idle = await request(d.url('/warm'), { agent }) // leaves an idle keep-alive connection
      expect(idle.status).toBe(200)
      const inFlight = request(d.url('/slow'), { agent })
      await sleep(150)
      const t0 = Date.now()
      const exited = d.stop('SIGTERM')
      const r = await inFlight
      expect(r.status).toBe(200)
      expect(r.body).toBe('done')
      expect(r.headers.connection).toBe('close')
      expect(await exited).toBe(0)
      expect(Date.now() - t0).toBeLessThan(5000) // not the 30 s shutdown_timeout, nor keep-alive's 75 s
      await expect(request(d.url('/after'))).rejects.toThrow(/ECONNREFUSED/)
    } finally {
      agent.destroy()
      await slow.close()
    }
  })

  it('cuts what is still running at shutdown_timeout, then exits 0', async () => {
    const stuck = await startBackend('stuck', () => { /* never answers */ })
    const d = await startDaemon(oneUpstream([stuck.url], '', 'shutdown_timeout: 300ms'))
    try {
      const pending = request(d.url('/stuck')).then((r) => r.status, (e: Error) => e.message)
      await sleep(100)
      const t0 = Date.now()
      expect(await d.stop('SIGTERM')).toBe(0)
      expect(Date.now() - t0).toBeLessThan(3000)
      expect(await pending).toMatch(/socket hang up|ECONNRESET/)
    } finally {
      await stuck.close()
    }
  })

  it('a second signal exits at once', async () => {
    const stuck = await startBackend('stuck', () => { /* never answers */ })
    const d = await startDaemon(oneUpstream([stuck.url], '', 'shutdown_timeout: 30s'))
    try {
      const pending = request(d.url('/stuck')).catch(() => null)
      await sleep(100)
      d.proc.kill('SIGTERM')
      await d.waitForLog((l) => l.msg === 'shutting down: draining in-flight requests')
      const t0 = Date.now()
      d.proc.kill('SIGINT')
      expect(await d.exited).toBe(1)
      expect(Date.now() - t0).toBeLessThan(2000)
      await pending
    } finally {
      await stuck.close()
    }
  })

  it('a connection that never sent a byte does not hold up the drain', async () => {
    const b = await startBackend('b')
    const d = await startDaemon(oneUpstream([b.url]))
    const net = await import('node:net')
    const silent = net.connect(d.port(), '127.0.0.1')
    silent.on('error', () => {})
    try {
      await new Promise((r) => silent.once('connect', r))
      const t0 = Date.now()
      expect(await d.stop('SIGTERM')).toBe(0)
      expect(Date.now() - t0).toBeLessThan(2000) // not request_head (10 s) nor shutdown_timeout (30 s)
    } finally {
      silent.destroy()
      await b.close()
    }
  })
})
