// A throwaway redis-server for tests: on 127.0.0.1 at a given port, no persistence, started
// and stopped by the test (the tool comes from Debian's redis-server; check it with needTool).
import { spawn, type ChildProcess } from 'node:child_process'

/** Resolves once it accepts connections (its "Ready to accept connections" line). */
export async function startRedis(port: number): Promise<ChildProcess> {
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('redis-server did not start within 10s')), 10_000)
    let out = ''
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer)
        resolve()
      }
    })
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`redis-server exited with ${code}: ${out}`)) })
  })
  return proc
}

export function stopRedis(proc: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve()
  return new Promise((r) => { proc.once('exit', () => r()); proc.kill(signal) })
}
