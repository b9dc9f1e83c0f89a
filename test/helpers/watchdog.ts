// A watchdog for synchronous fuzz loops: the test thread's event loop is blocked while
// it runs a case, so a case that never returns would hang the test run forever (vitest's
// testTimeout cannot interrupt synchronous code). This runs in a worker thread and watches
// a heartbeat in shared memory; when one case runs longer than `limitMs`, it writes the
// message (seed and case index to replay) to stderr synchronously and kills the process,
// so the run fails loudly and reproducibly instead of hanging.
import { Worker } from 'node:worker_threads'

export interface Watchdog {
  /** Call before each case. */
  enter(caseIndex: number): void
  /** Call after each case. */
  leave(): void
  stop(): Promise<void>
}

const WORKER = `
const { workerData } = require('node:worker_threads')
const fs = require('node:fs')
const cells = new Int32Array(workerData.shared)
const { limitMs, prefix } = workerData
let lastBeat = -1
let since = Date.now()
setInterval(() => {
  if (Atomics.load(cells, 2) === 1) process.exit(0)
  const beat = Atomics.load(cells, 0)
  const busy = Atomics.load(cells, 3) === 1
  if (beat !== lastBeat || !busy) { lastBeat = beat; since = Date.now(); return }
  if (Date.now() - since > limitMs) {
    fs.writeSync(2, prefix + ' case ' + Atomics.load(cells, 1) + ' ran over ' + limitMs + ' ms: killed (replay with FUZZ_CASE=' + Atomics.load(cells, 1) + ')\\n')
    process.kill(process.pid, 'SIGKILL')
  }
}, 50)
`

/** `prefix` names the run, e.g. "config fuzz FUZZ_SEED=123". */
export function startWatchdog(limitMs: number, prefix: string): Watchdog {
  const shared = new SharedArrayBuffer(4 * 4) // [heartbeat, case index, stop flag, busy]
  const cells = new Int32Array(shared)
  const worker = new Worker(WORKER, { eval: true, workerData: { shared, limitMs, prefix } })
  worker.unref()
  return {
    enter(caseIndex) {
      Atomics.store(cells, 1, caseIndex)
      Atomics.add(cells, 0, 1)
      Atomics.store(cells, 3, 1)
    },
    leave() {
      Atomics.store(cells, 3, 0)
      Atomics.add(cells, 0, 1)
    },
    async stop() {
      Atomics.store(cells, 2, 1)
      await worker.terminate()
    },
  }
}
