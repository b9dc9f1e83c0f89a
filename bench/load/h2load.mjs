// One bounded h2load run (Debian's nghttp2-client) against https://127.0.0.1, parsed: h2 over
// TLS, `connections` clients each with `streams` concurrent streams, for `seconds`.
import { execFile } from 'node:child_process'

export function h2load({ port, path: target = '/', connections, streams = 10, seconds, cpu }) {
  const args = ['-c', String(connections), '-m', String(streams), '-D', String(seconds), '-t', '1', `https://127.0.0.1:${port}${target}`]
  const argv = cpu !== undefined ? ['taskset', '-c', String(cpu), 'h2load', ...args] : ['h2load', ...args]
  return new Promise((resolve, reject) => {
    execFile(argv[0], argv.slice(1), { timeout: (seconds + 30) * 1000 }, (err, stdout) => {
      if (err) return reject(err)
      // "finished in 3.00s, 41234.56 req/s, ..." and "requests: N total, N started, N done, N succeeded, N failed, N errored, N timeout"
      const rps = Number(/finished in [\d.]+s, ([\d.]+) req\/s/.exec(stdout)?.[1] ?? 0)
      const req = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(stdout)
      const status = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(stdout)
      const requests = Number(req?.[3] ?? 0)
      const protocol = /Application protocol: (\S+)/.exec(stdout)?.[1]
      if (protocol !== 'h2') return reject(new Error(`h2load did not speak h2 (application protocol: ${protocol ?? 'none'})`))
      // h2load's per-request latency table: "time for request:  min max mean sd +/- sd"
      const mean = /time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)/.exec(stdout)
      const unit = { us: 1e-3, ms: 1, s: 1e3 }
      resolve({
        rps, requests,
        p50: mean ? Number(mean[1]) * unit[mean[2]] : NaN, // the mean: h2load prints no percentiles
        p99: NaN,
        errors: Number(req?.[5] ?? 0) + Number(req?.[6] ?? 0) + Number(req?.[7] ?? 0) + Number(status?.[3] ?? 0) + Number(status?.[4] ?? 0),
      })
    })
  })
}
