// One bounded wrk run against 127.0.0.1, parsed.
import { execFile } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const SCRIPTS = path.join(path.dirname(fileURLToPath(import.meta.url)), '../scripts')

const UNIT = { us: 1e-3, ms: 1, s: 1e3 }
const ms = (v, u) => Number(v) * UNIT[u]

/**
 * `script`: a Lua file in bench/scripts; `headers`: extra request headers ("Name: value");
 * `cpu` undefined: not pinned.
 */
export function wrk({ port, path: target = '/', connections, seconds, cpu, script, headers = [], threads = 1, scheme = 'http' }) {
  const args = [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, '--latency',
    ...(script ? ['-s', path.join(SCRIPTS, script)] : []), ...headers.flatMap((h) => ['-H', h]),
    `${scheme}://127.0.0.1:${port}${target}`]
  const argv = cpu !== undefined ? ['taskset', '-c', String(cpu), 'wrk', ...args] : ['wrk', ...args]
  return new Promise((resolve, reject) => {
    execFile(argv[0], argv.slice(1), { timeout: (seconds + 30) * 1000 }, (err, stdout) => {
      if (err) return reject(err)
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? 0)
      const lat = (p) => { const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(stdout); return m ? ms(m[1], m[2]) : NaN }
      const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout)
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0)
      const requests = Number(/(\d+) requests in/.exec(stdout)?.[1] ?? 0)
      resolve({
        rps, requests, p50: lat(50), p99: lat(99),
        errors: non2xx + (errors ? errors.slice(1).reduce((a, b) => a + Number(b), 0) : 0),
      })
    })
  })
}
