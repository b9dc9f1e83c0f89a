// pino JSON lines on stdout. Asynchronous writes (the data path must not block on a
// slow stdout consumer such as journald); flushLog() empties the buffer before exit.
import { pino, type Logger, type DestinationStream } from 'pino'
import type { LogLevel } from '../config/types.js'

export type { Logger }

let destination: (DestinationStream & { flushSync?: () => void }) | undefined

/** LOG_LEVEL from the environment beats the config's `log.level` (CONTRACT section 1). */
export function createLogger(configLevel: LogLevel): Logger {
  destination ??= pino.destination({ dest: 1, sync: false })
  const level = process.env.LOG_LEVEL ?? configLevel
  return pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  )
}

export function flushLog(): void {
  try {
    destination?.flushSync?.()
  } catch {
    // stdout gone (EPIPE, closed journal): nothing left to say it to.
  }
}
