// Process plumbing for the benchmarks: start pinned to a CPU, wait for a port, read
// CPU time and peak memory from /proc, stop.
import { spawn, execFileSync } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import net from 'node:net'

const CLK_TCK = 100 // sysconf(_SC_CLK_TCK) on Linux x86_64/arm64

export const hasCommand = (cmd) => {
  try { execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }); return true } catch { return false }
}

/** `taskset -c cpu argv` when a cpu is given (and taskset exists), else argv. */
export const pinned = (argv, cpu) => (cpu !== undefined && hasCommand('taskset') ? ['taskset', '-c', String(cpu), ...argv] : argv)

/** Spawns argv pinned to `cpu`, output to the bench log (`stdout: 'ignore'` drops stdout). */
export function start(argv, { cpu, env = {}, log, stdout = 'pipe' } = {}) {
  const p = pinned(argv, cpu)
  // 'drain': a pipe that is read and discarded, as a log reader (journald, Docker) takes stdout.
  const child = spawn(p[0], p.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', stdout === 'drain' ? 'pipe' : stdout, 'pipe'] })
  if (stdout === 'drain') child.stdout.resume()
  else child.stdout?.on('data', (d) => log?.write(d))
  child.stderr.on('data', (d) => log?.write(d))
  return child
}

/** Throws when something already listens on one of `ports` (a leftover run, another program). */
export async function assertFree(ports) {
  for (const port of ports) {
    const taken = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true) })
      s.on('error', () => resolve(false))
    })
    if (taken) throw new Error(`127.0.0.1:${port} is already in use; stop what listens there first`)
  }
}

export async function waitForPort(port, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true) })
      s.on('error', () => resolve(false))
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`)
}

export function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
    setTimeout(() => child.kill('SIGKILL'), 5000).unref()
  })
}

/**
 * Every pid in the tree under `pid` (nginx master + workers, our primary + workers): CPU and
 * RSS count the whole tree. A child belongs to the thread that forked it, so every thread's
 * `children` list is read.
 */
export function tree(pid) {
  const out = [pid]
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const kids = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
      for (const k of kids) out.push(...tree(k))
    }
  } catch { /* gone */ }
  return out
}

/** CPU seconds (user + system) used so far by the process tree. */
export function cpuSeconds(pid) {
  let ticks = 0
  for (const p of tree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8')
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      ticks += Number(f[11]) + Number(f[12]) // utime, stime
    } catch { /* exited */ }
  }
  return ticks / CLK_TCK
}

/** Resident memory of the process tree now, MiB. */
export function rssMiB(pid) {
  let kb = 0
  for (const p of tree(pid)) {
    try { kb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0) } catch { /* exited */ }
  }
  return kb / 1024
}

/**
 * Seconds CPU `cpu` has been busy (everything but idle and iowait) since boot, from /proc/stat.
 * Minus the target's own CPU time over a run, it shows what else ran on the proxy's CPU:
 * other programs on a shared machine, and the kernel's network work for the loopback traffic.
 */
export function cpuBusySeconds(cpu) {
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`cpu${cpu} `))
  if (!line) return NaN
  const f = line.trim().split(/\s+/).slice(1).map(Number)
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0) // user..steal; guest is inside user
  return (total - f[3] - f[4]) / CLK_TCK
}
