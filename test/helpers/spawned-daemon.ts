// The daemon (dist/cli.js) spawned and handed back at once, for tests of its first moments:
// signals during startup, /readyz before the public ports accept. startDaemon (daemon.ts)
// waits for 'ready' and so cannot see those. Its JSON log lines are collected as they come
// (with workers, the primary's and the workers' share stdout); close() kills whatever is
// left of it, workers included (their pids are in the 'worker ready' lines).
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { CLI, followOutput, type LogLine } from './daemon.js'

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface SpawnedDaemon {
  readonly proc: ChildProcess
  readonly pid: number
  readonly logs: LogLine[]
  readonly stderr: string[]
  readonly exited: Promise<Exit>
  /** True until the process has exited. */
  alive(): boolean
  waitForLog(pred: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>
  /** The admin port, once its 'admin listening' line is out. */
  adminPort(): Promise<number>
  /** Ports of the 'listening' lines so far (with workers, one line per worker and listener). */
  listenerPorts(): number[]
  /** Pids of the 'worker ready' lines so far. */
  workerPids(): number[]
  /** Sends `signal` (default SIGTERM) if still running; resolves with the exit. */
  stop(signal?: NodeJS.Signals): Promise<Exit>
  /** SIGKILL to the process and its workers, if still there. */
  close(): Promise<void>
}

export function spawnDaemon(file: string, env: Record<string, string> = {}): SpawnedDaemon {
  const proc = spawn(process.execPath, [CLI, '--config', file], {
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const waiters = new Set<{ pred: (l: LogLine) => boolean; found: (l: LogLine) => void }>()
  const { logs, stderr } = followOutput(proc, (parsed) => {
    for (const w of waiters) if (w.pred(parsed)) w.found(parsed)
  })
  let done: Exit | null = null
  const exited = new Promise<Exit>((resolve) => proc.once('exit', (code, signal) => {
    done = { code, signal }
    resolve(done)
  }))
  const tail = (): string => `stderr: ${stderr.join('\n')}; last logs: ${JSON.stringify(logs.slice(-8))}`

  const waitForLog = (pred: (l: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> => {
    const seen = logs.find(pred)
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      const w = { pred, found: (l: LogLine) => { finish(); resolve(l) } }
      const timer = setTimeout(() => { finish(); reject(new Error(`timed out waiting for a log line; ${tail()}`)) }, timeoutMs)
      const finish = (): void => { clearTimeout(timer); waiters.delete(w) }
      waiters.add(w)
      void exited.then((e) => {
        if (!waiters.has(w)) return
        finish()
        reject(new Error(`daemon exited (code ${e.code}, signal ${e.signal}) before the log line; ${tail()}`))
      })
    })
  }
  const workerPids = (): number[] => logs.filter((l) => l.msg === 'worker ready').map((l) => Number(l.worker_pid))

  return {
    proc,
    pid: proc.pid!,
    logs,
    stderr,
    exited,
    alive: () => done === null,
    waitForLog,
    adminPort: async () => Number((await waitForLog((l) => l.msg === 'admin listening')).port),
    listenerPorts: () => logs.filter((l) => l.msg === 'listening').map((l) => Number(l.port)),
    workerPids,
    stop(signal = 'SIGTERM') {
      if (done === null) proc.kill(signal)
      return exited
    },
    async close() {
      if (done === null) proc.kill('SIGKILL')
      await exited
      for (const pid of workerPids()) {
        try {
          process.kill(pid, 'SIGKILL')
        } catch {
          // already gone
        }
      }
    },
  }
}

/**
 * True while `pid` is a live process: it exists and is not a zombie (an exited child its
 * parent has not reaped yet, or one whose new parent, pid 1 in a container, never reaps).
 */
export function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false
    throw err
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state ...": comm may hold spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false // gone between the two looks
  }
}
