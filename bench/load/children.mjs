// The Node load generators (openloop, wsload, idle) run as their own processes, pinned to the
// load CPU like wrk, so they never share the orchestrator's event loop.
import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { pinned } from '../proc.mjs'

const HERE = path.dirname(fileURLToPath(import.meta.url))

/** `nice`: the open-loop generator busy-waits, so it yields the load CPU to the backends first. */
function spawnLoad(file, args, cpu, nice = 0) {
  const argv = pinned([...(nice ? ['nice', '-n', String(nice)] : []), process.execPath, path.join(HERE, file), ...args.map(String)], cpu)
  return spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] })
}

/** Calls onLine for every JSON line the child prints. */
function lines(child, onLine) {
  let buf = ''
  child.stdout.on('data', (d) => {
    buf += d
    let i
    while ((i = buf.indexOf('\n')) >= 0) { const l = buf.slice(0, i); buf = buf.slice(i + 1); if (l.trim()) onLine(JSON.parse(l)) }
  })
}

/** Runs a generator to the end and returns its one JSON result; killed after timeoutMs. */
export function runLoadChild(file, args, { cpu, timeoutMs, nice }) {
  return new Promise((resolve, reject) => {
    const child = spawnLoad(file, args, cpu, nice)
    let result
    lines(child, (r) => { result = r })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('close', (code) => {
      clearTimeout(timer)
      if (result) resolve(result)
      else reject(new Error(`${file} ${args.join(' ')}: exit ${code}, no result`))
    })
  })
}

export const openLoop = ({ port, rate, seconds, connections, path: p = '/', cpu }) =>
  runLoadChild('openloop.mjs', [port, rate, seconds, connections, p], { cpu, timeoutMs: (seconds + 30) * 1000, nice: 10 })

export const wsLoad = ({ port, connections, seconds, size, cpu }) =>
  runLoadChild('wsload.mjs', [port, connections, seconds, size], { cpu, timeoutMs: (seconds + 30) * 1000 })

/**
 * Opens `count` idle keep-alive connections and holds them. Resolves { open, failed, release }
 * once they are settled; release() closes them and resolves { stillOpen }.
 */
export function holdIdle({ port, count, cpu, timeoutMs = 120_000 }) {
  return new Promise((resolve, reject) => {
    const child = spawnLoad('idle.mjs', [port, count], cpu)
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`idle.mjs: ${count} connections not settled in ${timeoutMs} ms`)) }, timeoutMs)
    let final
    // 'close', not 'exit': the last line may still sit in the pipe when the process has exited.
    const exited = new Promise((r) => child.on('close', () => r(final ?? { stillOpen: NaN })))
    lines(child, (msg) => {
      if ('open' in msg) {
        clearTimeout(timer)
        resolve({ ...msg, release: () => { child.kill('SIGTERM'); return exited } })
      } else final = msg
    })
    child.on('close', (code) => { clearTimeout(timer); reject(new Error(`idle.mjs exited (${code}) before settling`)) })
  })
}
