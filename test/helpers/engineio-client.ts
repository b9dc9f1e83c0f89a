// A Socket.IO client's traffic, as the real ones (socket.io-client, python-socketio) make
// it over Engine.IO v4: the polling handshake, connecting the namespace (POST `40`), polls,
// an event sent and received back, then the upgrade to WebSocket with its probe. Each
// request on a fresh connection from `localAddress` (a different client address per
// session for ip_hash: all of 127.0.0.0/8 is loopback on Linux), and, when `cookies` is
// set, with the cookies the responses set so far, like a browser.
import http from 'node:http'
import { WebSocket } from 'ws'

export interface SessionResult {
  /** The step that failed ('' when the session worked to the end), and why. */
  readonly failedAt: string
  readonly why: string
  /** `x-backend` of each answer, in order. */
  readonly backends: string[]
  /** Every Set-Cookie header received, in order. */
  readonly setCookies: string[]
}

interface Options {
  readonly localAddress?: string
  readonly cookies?: boolean
  readonly timeoutMs?: number
}

export async function socketIoSession(base: string, opts: Options = {}): Promise<SessionResult> {
  const jar = new Map<string, string>()
  const backends: string[] = []
  const setCookies: string[] = []
  const timeoutMs = opts.timeoutMs ?? 3000
  const path = (sid: string | null): string => `/socket.io/?EIO=4&transport=polling&t=${Date.now().toString(36)}${sid === null ? '' : `&sid=${encodeURIComponent(sid)}`}`
  const cookieHeader = (): Record<string, string> => (opts.cookies === true && jar.size > 0 ? { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } : {})

  const send = (method: string, p: string, body?: string): Promise<{ status: number; body: string }> => new Promise((resolve, reject) => {
    const req = http.request(`${base}${p}`, {
      method,
      agent: false,
      localAddress: opts.localAddress,
      timeout: timeoutMs,
      headers: { ...cookieHeader(), ...(body === undefined ? {} : { 'content-type': 'text/plain;charset=UTF-8' }) },
    }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (text += c))
      res.on('end', () => {
        backends.push(String(res.headers['x-backend'] ?? ''))
        for (const c of res.headers['set-cookie'] ?? []) {
          setCookies.push(c)
          const pair = c.split(';')[0] as string
          const eq = pair.indexOf('=')
          if (eq > 0) jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim())
        }
        resolve({ status: res.statusCode ?? 0, body: text })
      })
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`${method} ${p}: no answer in ${timeoutMs} ms`)))
    req.on('error', reject)
    req.end(body)
  })

  const result = (failedAt: string, why: string): SessionResult => ({ failedAt, why, backends, setCookies })
  const step = async (name: string, method: string, p: string, body: string | undefined, ok: (r: { status: number; body: string }) => boolean): Promise<{ status: number; body: string } | string> => {
    const r = await send(method, p, body)
    return r.status === 200 && ok(r) ? r : `${name}: ${r.status} ${r.body.slice(0, 80)}`
  }

  const open = await step('handshake', 'GET', path(null), undefined, (r) => r.body.startsWith('0{'))
  if (typeof open === 'string') return result('handshake', open)
  const sid = (JSON.parse(open.body.slice(1)) as { sid: string }).sid
  const steps: [string, string, string | undefined, (r: { body: string }) => boolean][] = [
    ['connect namespace', 'POST', '40', (r) => r.body === 'ok'],
    ['first poll', 'GET', undefined, (r) => r.body.startsWith('40{')],
    ['emit', 'POST', '42["echo","hello"]', (r) => r.body === 'ok'],
    ['poll for the echo', 'GET', undefined, (r) => r.body === '42["echo","hello"]'],
    ['idle poll', 'GET', undefined, (r) => r.body === '6'],
  ]
  for (const [name, method, body, ok] of steps) {
    const r = await step(name, method, path(sid), body, ok)
    if (typeof r === 'string') return result(name, r)
  }

  // The upgrade, with the same cookies, from the same address.
  const why = await new Promise<string>((resolve) => {
    const ws = new WebSocket(`${base.replace('http:', 'ws:')}/socket.io/?EIO=4&transport=websocket&sid=${encodeURIComponent(sid)}`, {
      headers: cookieHeader(),
      localAddress: opts.localAddress,
      handshakeTimeout: timeoutMs,
    })
    const done = (w: string): void => {
      ws.terminate()
      resolve(w)
    }
    ws.on('upgrade', (res) => {
      for (const c of res.headers['set-cookie'] ?? []) setCookies.push(c)
    })
    ws.on('unexpected-response', (_req, res) => done(`upgrade refused: ${res.statusCode ?? 0}`))
    ws.on('error', (err) => done(`upgrade failed: ${err.message}`))
    ws.on('open', () => ws.send('2probe'))
    ws.on('message', (data) => done(data.toString() === '3probe' ? '' : `probe answered ${data.toString()}`))
  })
  return why === '' ? result('', '') : result('upgrade', why)
}
