// What a scenario starts: its two backends, and the targets (proxies) under test, each on its
// own port, built from the config in conf.mjs plus the target's and the scenario's fragments.
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { hasCommand, start } from './proc.mjs'
import { haproxyCfg, haproxyMaxconn, nginxBackendConf, nginxProxyConf, switchyardYaml } from './conf.mjs'
import { compareDepsDir } from './compare.mjs'
import { benchCertificate } from './tls.mjs'
import { JSON_10K } from './backends/json10k.mjs'

const HERE = path.dirname(fileURLToPath(import.meta.url))
// PORT_BASE (default 9400): backends on +1 and +2, targets from +10. Another harness on this
// machine (the anchors, an older bench on 9301...) is caught by a check before each scenario.
const PORT_BASE = Number(process.env.PORT_BASE ?? 9400)
export const BACKEND_PORTS = [PORT_BASE + 1, PORT_BASE + 2]
export const FIRST_TARGET_PORT = PORT_BASE + 10

/**
 * The named targets. `kind` says what runs; the other keys are config fragments of that kind
 * (bench/README.md). A scenario may add variants of its own (`variants`) in the same shape.
 */
export const TARGETS = {
  direct: { kind: 'direct' },
  switchyard: { kind: 'switchyard' },
  // Access log and per-request metrics off: the difference to `switchyard` is what they cost.
  'switchyard-bare': { kind: 'switchyard', switchyard: 'admin: { request_metrics: false }\nlog: { access_log: false }' },
  // Another build in the same run (before/after a change): BASE_DIST=/path/to/its/dist; only when named in TARGETS.
  'switchyard-base': { kind: 'switchyard', dist: process.env.BASE_DIST },
  nginx: { kind: 'nginx' },
  haproxy: { kind: 'haproxy' },
  'node-http-proxy': { kind: 'node-http-proxy' },
  'reply-from': { kind: 'reply-from' },
  // The bare Pool.dispatch reference of issue #6 (proxies/pool-dispatch.mjs): only when named in TARGETS.
  'pool-dispatch': { kind: 'pool-dispatch' },
  // The Node ceiling for an answer from memory (issue #19, proxies/node-memory.mjs): it keeps the
  // scenario path's answer and sends it back to every request. Only in scenarios that add it.
  'node-memory': { kind: 'node-memory' },
  // The Node ceiling of every scenario (issue #20, proxies/node-memory.mjs as ANSWER=proxy):
  // node:http answering the scenario's bytes from memory, what switchyard would send, pinned alike.
  'node-hello': { kind: 'node-hello' },
}
// switchyard-bare runs when named in TARGETS (log-cost-c50 toggles the same settings by reload in one daemon).
export const DEFAULT_TARGETS = ['direct', 'switchyard', 'nginx', 'haproxy', 'node-hello', 'pool-dispatch']
/** Installed on demand into a cache folder (compare.mjs), never into package.json. */
export const COMPARE_KINDS = ['node-http-proxy', 'reply-from']
/**
 * Kinds that run only in a scenario that names them (`targets` or `addTargets`): node-memory
 * answers one stored URL, a reference for cached hits and meaningless elsewhere.
 */
export const SCENARIO_ONLY_KINDS = ['node-memory']

/** Why a kind cannot run here, or null. */
export function missing(kind, spec = {}) {
  if ('dist' in spec && spec.dist === undefined) return 'BASE_DIST is not set (the dist/ folder of the build to compare with)'
  if (kind === 'nginx' && !hasCommand('nginx')) return 'nginx is not installed (apt-get install nginx)'
  if (kind === 'haproxy' && !hasCommand('haproxy')) return 'haproxy is not installed (apt-get install haproxy)'
  return null
}

/** Starts the scenario's two backends: nginx (nearly free) for `http` when installed, else node. */
export function startBackends({ kind, dir, cpu, log }) {
  if (kind === 'ws') {
    return { label: 'node ws echo', children: BACKEND_PORTS.map((p) => start([process.execPath, path.join(HERE, 'backends/ws-echo.mjs'), String(p)], { cpu, log })) }
  }
  if (!hasCommand('nginx')) {
    return { label: 'node:http', children: BACKEND_PORTS.map((p) => start([process.execPath, path.join(HERE, 'backends/http.mjs'), String(p)], { cpu, log })) }
  }
  const d = `${dir}/nginx-backend`
  mkdirSync(`${d}/html`, { recursive: true })
  writeFileSync(`${d}/html/64k`, Buffer.alloc(65536, 120))
  writeFileSync(`${d}/html/json10k`, JSON_10K)
  writeFileSync(`${d}/nginx.conf`, nginxBackendConf({ backends: BACKEND_PORTS, dir: d }))
  return { label: 'nginx (return 200)', children: [start(['nginx', '-p', `${d}/`, '-c', `${d}/nginx.conf`, '-e', `${d}/error.log`], { cpu, log })] }
}

