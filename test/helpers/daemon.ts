// The real daemon (dist/cli.js, built by `npm test`'s pretest) as a child process with a
// config written to a temp file. Listener ports are 0; the bound ports are read from
// the daemon's own "listening" log lines.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'

export const CLI = resolve(import.meta.dirname, '../../dist/cli.js')

export type LogLine = Record<string, unknown> & { msg?: string }

export interface RunningDaemon {
  readonly proc: ChildProcess
  readonly file: string
  /** Parsed JSON log lines so far. */
  readonly logs: LogLine[]
  readonly stderr: string[]
  /** Bound port of a listener (by name, default the first). */
  port(listener?: string): number
  /** Bound port of the admin server (from its "admin listening" log line). */
  adminPort(): number
  adminUrl(path?: string): string
  url(path?: string, listener?: string): string
  waitForLog(pred: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>
  /** Sends a signal (default SIGTERM) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
  exited: Promise<number | null>
}

/**
 * Collects a daemon's stdout JSON lines (parsed; a line that is not JSON is kept as its text)
 * and its stderr lines; `onLog` hears each log line as it comes.
 */
export function followOutput(proc: ChildProcess, onLog: (l: LogLine) => void): { logs: LogLine[]; stderr: string[] } {
  const logs: LogLine[] = []
  const stderr: string[] = []
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    let parsed: LogLine
    try {
      parsed = JSON.parse(line) as LogLine
    } catch {
      parsed = { msg: `(not JSON) ${line}` }
    }
    logs.push(parsed)
    onLog(parsed)
  })
  createInterface({ input: proc.stderr! }).on('line', (line) => stderr.push(line))
  return { logs, stderr }
}

export function writeConfig(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-test-'))
  const file = join(dir, 'switchyard.yaml')
  writeFileSync(file, yaml)
  return file
}

export async function startDaemon(yaml: string, env: Record<string, string> = {}): Promise<RunningDaemon> {
  const file = writeConfig(yaml)
  const proc = spawn(process.execPath, [CLI, '--config', file], {
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const waiters = new Set<{ pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }>()
  const { logs, stderr } = followOutput(proc, (parsed) => {
    for (const w of waiters) {
      if (w.pred(parsed)) {
        waiters.delete(w)
        w.resolve(parsed)
      }
    }
  })
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))

  const waitForLog = (pred: (l: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> => {
    const found = logs.find(pred)
    if (found) return Promise.resolve(found)
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: (l: LogLine) => { clearTimeout(t); resolve(l) } }
      const t = setTimeout(() => {
        waiters.delete(w)
        reject(new Error(`timed out waiting for a log line; stderr: ${stderr.join('\n')}; logs: ${JSON.stringify(logs.slice(-5))}`))
      }, timeoutMs)
      waiters.add(w)
      void exited.then((code) => {
        if (waiters.delete(w)) {
          clearTimeout(t)
          reject(new Error(`daemon exited (${code}) first; stderr: ${stderr.join('\n')}`))
        }
      })
    })
  }

  await waitForLog((l) => l.msg === 'ready')
  await waitForLog((l) => l.msg === 'listening') // with workers, their lines may follow the primary's 'ready'
  const ports = (): Map<string, number> => new Map(logs.filter((l) => l.msg === 'listening').map((l) => [String(l.listener), Number(l.port)]))

  const port = (listener?: string): number => {
    const map = ports()
    const p = listener === undefined ? [...map.values()][0] : map.get(listener)
    if (p === undefined) throw new Error(`no listener ${listener}`)
    return p
  }
  const adminPort = (): number => {
    const line = logs.find((l) => l.msg === 'admin listening')
    if (line === undefined) throw new Error('no "admin listening" log line')
    return Number(line.port)
  }
  return {
    proc, file, logs, stderr, waitForLog, exited, port, adminPort,
    adminUrl: (path = '') => `http://127.0.0.1:${adminPort()}${path}`,
    url: (path = '/', listener) => `http://127.0.0.1:${port(listener)}${path}`,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal)
      return exited
    },
  }
}

/** Runs the CLI to completion (for `check`, `--version`...). */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    proc.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    proc.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    proc.once('close', (code) => resolve({ code, stdout, stderr }))
  })
}
