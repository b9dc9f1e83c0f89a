// A real DNS server for tests, on 127.0.0.1 (UDP and TCP, one port), speaking the wire
// format of RFC 1035 from a zone the test edits as it goes: A, AAAA and SRV records with
// their TTLs; a name not in the zone is NXDOMAIN, a name without records of the asked type
// is NODATA; `failing` answers SERVFAIL, `garbage` a malformed message. An answer over 512 bytes is sent over UDP truncated
// (TC), as real servers do, and in full over TCP, where resolvers then ask (so 1,000
// records arrive). Every query is recorded with its time, so a test can await lookups
// instead of sleeping. stop() closes both sockets (lookups then fail); start() binds the
// same port again.
import dgram from 'node:dgram'
import net from 'node:net'

export interface ARecord { address: string; ttl: number }
export interface SrvRecord { priority: number; weight: number; port: number; target: string; ttl: number }
export interface ZoneEntry { a?: ARecord[]; aaaa?: ARecord[]; srv?: SrvRecord[] }

export const TYPE = { A: 1, AAAA: 28, SRV: 33 } as const

export interface Query { name: string; type: number; at: number; tcp: boolean }

export interface DnsServer {
  readonly port: number
  /** "127.0.0.1:port", as `resolver:` takes it. */
  readonly address: string
  /** name (lower case, no trailing dot) -> records. Edit it at will. */
  readonly zone: Map<string, ZoneEntry>
  readonly queries: Query[]
  /** true: every query gets SERVFAIL. */
  failing: boolean
  /** true: every query gets a malformed answer (its id, then bytes that are no DNS message). */
  garbage: boolean
  /** Resolves with the first query (from now on, or already recorded after `since`) that matches. */
  waitForQuery(pred: (q: Query) => boolean, since?: number, timeoutMs?: number): Promise<Query>
  stop(): Promise<void>
  start(): Promise<void>
  close(): Promise<void>
}

function readName(msg: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = []
  let i = offset
  for (let guard = 0; guard < 128; guard++) {
    const len = msg[i] ?? 0
    if (len === 0) return { name: labels.join('.').toLowerCase(), end: i + 1 }
    labels.push(msg.subarray(i + 1, i + 1 + len).toString('latin1'))
    i += 1 + len
  }
  throw new Error('name too long')
}

function writeName(name: string): Buffer {
  const parts = name.split('.').filter((p) => p !== '').map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'latin1')]))
  return Buffer.concat([...parts, Buffer.from([0])])
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail = ''] = address.split('::')
  const h = head === '' ? [] : head.split(':')
  const t = address.includes('::') ? (tail === '' ? [] : tail.split(':')) : []
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t]
  const b = Buffer.alloc(16)
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2))
  return b
}

function rr(type: number, ttl: number, rdata: Buffer): Buffer {
  const head = Buffer.alloc(12)
  head.writeUInt16BE(0xc00c, 0) // the question's name
  head.writeUInt16BE(type, 2)
  head.writeUInt16BE(1, 4) // IN
  head.writeUInt32BE(ttl, 6)
  head.writeUInt16BE(rdata.length, 10)
  return Buffer.concat([head, rdata])
}

/** The answer to one query message, or null when it cannot be read. */
function answer(msg: Buffer, zone: Map<string, ZoneEntry>, failing: boolean, onQuery: (name: string, type: number) => void): Buffer | null {
  if (msg.length < 12 || msg.readUInt16BE(4) !== 1) return null
  const { name, end } = readName(msg, 12)
  const type = msg.readUInt16BE(end)
  onQuery(name, type)
  const question = msg.subarray(12, end + 4)
  const entry = zone.get(name)
  let rcode = 0
  const answers: Buffer[] = []
  if (failing) rcode = 2
  else if (entry === undefined) rcode = 3
  else if (type === TYPE.A) for (const r of entry.a ?? []) answers.push(rr(type, r.ttl, Buffer.from(r.address.split('.').map(Number))))
  else if (type === TYPE.AAAA) for (const r of entry.aaaa ?? []) answers.push(rr(type, r.ttl, ipv6Bytes(r.address)))
  else if (type === TYPE.SRV) {
    for (const r of entry.srv ?? []) {
      const fixed = Buffer.alloc(6)
      fixed.writeUInt16BE(r.priority, 0)
      fixed.writeUInt16BE(r.weight, 2)
      fixed.writeUInt16BE(r.port, 4)
      answers.push(rr(type, r.ttl, Buffer.concat([fixed, writeName(r.target)])))
    }
  }
  const header = Buffer.alloc(12)
  header.writeUInt16BE(msg.readUInt16BE(0), 0)
  header.writeUInt16BE(0x8000 | 0x0400 | (msg.readUInt16BE(2) & 0x0100) | 0x0080 | rcode, 2) // QR AA RD RA
  header.writeUInt16BE(1, 4)
  header.writeUInt16BE(answers.length, 6)
  return Buffer.concat([header, question, ...answers])
}