/**
 * Starts one target. Returns { port, child, maxClients? } (child undefined for `direct`, which
 * is the first backend itself; maxClients when the target caps client connections). Fragments:
 * the target's own first, then the scenario's, then `extra` (switchyard YAML). `fdLimit`: the
 * descriptor limit it inherits. A switchyard target also returns `rewrite(extra)`.
 */
export function startTarget({ name, spec, port, dir, scenario, cpu, log, fdLimit, extra = '' }) {
  const fragments = (key) => [spec[key], scenario[key], ...(key === 'switchyard' ? [extra] : [])]
  const file = (ext) => { mkdirSync(`${dir}/${name}`, { recursive: true }); return `${dir}/${name}/${name}.${ext}` }
  const backends = BACKEND_PORTS
  // `tls: true`: the target listens with HTTPS (and h2 by ALPN), one certificate for all.
  const tls = scenario.tls ? benchCertificate(`${dir}/tls`) : undefined
  switch (spec.kind) {
    case 'direct':
      return { port: backends[0] }
    case 'switchyard': {
      const f = file('yaml')
      writeFileSync(f, switchyardYaml({ port, backends, fragments: fragments('switchyard'), tls }))
      // The access log goes to /dev/null unless the target says `stdout: 'drain'` (a pipe the
      // bench reads and discards, as journald or Docker would read it).
      // `node`: flags for node itself (V8's heap sizing, say).
      const cli = spec.dist === undefined ? path.resolve(HERE, '../dist/cli.js') : path.resolve(spec.dist, 'cli.js')
      const child = start([process.execPath, ...(spec.node ?? []), cli, '--config', f], { cpu, log, stdout: spec.stdout ?? 'ignore' })
      // `rewrite(extra)`: the same config plus one more YAML fragment, written over the file (then SIGHUP reloads it).
      return { port, child, rewrite: (extra) => writeFileSync(f, switchyardYaml({ port, backends, fragments: [...fragments('switchyard'), extra], tls })) }
    }
    case 'nginx': {
      const f = file('conf')
      writeFileSync(f, nginxProxyConf({ port, backends, fragments: fragments('nginx'), tls }))
      return { port, child: start(['nginx', '-p', `${dir}/${name}/`, '-c', f, '-e', `${dir}/${name}/error.log`], { cpu, log }) }
    }
    case 'haproxy': {
      const f = file('cfg')
      writeFileSync(f, haproxyCfg({ port, backends, fragments: fragments('haproxy'), fdLimit }))
      return { port, child: start(['haproxy', '-db', '-f', f], { cpu, log }), maxClients: haproxyMaxconn(fragments('haproxy'), fdLimit) }
    }
    case 'pool-dispatch':
      return { port, child: start([process.execPath, path.join(HERE, 'proxies/pool-dispatch.mjs')], { cpu, log, env: { PORT: String(port), BACKENDS: backends.map((p) => `http://127.0.0.1:${p}`).join(',') } }) }
    case 'node-memory':
    case 'node-hello': {
      // node-hello of a static scenario answers its file (`nodeHello: { file, type }`), not a fetch.
      const own = spec.kind === 'node-hello' ? { ANSWER: 'proxy', ...(scenario.nodeHello ? { FILE: scenario.nodeHello.file, FILE_TYPE: scenario.nodeHello.type } : {}) } : {}
      const env = { PORT: String(port), BACKENDS: backends.map((p) => `http://127.0.0.1:${p}`).join(','), FETCH_PATH: scenario.path ?? '/', ...own }
      return { port, child: start([process.execPath, path.join(HERE, 'proxies/node-memory.mjs')], { cpu, log, env }) }
    }
    case 'node-http-proxy':
    case 'reply-from':
      return {
        port,
        child: start([process.execPath, path.join(HERE, `proxies/${spec.kind}.mjs`)], {
          cpu, log,
          env: { PORT: String(port), BACKENDS: backends.map((p) => `http://127.0.0.1:${p}`).join(','), BENCH_DEPS: compareDepsDir() },
        }),
      }
    default:
      throw new Error(`unknown target kind ${spec.kind}`)
  }
}
