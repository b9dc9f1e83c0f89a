// The two cache stores a contract test runs against, each test with its own: `memory`, or
// `redis` with a throwaway redis-server on a free port (stopped when the test finishes).
// A Redis store writes after the response has gone out, so a test that wants the next
// request to see what was stored waits for Redis's data to change and then stop changing
// (its dirty counter, `rdb_changes_since_last_save`: the server runs without saves, so it
// only grows) rather than sleeping a guessed time; it knows nothing of the store's key
// layout, which the cache's implementation is free to change.
import net from 'node:net'
import type { ChildProcess } from 'node:child_process'
import { sleep } from './client.js'
import { freePort } from './prometheus.js'
import { startRedis, stopRedis } from './redis-server.js'
import type { Scope } from './scope.js'
import { needTool, type SkippableContext } from './tools.js'

export type StoreKind = 'memory' | 'redis'
export const STORE_KINDS: readonly StoreKind[] = ['memory', 'redis']

export interface TestStore {
  readonly kind: StoreKind
  /** The value of one `caches:` entry (flow YAML). */
  readonly yaml: string
  /** The redis-server process (null for memory). */
  readonly redis: ChildProcess | null
  /** Where the store's data stands now, to pass to settled(). */
  mark(): Promise<number>
  /**
   * After something that should write to the store: waits (at most 1 s) until the data has
   * changed since `mark`, then until it stops changing. Memory: the write is done in the
   * daemon's process by the time its answer is out; a short pause covers the socket hops.
   */
  settled(mark: number): Promise<void>
  /** Waits until nothing is being written (for a test that expects nothing to be stored). */
  quiet(): Promise<void>
}

export async function startStore(ctx: SkippableContext, scope: Scope, kind: StoreKind): Promise<TestStore> {
  if (kind === 'memory') {
    return {
      kind, yaml: '{}', redis: null,
      mark: () => Promise.resolve(0),
      settled: () => sleep(30),
      quiet: () => sleep(60),
    }
  }
  needTool(ctx, 'redis-server', 'redis-server')
  const port = await freePort()
  const proc = await startRedis(port)
  scope.defer({ close: () => stopRedis(proc) })
  const changes = async (): Promise<number> => {
    const info = await redisCommand(port, 'INFO', 'persistence')
    const m = /rdb_changes_since_last_save:(\d+)/.exec(info)
    if (m === null) throw new Error(`no rdb_changes_since_last_save in INFO: ${info}`)
    return Number(m[1])
  }
  const stable = async (from: number, forMs: number): Promise<void> => {
    let last = from
    for (let i = 0; i < 40; i++) {
      await sleep(forMs)
      const now = await changes()
      if (now === last) return
      last = now
    }
  }
  return {
    kind,
    yaml: `{ store: redis, redis: { url: "redis://127.0.0.1:${port}", key_prefix: "sy-test:", timeout: 300ms } }`,
    redis: proc,
    mark: changes,
    async settled(mark) {
      let now = await changes()
      for (let i = 0; i < 100 && now === mark; i++) {
        await sleep(10)
        now = await changes()
      }
      await stable(now, 40)
    },
    quiet: async () => stable(await changes(), 100),
  }
}

/** One command on a fresh connection; the reply as text (bulk, simple or integer replies). */
export function redisCommand(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    let buf = Buffer.alloc(0)
    socket.setTimeout(2000, () => socket.destroy(new Error(`redis ${args[0]}: no reply within 2 s`)))
    socket.on('connect', () => socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`))
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      const eol = buf.indexOf('\r\n')
      if (eol < 0) return
      const first = buf.subarray(1, eol).toString()
      switch (buf[0]) {
        case 0x2b: // +
        case 0x3a: // :
          socket.destroy()
          resolve(first)
          return
        case 0x2d: // -
          socket.destroy()
          reject(new Error(`redis ${args[0]}: ${first}`))
          return
        case 0x24: { // $
          const len = Number(first)
          if (buf.length < eol + 2 + len) return
          socket.destroy()
          resolve(buf.subarray(eol + 2, eol + 2 + len).toString())
          return
        }
        default:
          socket.destroy()
          reject(new Error(`redis ${args[0]}: unexpected reply ${buf.toString()}`))
      }
    })
    socket.on('error', reject)
  })
}

/** The daemon's config: one upstream over `originUrl`, and every request through cache `c` on `store`. */
export function cachedRouteConfig(originUrl: string, store: TestStore): string {
  return `
listeners: [{ address: 127.0.0.1, port: 0 }]
admin: { port: 0 }
upstreams:
  app: { servers: [{ url: ${originUrl} }] }
caches:
  c: ${store.yaml}
routes: [{ upstream: app, cache: c }]
`
}
