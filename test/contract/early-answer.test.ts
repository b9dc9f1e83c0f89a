// A server may answer before it has read the request body (a 413 from the app, an auth
// failure, nginx's `return 200`). The client's connection must carry on: the rest of the
// body is read and discarded, and the next upload on the same connection is answered.
import { describe, expect, it } from 'vitest'
import http from 'node:http'
import type { Socket } from 'node:net'
import { closeAfterEach } from '../helpers/scope.js'
import { oneUpstream } from '../helpers/config.js'

const UPLOAD = Buffer.alloc(8 * 1024 * 1024, 97)
const ROUNDS = 5

/** Sends ROUNDS uploads one after another through one keep-alive socket; statuses and sockets used. */
async function uploads(url: string): Promise<{ statuses: number[]; sockets: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const sockets = new Set<Socket>()
  const statuses: number[] = []
  try {
    for (let i = 0; i < ROUNDS; i++) {
      statuses.push(await new Promise<number>((resolve, reject) => {
        const req = http.request(url, { method: 'POST', agent, headers: { 'content-length': String(UPLOAD.length) } }, (res) => {
          sockets.add(res.socket)
          res.resume()
          res.on('end', () => resolve(res.statusCode ?? 0))
        })
        req.setTimeout(10_000, () => req.destroy(new Error(`upload ${i} got no answer within 10 s`)))
        req.on('error', reject)
        req.end(UPLOAD)
      }))
    }
  } finally {
    agent.destroy()
  }
  return { statuses, sockets: sockets.size }
}

describe('a server that answers before reading the body', () => {
  const scope = closeAfterEach()

  it.each([200, 413])('answers %i to each of 5 uploads of 8 MiB on one client connection', async (status) => {
    let seen = 0
    const backend = await scope.backend('early', (_req, res) => {
      seen++
      res.writeHead(status, { 'content-type': 'text/plain' })
      res.end('early\n')
    })
    const daemon = await scope.daemon(oneUpstream([backend.url]))
    const got = await uploads(daemon.url('/upload'))
    expect(got.statuses).toEqual(Array(ROUNDS).fill(status))
    expect(got.sockets).toBe(1)
    expect(seen).toBe(ROUNDS)
  }, 60_000)
})
