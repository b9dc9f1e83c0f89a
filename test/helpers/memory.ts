// A daemon's resident memory while a large body goes through it: the tests that bound a
// streamed body's memory (body-memory, compression) sample /proc every 100 ms, and write
// their bodies as fast as the other side drains them.
import type http from 'node:http'
import { readFileSync } from 'node:fs'

/** A process's resident memory (MiB), from /proc. */
export function rssMiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024
}

/** The peak resident memory of `pid` above `idle` (MiB) while `transfer` runs: sampled every 100 ms, and once at the end. */
export async function peakAbove<T>(pid: number, idle: number, transfer: () => Promise<T>): Promise<{ peak: number; result: T }> {
  let peak = rssMiB(pid)
  const sampler = setInterval(() => { peak = Math.max(peak, rssMiB(pid)) }, 100)
  try {
    const result = await transfer()
    return { peak: Math.max(peak, rssMiB(pid)) - idle, result }
  } finally {
    clearInterval(sampler)
  }
}

/** Writes `size` bytes to `out` as fast as it drains (piece(n): the piece after n bytes sent), then ends it. */
export function pump(out: http.ClientRequest | http.ServerResponse, size: number, piece: (sent: number) => Buffer): void {
  let sent = 0
  const more = (): void => {
    while (sent < size) {
      const p = piece(sent)
      sent += p.length
      if (!out.write(p)) {
        out.once('drain', more)
        return
      }
    }
    out.end()
  }
  more()
}
