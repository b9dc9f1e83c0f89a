// Logs: JSON lines on stdout, all through one LineWriter per process (line-writer.ts): the
// daemon's own lines (pino, writing to it as its destination stream) and the access log's
// ready-made lines. One writer means one write in flight, so lines stay whole and in order.
// Writes never wait on a slow stdout reader such as journald (log-output.ts) and are
// batched: measured with --cpu-prof on small responses, 4 KiB batches (~12 lines) written
// through fs.write's thread pool spent 6.5% of the CPU in them; 64 KiB batches ~0.4%. When several
// processes share stdout (workers), writes stay within 4 KiB: a pipe keeps writes up to
// PIPE_BUF (4096 bytes) whole, so lines of different processes never interleave. The writer
// flushes at least every 250 ms so a quiet daemon's lines are not held back; drainLog()
// and flushLog() empty it before exit.
import { pino, type Logger } from 'pino'
import type { LogLevel } from '../../config/types.js'
import { LineWriter } from './line-writer.js'

export type { Logger }

const ALONE_WRITE = 64 * 1024
const SHARED_WRITE = 4096 // PIPE_BUF

let lines: LineWriter | undefined

/**
 * LOG_LEVEL from the environment beats the config's `log.level` (docs/operations.md).
 * `sharedStdout`: other processes (cluster workers, the primary) write to the same stdout.
 */
export function createLogger(configLevel: LogLevel, sharedStdout: boolean): Logger {
  lines ??= new LineWriter(1, sharedStdout ? SHARED_WRITE : ALONE_WRITE)
  const writer = lines
  const level = process.env.LOG_LEVEL ?? configLevel
  return pino(
    {
      level,
      base: { pid: process.pid },
      // pino's default epoch-ms `time`: formatting an ISO date per line cost 1.6% of the CPU.
      formatters: { level: (label) => ({ level: label }) },
    },
    { write: (line: string) => writer.write(line) },
  )
}

/** The process's log writer (stdout), for lines encoded in place (the access log). */
export function logLines(): LineWriter {
  return (lines ??= new LineWriter(1, SHARED_WRITE))
}

/** Before a normal exit: waits (up to `timeoutMs`) until every line is out, a pipe's stream included. */
export async function drainLog(timeoutMs = 2000): Promise<void> {
  await lines?.drain(timeoutMs)
}

/** Before any exit, also a crash: what is still held, written synchronously. */
export function flushLog(): void {
  lines?.flushSync()
}
