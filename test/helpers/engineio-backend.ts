// Just enough of an Engine.IO v4 server (the transport under Socket.IO) to show why a
// Socket.IO app behind a balancer needs affinity: sessions live in one process's memory.
// Like python-socketio (Flask-SocketIO) with its defaults:
// - GET  /socket.io/?EIO=4&transport=polling          -> 200 `0{"sid":...}` (the open packet; no cookie set)
// - POST /socket.io/?EIO=4&transport=polling&sid=SID  -> "ok"; `40` connects the default namespace,
//                                                        `42[...]` is an event (echoed back here)
// - GET  /socket.io/?EIO=4&transport=polling&sid=SID  -> the packets queued for the session
//                                                        (separated by \x1e), or a noop `6`
// - GET  /socket.io/?EIO=4&transport=websocket&sid=SID (upgrade) -> the WebSocket; `2probe` -> `3probe`
// A sid this process does not know gets 400 {"code":1,"message":"Session ID unknown"},
// for polls and upgrades alike. Plain HTTP on 127.0.0.1, port 0, and the real `ws` library.
import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { randomBytes } from 'node:crypto'
import { WebSocketServer } from 'ws'

export interface EngineIoBackend {
  readonly name: string
  readonly url: string
  /** Handshakes this process answered; requests it refused with "Session ID unknown". */
  readonly counts: { handshakes: number; unknown: number; requests: number }
  close(): Promise<void>
}

const UNKNOWN = JSON.stringify({ code: 1, message: 'Session ID unknown' })

export async function startEngineIoBackend(name: string): Promise<EngineIoBackend> {
  const sessions = new Map<string, string[]>() // sid -> packets waiting for the next poll
  const counts = { handshakes: 0, unknown: 0, requests: 0 }
  const server = http.createServer((req, res) => {
    counts.requests++
    const url = new URL(req.url ?? '/', 'http://x')
    if (url.pathname !== '/socket.io/') {
      res.writeHead(200, { 'content-type': 'text/plain', 'set-cookie': 'app=1; Path=/' }).end(name)
      return
    }
    if (url.searchParams.get('EIO') !== '4' || url.searchParams.get('transport') !== 'polling') {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 0, message: 'Transport unknown' }))
      return
    }
    const sid = url.searchParams.get('sid')
    if (sid === null) {
      if (req.method !== 'GET') {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 2, message: 'Bad handshake method' }))
        return
      }
      const id = randomBytes(15).toString('base64url')
      sessions.set(id, [])
      counts.handshakes++
      res.writeHead(200, { 'content-type': 'text/plain; charset=UTF-8', 'x-backend': name })
      res.end(`0${JSON.stringify({ sid: id, upgrades: ['websocket'], pingInterval: 25000, pingTimeout: 20000, maxPayload: 1000000 })}`)
      return
    }
    const queue = sessions.get(sid)
    if (queue === undefined) {
      counts.unknown++
      res.writeHead(400, { 'content-type': 'application/json', 'x-backend': name }).end(UNKNOWN)
      return
    }
    if (req.method === 'POST') {
      let body = ''
      req.setEncoding('utf8')
      req.on('data', (c: string) => (body += c))
      req.on('end', () => {
        for (const packet of body.split('\x1e')) {
          if (packet === '40') queue.push(`40${JSON.stringify({ sid: randomBytes(15).toString('base64url') })}`)
          else if (packet.startsWith('42')) queue.push(packet)
        }
        res.writeHead(200, { 'content-type': 'text/html', 'x-backend': name }).end('ok')
      })
      return
    }
    const packets = queue.splice(0)
    res.writeHead(200, { 'content-type': 'text/plain; charset=UTF-8', 'x-backend': name }).end(packets.length === 0 ? '6' : packets.join('\x1e'))
  })
  const wss = new WebSocketServer({ noServer: true })
  server.on('upgrade', (req, socket: Socket, head) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const sid = url.searchParams.get('sid')
    if (url.searchParams.get('transport') !== 'websocket' || sid === null || !sessions.has(sid)) {
      counts.unknown++
      socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${UNKNOWN.length}\r\nConnection: close\r\n\r\n${UNKNOWN}`)
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data) => {
        if (data.toString() === '2probe') ws.send('3probe')
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    counts,
    close: () => new Promise<void>((resolve) => {
      for (const ws of wss.clients) ws.terminate()
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}
