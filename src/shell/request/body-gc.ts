// Streamed bodies leave garbage V8 does not hurry to collect: every socket read is a new
// ArrayBuffer (up to 64 KiB) outside the JS heap, held by a Buffer object of ~100 bytes inside
// it. Those small objects fill the young generation so slowly that no scavenge runs during a
// transfer, and V8 frees the dead buffers only when their total passes its external-memory
// limit (64 MiB above the last collection), with a full mark-compact. Measured (2026-12-06,
// test/contract/body-memory.test.ts): a 64 MiB upload or download through the daemon raised
// its RSS by ~70 MiB over idle, with a mark-compact every ~80 ms of 5-12 ms each.
//
// So the body paths count the bytes they pass (bodyBytes), and every PACE bytes a minor GC is
// asked for, on the next turn of the event loop (never inside a stream or undici callback): a
// scavenge frees the young generation's dead ArrayBuffers, about 1 ms. Memory then stays
// within a few MiB of idle whatever the size of the bodies, and the scavenges cost less than
// the mark-compacts they replace. V8's `gc` is exposed at load with --expose-gc set from
// inside (node:v8 setFlagsFromString, as jest obtains it); if that fails, nothing is done.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/** Body bytes between two minor GCs. */
export const PACE = 2 * 1024 * 1024

type Gc = (options: { type: 'minor' | 'major' }) => void

function exposeGc(): Gc | null {
  try {
    setFlagsFromString('--expose-gc')
    const gc: unknown = runInNewContext('gc')
    return typeof gc === 'function' ? (gc as Gc) : null
  } catch {
    return null
  }
}

const gc = exposeGc()
let sinceGc = 0
let scheduled = false

function collect(): void {
  scheduled = false
  sinceGc = 0
  gc?.({ type: 'minor' })
}

/** `n` bytes of a body passed through: per chunk, an addition and a comparison. */
export function bodyBytes(n: number): void {
  sinceGc += n
  if (sinceGc < PACE || scheduled || gc === null) return
  scheduled = true
  setImmediate(collect)
}
