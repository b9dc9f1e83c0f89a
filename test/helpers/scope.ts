// What a test file starts, closed after each test in reverse order: backends, daemons,
// anything with close().
import { afterEach } from 'vitest'
import { startBackend, type Backend } from './backends.js'
import { startDaemon, type RunningDaemon } from './daemon.js'

export interface Scope {
  defer(x: { close(): Promise<unknown> }): void
  backend(...args: Parameters<typeof startBackend>): Promise<Backend>
  daemon(yaml: string, env?: Record<string, string>): Promise<RunningDaemon>
}

export function closeAfterEach(): Scope {
  const open: { close(): Promise<unknown> }[] = []
  afterEach(async () => {
    for (const x of open.splice(0).reverse()) await x.close()
  })
  return scopeOver(open)
}

/** A Scope that records what it starts in `open` (the caller closes it, in reverse order). */
export function scopeOver(open: { close(): Promise<unknown> }[]): Scope {
  return {
    defer: (x) => { open.push(x) },
    backend: async (...args) => {
      const b = await startBackend(...args)
      open.push(b)
      return b
    },
    daemon: async (yaml, env = {}) => {
      const d = await startDaemon(yaml, env)
      open.push({ close: () => d.stop() })
      return d
    },
  }
}
