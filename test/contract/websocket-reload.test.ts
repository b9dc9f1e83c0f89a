// Issue #16 item 8, contract section 7: open WebSockets survive a reload while their server
// stays in the config (one process and two workers alike), switchyard_websocket_connections
// stays exact across reloads, and the tunnels of a removed server close after
// shutdown_timeout.
import { describe, expect, it } from 'vitest'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { writeFileSync } from 'node:fs'
import { WebSocket, WebSocketServer, type RawData } from 'ws'
import { closeAfterEach } from '../helpers/scope.js'
import { oneUpstream } from '../helpers/config.js'
import { until } from '../helpers/client.js'
import { scrape, seriesValue } from '../helpers/metrics.js'
import type { RunningDaemon } from '../helpers/daemon.js'

const { daemon, defer } = closeAfterEach()

/** A ws server that answers each message with "<name>:<message>". */
async function echoBackend(name: string): Promise<{ url: string; port: number }> {
  const server = http.createServer((_req, res) => res.end(name))
  const wss = new WebSocketServer({ server })
  wss.on('connection', (ws) => ws.on('message', (data: RawData) => ws.send(`${name}:${(data as Buffer).toString()}`)))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  defer({ close: () => new Promise<void>((r) => { for (const c of wss.clients) c.terminate(); wss.close(); server.closeAllConnections(); server.close(() => r()) }) })
  return { url: `http://127.0.0.1:${port}`, port }
}

function connect(port: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`)
    ws.once('open', () => resolve(ws))
    ws.once('error', reject)
    defer({ close: async () => ws.terminate() })
  })
}

/** Sends `text`, resolves with the answer (rejects if the socket closes first or after 3 s). */
function roundTrip(ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${text}`)), 3000)
    const onClose = (): void => { clearTimeout(timer); reject(new Error(`closed before answering ${text}`)) }
    ws.once('close', onClose)
    ws.once('message', (data: RawData) => {
      clearTimeout(timer)
      ws.off('close', onClose)
      resolve((data as Buffer).toString())
    })
    ws.send(text)
  })
}


const gauge = async (d: RunningDaemon): Promise<number | undefined> =>
  seriesValue(await scrape(d.adminUrl()), 'switchyard_websocket_connections', { upstream: 'app' })

describe.each([1, 2])('WebSockets across reloads, workers: %i', (workers) => {
  it('three reloads: the tunnels keep exchanging messages, the gauge stays exact', async () => {
    const a = await echoBackend('a')
    const extra = await Promise.all([echoBackend('b1'), echoBackend('b2'), echoBackend('b3')])
    const top = `workers: ${workers}`
    const d = await daemon(oneUpstream([a.url, extra[0]!.url], 'balance: least_connections', top))
    // least_connections: the two tunnels go to different servers only if both take them; keep
    // both on a, which stays: the other server is removed by the first reload.
    const yamlWith = (servers: string[]): string => oneUpstream(servers, 'balance: least_connections', top)
    writeFileSync(d.file, yamlWith([a.url]))
    await reloadApplied(d, workers, `127.0.0.1:${extra[0]!.port}`)
    const sockets = [await connect(d.port()), await connect(d.port())]
    for (const [i, ws] of sockets.entries()) expect(await roundTrip(ws, `before ${i}`)).toBe(`a:before ${i}`)
    expect(await until('gauge 2', () => gauge(d), (v) => v === 2)).toBe(2)

    // Each reload adds a server, then the next removes it: the tunnels' server a stays throughout.
    for (const [r, b] of extra.entries()) {
      writeFileSync(d.file, yamlWith([a.url, b.url]))
      const reloaded = d.logs.filter((l) => l.msg === 'config reloaded').length
      d.proc.kill('SIGHUP')
      const during = sockets.map((ws, i) => roundTrip(ws, `during ${r} ${i}`)) // in flight while the config swaps
      expect(await Promise.all(during)).toEqual([`a:during ${r} 0`, `a:during ${r} 1`])
      // The file is read before the next one is written (else both signals could read the second).
      await until('config reloaded', async () => d.logs.filter((l) => l.msg === 'config reloaded').length, (n) => n > reloaded)
      writeFileSync(d.file, yamlWith([a.url]))
      await reloadApplied(d, workers, `127.0.0.1:${b.port}`)
      for (const [i, ws] of sockets.entries()) expect(await roundTrip(ws, `after ${r} ${i}`)).toBe(`a:after ${r} ${i}`)
      expect(await gauge(d)).toBe(2) // not reset by the new config, not counted twice
    }
    const reloads = seriesValue(await scrape(d.adminUrl()), 'switchyard_config_reloads_total', { result: 'success' })
    expect(reloads).toBeGreaterThanOrEqual(4) // coalesced SIGHUPs may count once

    sockets[0]!.close()
    expect(await until('gauge 1', () => gauge(d), (v) => v === 1)).toBe(1)
    sockets[1]!.close()
    expect(await until('gauge 0', () => gauge(d), (v) => v === 0)).toBe(0)
  })
})

/**
 * Sends SIGHUP and waits until every worker (or the single process) has swapped configs: each
 * one logs 'server removed: draining' for `removed`, which the new config no longer has.
 */
async function reloadApplied(d: RunningDaemon, workers: number, removed: string): Promise<void> {
  const seen = (): number => d.logs.filter((l) => l.msg === 'server removed: draining' && l.server === removed).length
  d.proc.kill('SIGHUP')
  await until(`${workers} drain lines for ${removed}`, async () => seen(), (n) => n >= workers)
}

describe('a removed server\'s tunnels', () => {
  it('stay open after the reload, then close after shutdown_timeout; new tunnels go to the servers left', async () => {
    const [a, b] = [await echoBackend('a'), await echoBackend('b')]
    const top = 'shutdown_timeout: 1s'
    const d = await daemon(oneUpstream([b.url], '', top))
    const ws = await connect(d.port())
    expect(await roundTrip(ws, 'hello')).toBe('b:hello')
    const closed = new Promise<number>((resolve) => ws.once('close', () => resolve(Date.now())))

    writeFileSync(d.file, oneUpstream([a.url], '', top))
    await reloadApplied(d, 1, `127.0.0.1:${b.port}`)
    const removedAt = Number(d.logs.find((l) => l.msg === 'server removed: draining')?.time) // when the daemon retired it
    expect(await roundTrip(ws, 'still there')).toBe('b:still there') // the reload did not cut it
    const fresh = await connect(d.port())
    expect(await roundTrip(fresh, 'new')).toBe('a:new')
    expect(await gauge(d)).toBe(2)

    const at = await closed
    expect(at - removedAt).toBeGreaterThanOrEqual(900) // shutdown_timeout 1 s, not at once
    expect(at - removedAt).toBeLessThan(3000)
    await d.waitForLog((l) => l.msg === 'removed server: shutdown_timeout reached, closing its open tunnels' && l.server === `127.0.0.1:${b.port}`)
    await d.waitForLog((l) => l.msg === 'server drained: pool closed' && l.server === `127.0.0.1:${b.port}`)
    expect(await until('gauge 1', () => gauge(d), (v) => v === 1)).toBe(1)
    expect(await roundTrip(fresh, 'after')).toBe('a:after')
  })
})