/** The answer's id and flags claiming one answer record, then junk where the question should be. */
function malformed(a: Buffer): Buffer {
  const out = Buffer.alloc(40, 0xff)
  a.copy(out, 0, 0, 4)
  out.writeUInt16BE(1, 4)
  out.writeUInt16BE(1, 6)
  return out
}

/** Over UDP, an answer longer than 512 bytes goes out truncated: header (TC set, no records) and question. */
function truncated(full: Buffer): Buffer {
  if (full.length <= 512) return full
  const end = readName(full, 12).end + 4
  const out = Buffer.from(full.subarray(0, end))
  out.writeUInt16BE(out.readUInt16BE(2) | 0x0200, 2)
  out.writeUInt16BE(0, 6)
  return out
}

async function bindBoth(port: number, onUdp: (msg: Buffer, rinfo: dgram.RemoteInfo, sock: dgram.Socket) => void, onTcp: (s: net.Socket) => void): Promise<{ udp: dgram.Socket; tcp: net.Server }> {
  for (let attempt = 0; ; attempt++) {
    const udp = dgram.createSocket('udp4')
    udp.on('message', (msg, rinfo) => onUdp(msg, rinfo, udp))
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject)
      udp.bind(port, '127.0.0.1', () => resolve())
    })
    const bound = udp.address().port
    const tcp = net.createServer(onTcp)
    const ok = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false))
      tcp.listen(bound, '127.0.0.1', () => resolve(true))
    })
    if (ok) return { udp, tcp }
    udp.close()
    if (port !== 0 || attempt >= 20) throw new Error(`cannot bind TCP ${bound} next to UDP`)
  }
}

export async function startDnsServer(): Promise<DnsServer> {
  const zone = new Map<string, ZoneEntry>()
  const queries: Query[] = []
  const waiters = new Set<{ pred: (q: Query) => boolean; resolve: (q: Query) => void }>()
  const record = (name: string, type: number, tcp: boolean): void => {
    const q = { name, type, at: Date.now(), tcp }
    queries.push(q)
    for (const w of waiters) if (w.pred(q)) { waiters.delete(w); w.resolve(q) }
  }
  let sockets: { udp: dgram.Socket; tcp: net.Server } | null = null
  const open = new Set<net.Socket>()
  const server: DnsServer = {
    port: 0,
    address: '',
    zone,
    queries,
    failing: false,
    garbage: false,
    waitForQuery(pred, since = Date.now(), timeoutMs = 10_000) {
      const found = queries.find((q) => q.at >= since && pred(q))
      if (found !== undefined) return Promise.resolve(found)
      return new Promise((resolve, reject) => {
        const w = { pred: (q: Query) => q.at >= since && pred(q), resolve: (q: Query) => { clearTimeout(t); resolve(q) } }
        const t = setTimeout(() => { waiters.delete(w); reject(new Error('timed out waiting for a DNS query')) }, timeoutMs)
        waiters.add(w)
      })
    },
    async start() {
      sockets = await bindBoth(server.port, (msg, rinfo, udp) => {
        const a = answer(msg, zone, server.failing, (n, t) => record(n, t, false))
        if (a !== null) udp.send(server.garbage ? malformed(a) : truncated(a), rinfo.port, rinfo.address)
      }, (sock) => {
        open.add(sock)
        sock.on('close', () => open.delete(sock))
        sock.on('error', () => {})
        let buf = Buffer.alloc(0)
        sock.on('data', (chunk: Buffer) => {
          buf = Buffer.concat([buf, chunk])
          while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
            const msg = buf.subarray(2, 2 + buf.readUInt16BE(0))
            buf = buf.subarray(2 + msg.length)
            const a = answer(msg, zone, server.failing, (n, t) => record(n, t, true))
            if (a === null) continue
            const len = Buffer.alloc(2)
            len.writeUInt16BE(a.length)
            sock.write(Buffer.concat([len, a]))
          }
        })
      })
      ;(server as { port: number }).port = sockets.udp.address().port
      ;(server as { address: string }).address = `127.0.0.1:${server.port}`
    },
    async stop() {
      const s = sockets
      sockets = null
      if (s === null) return
      for (const sock of open) sock.destroy()
      await Promise.all([new Promise<void>((r) => s.udp.close(() => r())), new Promise<void>((r) => s.tcp.close(() => r()))])
    },
    close: () => server.stop(),
  }
  await server.start()
  return server
}
