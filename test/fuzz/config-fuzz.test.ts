// The config loader survives generated YAML. parseConfig (in-process) gets:
//  (a) random mutations of the example config text (byte flips, deletions, duplications,
//      YAML metacharacters, tabs, deep nesting, huge numbers, anchors and aliases,
//      alias bombs, odd line endings...);
//  (b) structurally random documents: the right keys with values of the wrong types;
//  plus fixed pathological inputs (alias bombs, deep nesting, large files).
// Property: it never throws and always answers {ok: true, config} or {ok: false,
// problems} with at least one problem, each with a string path and message and, when
// present, an integer line within the file; each call within 1 s. A config accepted as
// ok satisfies the documented invariants (ports, weights, routes naming upstreams...).
// The JSON Schema of the config (src/config/schema.ts) judges every case too: what the loader
// accepts, the schema accepts; what the schema accepts, the loader refuses only for a reason
// of test/helpers/config-schema.ts's LOADER_ONLY (files, names, values compared...).
//
// Seeded and reproducible (no Math.random): FUZZ_SEED, FUZZ_CASES (default 3,000 per
// generator), FUZZ_CASE (replay one case; its input is printed). A case that never
// returns is caught by a watchdog thread that prints the seed and case, then kills the run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { resolve } from 'node:path'
import { Document } from 'yaml'
import { parseConfig, type Config, type LoadResult } from '../../src/config/load.js'
import { agreement, type Agreement } from '../helpers/config-schema.js'
import { fuzzCases, fuzzIndexes, fuzzSeed, Rng } from '../helpers/prng.js'
import { startWatchdog, type Watchdog } from '../helpers/watchdog.js'

const SEED = fuzzSeed(0x5eedc0f1)
const CASES = fuzzCases(3000)
const LIMIT_MS = 1000

const EXAMPLE = readFileSync(resolve(import.meta.dirname, '../../config/switchyard.yaml'), 'utf8')
const MINIMAL = `listeners:
  - port: 8080
admin:
  port: 9090
upstreams:
  app:
    servers:
      - url: http://127.0.0.1:3001
        weight: 2
      - url: http://127.0.0.1:3002
    timeouts: { connect: 1s, idle: 5s }
    health_check: {}
routes:
  - match: { host: "*.example.com", path_prefix: /api }
    upstream: app
`

// ---------------------------------------------------------------------------------------
// The property

let watchdog: Watchdog

interface Verdict {
  ms: number
  /** The property itself: no throw, a well-formed answer, within the time limit. */
  property: string | null
  /** For an accepted config: a documented invariant it breaks. */
  invariant: string | null
  ok: boolean
  /** What the loader answered, when it answered. */
  result?: LoadResult
}

/** Runs parseConfig on `text` and judges the answer. */
function judge(text: string): Verdict {
  const t0 = performance.now()
  let r: LoadResult
  try {
    r = parseConfig(text)
  } catch (err) {
    return { ms: performance.now() - t0, ok: false, invariant: null, property: `threw ${(err as Error)?.name}: ${(err as Error)?.message}\n${(err as Error)?.stack?.split('\n').slice(1, 6).join('\n')}` }
  }
  const ms = performance.now() - t0
  const property = (p: string | null): Verdict => ({ ms, ok: false, invariant: null, property: p })
  if (ms > LIMIT_MS) return property(`took ${ms.toFixed(0)} ms (limit ${LIMIT_MS} ms)`)
  if (r === null || typeof r !== 'object') return property(`returned ${String(r)}`)
  if (r.ok === true) {
    if (r.config === null || typeof r.config !== 'object') return property('ok without a config')
    return { ms, ok: true, property: null, invariant: configViolation(r.config), result: r }
  }
  if (r.ok !== false) return property(`ok is ${String((r as { ok: unknown }).ok)}`)
  if (!Array.isArray(r.problems) || r.problems.length === 0) return property('ok: false without problems')
  const lines = text.split('\n').length
  for (const p of r.problems) {
    if (typeof p.path !== 'string') return property(`problem path is ${typeof p.path}: ${JSON.stringify(p)}`)
    if (typeof p.message !== 'string' || p.message === '') return property(`problem without a message: ${JSON.stringify(p)}`)
    if (p.line !== undefined && !(Number.isInteger(p.line) && p.line >= 1 && p.line <= lines)) {
      return property(`problem line ${String(p.line)} is not a line of the ${lines}-line file: ${JSON.stringify(p)}`)
    }
    if (/\n\s+at .*:\d+:\d+/.test(p.message)) return property(`problem message carries a stack trace: ${JSON.stringify(p)}`)
  }
  return { ...property(null), result: r }
}

const MAX_DURATION_MS = 596 * 3600 * 1000

/** The documented invariants of an accepted config (docs/configuration.md). */
function configViolation(c: unknown): string | null {
  const cfg = c as Config
  if (!Object.isFrozen(cfg) || !Object.isFrozen(cfg.listeners) || !Object.isFrozen(cfg.upstreams)) return 'config is not frozen'
  const bad = (what: string): string => `accepted config breaks an invariant: ${what}`
  const duration = (ms: unknown): boolean => typeof ms === 'number' && Number.isFinite(ms) && ms > 0 && ms <= MAX_DURATION_MS
  // Safe integers only: 1e40 is "an integer" to Number.isInteger but not a count anyone meant.
  const intIn = (v: unknown, min: number, max: number): boolean => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max
  if (!Array.isArray(cfg.listeners) || cfg.listeners.length === 0) return bad('no listener')
  const ports = new Set<number>()
  const names = new Set<string>()
  for (const l of cfg.listeners) {
    if (!intIn(l.port, 0, 65535)) return bad(`listener port ${l.port}`)
    if (l.port > 0 && ports.has(l.port)) return bad(`two listeners on port ${l.port}`)
    ports.add(l.port)
    if (typeof l.name !== 'string' || l.name === '' || names.has(l.name)) return bad(`listener name ${JSON.stringify(l.name)}`)
    names.add(l.name)
    if (typeof l.address !== 'string' || l.address === '') return bad(`listener address ${JSON.stringify(l.address)}`)
  }
  if (!intIn(cfg.admin.port, 0, 65535) || (cfg.admin.port > 0 && ports.has(cfg.admin.port))) return bad(`admin port ${cfg.admin.port}`)
  if (cfg.workers !== 'auto' && !intIn(cfg.workers, 1, Number.MAX_SAFE_INTEGER)) return bad(`workers ${String(cfg.workers)}`)
  if (!duration(cfg.shutdownTimeoutMs)) return bad(`shutdown_timeout ${cfg.shutdownTimeoutMs}`)
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(cfg.log.level)) return bad(`log level ${cfg.log.level}`)
  if (typeof cfg.log.accessLog !== 'boolean') return bad('access_log not a boolean')
  if (cfg.log.accessLogFormat !== 'json' && cfg.log.accessLogFormat !== 'combined') return bad('access_log_format not json or combined')
  if (!Array.isArray(cfg.upstreams) || cfg.upstreams.length === 0) return bad('no upstream')
  const upstreamNames = new Set<string>()
  for (const u of cfg.upstreams) {
    if (typeof u.name !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(u.name) || upstreamNames.has(u.name)) return bad(`upstream name ${JSON.stringify(u.name)}`)
    upstreamNames.add(u.name)
    if (!['round_robin', 'least_connections', 'ip_hash', 'hash', 'random_two'].includes(u.balance)) return bad(`balance ${u.balance}`)
    if ((u.balance === 'hash') !== (u.hashKey !== null)) return bad(`hash_key ${JSON.stringify(u.hashKey)} with balance ${u.balance}`)
    if (u.slowStartMs !== 0 && !duration(u.slowStartMs)) return bad(`slow_start ${u.slowStartMs}`)
    if (u.sticky !== null && (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(u.sticky.cookie) || (u.sticky.maxAgeMs !== null && !duration(u.sticky.maxAgeMs)))) return bad(`sticky ${JSON.stringify(u.sticky)}`)
    if (u.servers.length + u.discovery.length === 0) return bad(`upstream ${u.name} without servers`)
    for (const e of u.discovery) {
      if (!/^[a-z0-9_.-]+$/.test(e.name) || e.name.endsWith('.')) return bad(`${e.kind} name ${JSON.stringify(e.name)}`)
      if (e.kind === 'dns' ? !intIn(e.port, 1, 65535) || !intIn(e.weight, 1, 1000) : e.port !== 0 || e.weight !== 0) return bad(`${e.kind} entry ${JSON.stringify(e)}`)
    }
    if (u.discovery.length === 0 && (u.resolver !== null || u.resolveIntervalMs !== 30_000)) return bad(`resolver or resolve_interval without a dns: or srv: server in ${u.name}`)
    if (!duration(u.resolveIntervalMs) || u.resolveIntervalMs < 1000) return bad(`resolve_interval ${u.resolveIntervalMs}`)
    const urls = new Set<string>()
    for (const s of u.servers) {
      if (!/^(https?:\/\/[^/?#@]+|unix:\/[^\s?#]+)$/.test(s.url) || urls.has(s.url)) return bad(`server url ${JSON.stringify(s.url)}`)
      urls.add(s.url)
      if (!intIn(s.weight, 1, 1000)) return bad(`weight ${s.weight}`)
    }
    if (!intIn(u.retries, 0, 10)) return bad(`retries ${u.retries}`)
    if (!intIn(u.maxConnectionsPerServer, 1, Number.MAX_SAFE_INTEGER)) return bad(`max_connections_per_server ${u.maxConnectionsPerServer}`)
    if (![u.timeouts.connectMs, u.timeouts.responseHeadersMs, u.timeouts.idleMs, u.passiveHealth.ejectDurationMs].every(duration)) return bad(`upstream ${u.name} durations`)
    if (!intIn(u.passiveHealth.consecutiveFailures, 1, Number.MAX_SAFE_INTEGER)) return bad(`consecutive_failures ${u.passiveHealth.consecutiveFailures}`)
    const hc = u.healthCheck
    if (hc !== null) {
      if (!hc.path.startsWith('/')) return bad(`health_check.path ${hc.path}`)
      if (![hc.intervalMs, hc.timeoutMs].every(duration)) return bad('health_check durations')
      if (!intIn(hc.healthyThreshold, 1, Number.MAX_SAFE_INTEGER) || !intIn(hc.unhealthyThreshold, 1, Number.MAX_SAFE_INTEGER)) return bad('health_check thresholds')
      if (hc.expectedStatus.length === 0 || hc.expectedStatus.some(([a, b]: readonly [number, number]) => !intIn(a, 100, 599) || !intIn(b, a, 599))) return bad(`expected_status ${JSON.stringify(hc.expectedStatus)}`)
    }
  }
  if (cfg.routes.length === 0) return bad('no route')
  const routeKeys = new Set<string>()
  for (const r of cfg.routes) {
    if (r.upstream === null ? r.static === undefined : r.static !== undefined) return bad('a route needs exactly one of upstream and static')
    if (r.upstream !== null && !upstreamNames.has(r.upstream)) return bad(`route to unknown upstream ${r.upstream}`)
    if (r.static !== undefined && !(r.static.root.startsWith('/') && r.static.realRoot.startsWith('/'))) return bad(`static root ${r.static.root}`)
    if (!r.pathPrefix.startsWith('/') || /[?#\s]/.test(r.pathPrefix) || (r.pathPrefix !== '/' && r.pathPrefix.endsWith('/'))) return bad(`path_prefix ${JSON.stringify(r.pathPrefix)}`)
    if (r.host !== null && (r.host !== r.host.toLowerCase() || r.host === '')) return bad(`host ${JSON.stringify(r.host)}`)
    const key = `${r.host} ${r.pathPrefix}`
    if (routeKeys.has(key)) return bad(`two routes for ${key}`)
    routeKeys.add(key)
  }
  return null
}

interface Failure { index: number; problem: string; input: string }
interface RunResult {
  failures: Failure[]; invariantFailures: Failure[]; accepted: number; total: number; slowest: { index: number; ms: number }
  /** Cases where the JSON Schema and the loader disagree, and how many of each verdict. */
  schemaFailures: Failure[]; schemaVerdicts: Map<Agreement['kind'], number>
}

const runs = new Map<string, RunResult>()

/** Runs the generated cases of one generator once (later calls reuse the result). */
function run(kind: string, generate: (rng: Rng) => string): RunResult {
  const done = runs.get(kind)
  if (done !== undefined) return done
  const result: RunResult = { failures: [], invariantFailures: [], accepted: 0, total: 0, slowest: { index: -1, ms: 0 }, schemaFailures: [], schemaVerdicts: new Map() }
  const indexes = fuzzIndexes(CASES)
  for (const index of indexes) {
    const input = generate(new Rng(SEED ^ hash(kind), index))
    if (indexes.length === 1) console.log(`${kind} case ${index} input:\n${JSON.stringify(input)}`)
    watchdog.enter(index)
    const v = judge(input)
    watchdog.leave()
    result.total++
    if (v.ok) result.accepted++
    if (v.ms > result.slowest.ms) result.slowest = { index, ms: v.ms }
    if (v.property !== null) result.failures.push({ index, problem: v.property, input })
    if (v.invariant !== null) result.invariantFailures.push({ index, problem: v.invariant, input })
    if (v.result !== undefined) {
      const a = agreement(input, v.result)
      result.schemaVerdicts.set(a.kind, (result.schemaVerdicts.get(a.kind) ?? 0) + 1)
      if (a.kind === 'disagree') result.schemaFailures.push({ index, problem: a.message, input })
    }
  }
  runs.set(kind, result)
  console.log(`config fuzz ${kind}: ${result.total} cases, ${result.accepted} accepted, slowest case ${result.slowest.index} took ${result.slowest.ms.toFixed(0)} ms; schema: ${[...result.schemaVerdicts].map(([k, n]) => `${k} ${n}`).join(', ')}`)
  return result
}

function report(kind: string, failures: Failure[]): string {
  return `${failures.length} failing case(s); the first ones:\n` + failures.slice(0, 5).map((f) =>
    `${kind}: FUZZ_SEED=${SEED} FUZZ_CASE=${f.index}: ${f.problem}\n  input (${f.input.length} chars): ${JSON.stringify(f.input.slice(0, 1500))}`).join('\n')
}

function hash(s: string): number {
  let h = 2166136261
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619)
  return h >>> 0
}

// ---------------------------------------------------------------------------------------
// (a) text mutations

const META = [':', ': ', '-', '- ', '?', '? ', '[', ']', '{', '}', ',', '&', '&x ', '*', '*x', '*nope', '!', '!!str ', '!!int ', '!!binary ', '!!map ', '!!seq ', '!foo ', '|', '|-', '>', '>+', "'", '"', '%', '%YAML 1.1\n', '---\n', '...\n', '#', ' #', '@', '`', '<<: ', '\\', '\t', '\n', '\r', '\r\n', '\0', '\uFEFF', '\u2028', '\u0085', '\uD800', 'ü', '\x7f', '~', 'null', 'true', 'NaN', '.nan', '.inf', '-.inf', '0x', '0o7', '1e9', '"\\u0000"', "'it''s'", '"\\x', ' ', '  ', '\n  ', '\n- ']

const NUMBERS = ['0', '-0', '-1', '1.5', '1e400', '-1e400', '1e-400', '9'.repeat(40), '9007199254740993', '0x7fffffffffffffff', '0xFFFF', '0o777', '0b101', '1_000', '.inf', '-.inf', '.nan', '65536', '65535', '1001', '596h', '597h', '0ms', '0.0001ms', '1e3s', '-1s', '1.5.5s', '99999999999h', 'NaNs', 'Infinitys', '"8080"', '8080.0', '+8080']

const SCALARS = [...NUMBERS, '', '~', 'null', 'true', 'false', 'yes', 'no', 'on', 'auto', '[]', '{}', '[[]]', '{a: 1}', '"x"', "''", 'http://', 'http://h', 'http://h:0', 'http://h:99999', 'https://h:1', 'http://u:p@h:1', 'http://h:1/p', 'http://[::1]:1', 'http://h:1?q', '::', '"::"', '[::1]', '0.0.0.0', '256.1.1.1', '*.example.com', '*', '*.', '/', '//', '/a?b', '/a#b', 'a b', '200-399', '399-200', '"200-399"', '[200, "300-399"]', '99', '600', 'round_robin', 'least_connections', 'random', 'info', 'INFO', 'silent', '__proto__', 'constructor', '!!binary aGk=', '2001-12-14', '!!set {a}', '!!omap [a: 1]', '!!pairs [a: 1]', '&a 1', '*a']

function lineStarts(s: string): number[] {
  const out = [0]
  for (let i = 0; i < s.length; i++) if (s[i] === '\n') out.push(i + 1)
  return out
}

function aliasBomb(rng: Rng, indent = ''): string {
  const width = rng.int(2, 9)
  const depth = rng.int(3, 9)
  const lines = [`${indent}l0: &l0 [${Array(width).fill('"lol"').join(', ')}]`]
  for (let d = 1; d < depth; d++) lines.push(`${indent}l${d}: &l${d} [${Array(width).fill(`*l${d - 1}`).join(', ')}]`)
  return lines.join('\n')
}

function deepFlow(rng: Rng): string {
  const depth = rng.int(1, rng.chance(0.1) ? 1500 : 100)
  return rng.chance(0.5) ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{a: '.repeat(depth)}1${'}'.repeat(depth)}`
}

function deepBlock(rng: Rng, indent: number): string {
  const depth = rng.int(1, rng.chance(0.1) ? 600 : 60)
  const seq = rng.chance(0.5)
  return Array.from({ length: depth }, (_, i) => `${' '.repeat(indent + (seq ? 2 : 1) * (i + 1))}${seq ? '-' : 'k:'}`).join('\n') + ' 1'
}

type Mutation = (s: string, rng: Rng) => string

const mutations: Mutation[] = [
  // flip one byte (anything, including controls and high bytes)
  (s, rng) => { const p = rng.int(0, s.length); return s.slice(0, p) + (rng.chance(0.5) ? rng.bytes(1) : rng.pick(META)) + s.slice(p + 1) },
  // delete a range
  (s, rng) => { const p = rng.int(0, s.length); return s.slice(0, p) + s.slice(p + rng.int(1, 60)) },
  // duplicate a range somewhere
  (s, rng) => { const a = rng.int(0, s.length); const piece = s.slice(a, a + rng.int(1, 200)); const p = rng.int(0, s.length); return s.slice(0, p) + piece + s.slice(p) },
  // duplicate whole lines, sometimes many times
  (s, rng) => {
    const lines = s.split('\n')
    const a = rng.int(0, lines.length - 1)
    const block = lines.slice(a, a + rng.int(1, 6))
    const times = rng.chance(0.1) ? rng.int(10, 100) : rng.int(1, 3)
    const at = rng.int(0, lines.length)
    return [...lines.slice(0, at), ...Array.from({ length: times }, () => block).flat(), ...lines.slice(at)].join('\n')
  },
  // insert YAML metacharacters
  (s, rng) => { const p = rng.int(0, s.length); return s.slice(0, p) + rng.pick(META) + s.slice(p) },
  // tabs for indentation
  (s, rng) => { const starts = lineStarts(s); const p = rng.pick(starts); return s.slice(0, p) + '\t' + s.slice(p).replace(/^ {1,4}/, '') },
  // re-indent a line
  (s, rng) => { const starts = lineStarts(s); const p = rng.pick(starts); return rng.chance(0.5) ? s.slice(0, p) + ' '.repeat(rng.int(1, 5)) + s.slice(p) : s.slice(0, p) + s.slice(p).replace(/^ {1,3}/, '') },
  // a number becomes huge or odd
  (s, rng) => { const nums = [...s.matchAll(/\d+/g)]; if (nums.length === 0) return s; const m = rng.pick(nums); return s.slice(0, m.index) + rng.pick(NUMBERS) + s.slice(m.index + m[0].length) },
  // a value becomes something else
  (s, rng) => { const vals = [...s.matchAll(/: ([^\n#]+)/g)]; if (vals.length === 0) return s; const m = rng.pick(vals); return s.slice(0, m.index + 2) + rng.pick(SCALARS) + s.slice(m.index + m[0].length) },
  // a value becomes deeply nested (flow or block)
  (s, rng) => {
    const vals = [...s.matchAll(/^( *)([\w-]+:) ([^\n#]+)/gm)]
    if (vals.length === 0) return s
    const m = rng.pick(vals)
    const nested = rng.chance(0.5) ? ` ${deepFlow(rng)}` : `\n${deepBlock(rng, m[1]!.length)}`
    return s.slice(0, m.index) + m[1] + m[2] + nested + s.slice(m.index + m[0].length)
  },
  // anchors and aliases: an anchor on one value, aliases (or a dangling alias) on others
  (s, rng) => {
    const vals = [...s.matchAll(/: ([^\n#]+)/g)]
    if (vals.length < 2) return s
    const name = rng.pick(['a', 'x', 'lol', 'l0'])
    const a = rng.pick(vals)
    const b = rng.pick(vals)
    const [first, second] = a.index < b.index ? [a, b] : [b, a]
    const alias = rng.chance(0.2) ? '*undefined' : `*${name}`
    return s.slice(0, first.index + 2) + `&${name} ` + s.slice(first.index + 2, second.index + 2) + alias + s.slice(second.index + second[0].length)
  },
  // a billion-laughs alias bomb, at the top or as the value of a real key
  (s, rng) => {
    if (rng.chance(0.5)) return `${aliasBomb(rng)}\n${s}`
    const key = rng.pick(['listeners', 'routes', 'upstreams', 'admin', 'log'])
    return s.replace(new RegExp(`^${key}:`, 'm'), `bomb:\n${aliasBomb(rng, '  ')}\n${key}: *l${rng.int(0, 2)}\nformer_${key}:`)
  },
  // truncate
  (s, rng) => s.slice(0, rng.int(0, s.length)),
  // swap two lines
  (s, rng) => { const lines = s.split('\n'); const i = rng.int(0, lines.length - 1); const j = rng.int(0, lines.length - 1); [lines[i], lines[j]] = [lines[j]!, lines[i]!]; return lines.join('\n') },
  // rename a key
  (s, rng) => { const keys = [...s.matchAll(/^( *(?:- )?)([\w-]+):/gm)]; if (keys.length === 0) return s; const m = rng.pick(keys); const k = m[2]!; const p = rng.int(0, k.length - 1); const nk = rng.chance(0.3) ? rng.pick(['__proto__', 'constructor', 'toString', '<<', '? x', '"quoted"', '1', 'null', '']) : k.slice(0, p) + rng.pick(['', 'x', '_', '-', k[p]!.toUpperCase()]) + k.slice(p + 1); return s.slice(0, m.index + m[1]!.length) + nk + s.slice(m.index + m[1]!.length + k.length) },
  // line endings
  (s, rng) => (rng.chance(0.5) ? s.replace(/\n/g, rng.pick(['\r\n', '\r', '\n\n', ' \n'])) : s.replace(/\n/, rng.pick(['\r', '\u2028', '\x85', '\f']))),
  // random bytes
  (s, rng) => { const p = rng.int(0, s.length); return s.slice(0, p) + rng.bytes(rng.int(1, 16)) + s.slice(p) },
  // a second document, or directives
  (s, rng) => rng.pick([`${s}\n---\n${s}`, `%YAML 1.1\n---\n${s}`, `%TAG ! tag:x,2000:\n---\n${s}`, `--- |\n${s}`, `${s}\n...\n`]),
]

function mutate(rng: Rng): string {
  let s = rng.chance(0.7) ? EXAMPLE : MINIMAL
  const n = rng.int(1, 5)
  for (let i = 0; i < n; i++) s = rng.pick(mutations)(s, rng)
  return s
}

// ---------------------------------------------------------------------------------------
// (b) right shapes, wrong types

const STRINGS = ['', ' ', 'a', 'auto', '10ms', '1.5s', '2m', '1h', '0s', '-1s', '1e3s', '596h', '596.0001h', '3', 'http://127.0.0.1:3001', 'http://localhost:1', 'https://h:1', 'http://h', 'ftp://h:1', 'http://u:p@h:1', 'http://h:1/x', 'http://[::1]:80', '::', '::1', '[::1]', '0.0.0.0', '127.0.0.1', 'localhost', 'bad host', '*.example.com', '*.', 'api.example.com', 'API.Example.COM.', '/', '/api', '/api/', '/a?b', '/a b', 'api', '200', '200-399', '399-200', '99-600', 'round_robin', 'least_connections', 'info', 'silent', 'verbose', 'app', 'api', '__proto__', 'constructor', 'toString', 'x'.repeat(300), '\0', '\u2028', 'ü', '😀', '\uD800', 'yes', 'null', '~', '16KiB', '1mb', '10k', '-5', '1e400']

function randomScalar(rng: Rng): unknown {
  switch (rng.int(0, 9)) {
    case 0: return null
    case 1: return rng.chance(0.5)
    case 2: return rng.int(-5, 70000)
    case 3: return rng.pick([0, -0, 1, -1, 0.5, 1e21, -1e21, 2 ** 53 + 2, Number.MAX_VALUE, Infinity, -Infinity, NaN, 65535, 65536, 1000, 1001, 10, 11])
    case 4: return rng.chance(0.5) ? BigInt('123456789012345678901234567890') : BigInt(rng.int(-3, 3))
    case 5: return rng.bytes(rng.int(0, 12))
    case 6: return Buffer.from(rng.bytes(rng.int(0, 8)), 'latin1')
    case 7: return new Date(rng.int(0, 2 ** 31) * 1000)
    default: return rng.pick(STRINGS)
  }
}

function randomValue(rng: Rng, depth: number): unknown {
  const r = rng.int(0, 9)
  if (depth <= 0 || r < 6) return randomScalar(rng)
  if (r < 8) return Array.from({ length: rng.int(0, 4) }, () => randomValue(rng, depth - 1))
  const m = new Map<unknown, unknown>()
  for (let i = rng.int(0, 4); i > 0; i--) {
    const key = rng.chance(0.8) ? rng.pick([...STRINGS, 'name', 'port', 'url', 'servers', 'match']) : randomScalar(rng)
    m.set(key, randomValue(rng, depth - 1))
  }
  return m
}

/**
 * Builds one random document. `w` (per case, 0 to 0.6) is how wrong it gets: each field is
 * absent, a good value, a plausible bad value, or any random value of any type.
 */
class Shapes {
  constructor(private readonly rng: Rng, private readonly w: number) {}

  /** An optional field: absent (its default) now and then, else good, bad or random. */
  opt(good: readonly unknown[], bad: readonly unknown[]): unknown {
    return this.rng.chance(0.3) ? undefined : this.req(good, bad)
  }

  /** A required field: absent only when things go wrong. */
  req(good: readonly unknown[], bad: readonly unknown[]): unknown {
    const { rng, w } = this
    if (rng.chance(w * 0.2)) return undefined
    if (rng.chance(w * 0.5)) return randomValue(rng, 3)
    if (rng.chance(w) && bad.length > 0) return rng.pick(bad)
    return rng.pick(good)
  }

  /** A structured field (map or list) built by `make`, or absent / random when things go wrong. */
  sub(make: () => unknown, optional = true): unknown {
    const { rng, w } = this
    if (optional && rng.chance(0.3)) return undefined
    if (rng.chance(w * 0.2)) return undefined
    if (rng.chance(w * 0.3)) return randomValue(rng, 3)
    return make()
  }

  map(entries: Record<string, unknown>): Map<unknown, unknown> {
    const m = new Map<unknown, unknown>()
    for (const [k, v] of Object.entries(entries)) if (v !== undefined) m.set(k, v)
    if (this.rng.chance(this.w * 0.2)) m.set(this.rng.pick(['nmae', 'prot', 'extra', '__proto__', 'Port', 'url ', 'constructor']), randomScalar(this.rng))
    return m
  }

  list(max: number, item: () => unknown): unknown[] {
    const n = this.rng.chance(this.w) ? this.rng.int(0, max) : this.rng.int(1, Math.min(max, 2))
    return Array.from({ length: n }, item)
  }
}

const GOOD_DURATIONS = ['250ms', '1s', '1.5s', '2m', '1h', '596h', '10s']
const BAD_DURATIONS = ['0s', '-1s', '10', 10, '1 s', '1S', 's', '597h', '0.0000001ms', '1e3s', 'NaNs', '']

function randomShapes(rng: Rng): string {
  const w = rng.pick([0, 0, 0.03, 0.1, 0.3, 0.6])
  const f = new Shapes(rng, w)
  const upstreamNames = Array.from({ length: rng.int(1, 3) }, (_, i) => (rng.chance(w) ? rng.pick(['bad name', '', '__proto__', 'constructor', 'ü', 'app']) : `up${i}`))
  const port = (): unknown => f.req([0, 0, 8080, 8081, 65535], [65536, -1, '8080', 80.5, 1e40, 9090])
  const doc = f.map({
    listeners: f.sub(() => f.list(3, () => f.sub(() => f.map({
      name: f.opt(['public', 'internal', 'a'], ['', 7]),
      address: f.opt(['0.0.0.0', '127.0.0.1', '::', '::1', 'localhost'], ['[::1]', '300.1.1.1', 'bad host', '']),
      port: port(),
      max_connections: f.opt([0, 1, 100], [-1, 1.5, 1e40]),
      max_body_size: f.opt(['1mb', '10MiB', '1k', 0, 1024], ['-1', '1.5g', 'x', '1e400']),
      max_header_size: f.opt(['16KiB', '8k', 1024, '1MiB'], ['512', 1024 ** 3, '0']),
      timeouts: f.sub(() => f.map({ request_head: f.opt(GOOD_DURATIONS, BAD_DURATIONS), request: f.opt(GOOD_DURATIONS, BAD_DURATIONS), keep_alive: f.opt(GOOD_DURATIONS, BAD_DURATIONS) })),
    }), false)), false),
    admin: f.sub(() => f.map({
      address: f.opt(['127.0.0.1', '::1', '0.0.0.0'], ['', 'nope nope']),
      port: f.opt([0, 19090], [8080, 70000, '9090']),
      request_metrics: f.opt([true, false], ['false', 0]),
    })),
    workers: f.opt([1, 2, 'auto'], [0, -1, 1.5, 'AUTO', '2']),
    shutdown_timeout: f.opt(GOOD_DURATIONS, BAD_DURATIONS),
    log: f.sub(() => f.map({ level: f.opt(['info', 'debug', 'silent', 'warn'], ['INFO', 'verbose', 3]), access_log: f.opt([true, false], ['yes', 1]), access_log_format: f.opt(['json', 'combined'], ['apache', 'JSON', 2]) })),
    upstreams: f.sub(() => {
      const m = new Map<unknown, unknown>()
      let server = 0
      for (const name of upstreamNames) {
        let discovers = false
        m.set(rng.chance(w * 0.5) ? randomScalar(rng) : name, f.sub(() => f.map({
          balance: f.opt(['round_robin', 'least_connections', 'ip_hash', 'hash', 'random_two'], ['random', 'RoundRobin']),
          hash_key: f.opt(['client_ip', 'path', 'header:X-User', 'cookie:sid'], ['header:', 'cookie:a b', 'url', 3]),
          sticky: f.sub(() => f.map({ cookie: f.opt(['sy_server', 'route'], ['', 'a;b', 1]), max_age: f.opt(GOOD_DURATIONS, BAD_DURATIONS) })),
          slow_start: f.opt(GOOD_DURATIONS, BAD_DURATIONS),
          servers: f.sub(() => f.list(4, () => f.sub(() => {
            // Mostly url: servers; now and then one found by DNS (dns: or srv:), rarely both kinds at once.
            const kind = rng.chance(0.85) ? 'url' : rng.chance(0.5) ? 'dns' : 'srv'
            if (kind !== 'url') discovers = true
            return f.map({
              url: kind === 'url' || rng.chance(w * 0.1) ? f.req([`http://127.0.0.1:${3000 + server++}`, `http://h${server++}.internal:80`, `http://[::1]:${4000 + server++}`], ['https://h:1', 'http://h', 'http://u:p@h:1', 'http://h:1/p', 'ftp://h:1', 'http://127.0.0.1:3000']) : undefined,
              dns: kind === 'dns' ? f.req([`app${server++}.internal:8000`, 'App.Internal.:80'], ['10.0.0.1:80', 'app.internal', 'http://a:1', 'a:0', 8000]) : undefined,
              srv: kind === 'srv' ? f.req(['_http._tcp.app.service.consul', 'web.service.consul.'], ['_h._tcp.a:80', 'a b', '']) : undefined,
              weight: kind === 'srv' && !rng.chance(w * 0.2) ? undefined : f.opt([1, 2, 1000], [0, 1001, 1.5, '1']),
            })
          }, false)), false),
          // Meaningful only next to a dns:/srv: server (else an error): written then, and now and then elsewhere.
          resolve_interval: discovers || rng.chance(w * 0.1) ? f.opt(GOOD_DURATIONS.filter((d) => d !== '250ms'), [...BAD_DURATIONS, '999ms']) : undefined,
          resolver: discovers || rng.chance(w * 0.1) ? f.opt(['127.0.0.1', '127.0.0.1:8600', '[::1]:53', '::1'], ['dns.internal', '127.0.0.1:0', '[::1', 53]) : undefined,
          max_connections_per_server: f.opt([1, 128], [0, -1, 1e40]),
          retries: f.opt([0, 2, 10], [11, -1, 2.5]),
          timeouts: f.sub(() => f.map({ connect: f.opt(GOOD_DURATIONS, BAD_DURATIONS), response_headers: f.opt(GOOD_DURATIONS, BAD_DURATIONS), idle: f.opt(GOOD_DURATIONS, BAD_DURATIONS) })),
          health_check: f.sub(() => f.map({
            path: f.opt(['/health', '/', '/ready?x=1'], ['health', '']),
            interval: f.opt(GOOD_DURATIONS, BAD_DURATIONS),
            timeout: f.opt(GOOD_DURATIONS, BAD_DURATIONS),
            healthy_threshold: f.opt([1, 2], [0, -1]),
            unhealthy_threshold: f.opt([1, 3], [0, 1.5]),
            expected_status: f.opt([200, '200-399', [200, '300-399'], 204], ['399-200', 99, 600, [], '2xx']),
          })),
          passive_health: f.sub(() => f.map({ consecutive_failures: f.opt([1, 3], [0, -2, 1e40]), eject_duration: f.opt(GOOD_DURATIONS, BAD_DURATIONS) })),
        }), false))
      }
      return m
    }, false),
    // With one upstream, routes may be left out; with several they are required.
    routes: upstreamNames.length === 1 && rng.chance(0.5) ? undefined : f.sub(() => f.list(4, () => f.sub(() => {
      // One route in five serves static files (and has no upstream, unless things go wrong).
      const files = rng.chance(0.2)
      return f.map({
        match: f.sub(() => f.map({
          host: f.opt(['api.example.com', '*.example.com', '[::1]', `h${rng.int(0, 9)}.test`], ['API.example.com', 'a:80', '*', '*.', '']),
          path_prefix: f.opt(['/', '/api', `/p${rng.int(0, 9)}`], ['api', '/a?b', '/a b', '']),
        })),
        upstream: files && !rng.chance(w) ? undefined : f.req(upstreamNames, ['missing', 1]),
        static: !files ? undefined : f.sub(() => f.map({
          root: f.req([tmpdir(), '/'], ['relative/dir', '/does/not/exist', `${tmpdir()}/`, '']),
          cache_control: f.opt(['public, max-age=60', 'no-cache'], ['a\nb', '', 5]),
          index: f.opt([false, 'index.html'], [true, '../x', '.i', '']),
          precompressed: f.opt([true, false], ['yes', 1]),
        }), false),
      })
    }, false)), false),
  })
  // The same object used twice becomes an anchor and an alias.
  const text = new Document(doc, { aliasDuplicateObjects: rng.chance(0.5) }).toString({
    collectionStyle: rng.pick(['any', 'block', 'flow'] as const),
    defaultStringType: rng.pick(['PLAIN', 'QUOTE_DOUBLE', 'QUOTE_SINGLE', 'BLOCK_LITERAL'] as const),
  })
  return rng.chance(w * 0.3) ? rng.pick(mutations)(text, rng) : text
}

// ---------------------------------------------------------------------------------------
// Fixed pathological inputs

function billionLaughs(width: number, depth: number): string {
  const lines = [`a0: &a0 [${Array(width).fill('"lol"').join(',')}]`]
  for (let d = 1; d < depth; d++) lines.push(`a${d}: &a${d} [${Array(width).fill(`*a${d - 1}`).join(',')}]`)
  return lines.join('\n')
}

const fixed: [string, string][] = [
  ['billion laughs (9 x 9) as top-level keys', `${EXAMPLE}\n${billionLaughs(9, 9)}\n`],
  ['billion laughs as the value of listeners', EXAMPLE.replace(/^listeners:/m, `${billionLaughs(10, 10)}\nlisteners: *a9\nold_listeners:`)],
  ['a quadratic-blowup string alias', `a: &a "${'x'.repeat(100_000)}"\nb: [${Array(90).fill('*a').join(',')}]\n`],
  ['an alias to a later anchor', 'listeners: *later\nupstreams: &later {}\n'],
  ['a self-referencing anchor', 'listeners: &l [*l]\nupstreams: {}\n'],
  ['5,000 nested flow sequences', `${EXAMPLE}\nroutes2: ${'['.repeat(5000)}${']'.repeat(5000)}\n`],
  ['3,000 nested block mappings', `listeners:\n${Array.from({ length: 3000 }, (_, i) => `${' '.repeat(i + 1)}k:`).join('\n')} 1\n`],
  ['a 1 MB key', `${'k'.repeat(1_000_000)}: 1\n`],
  ['a 1 MB line of spaces', `${' '.repeat(1_000_000)}\n`],
  ['only NUL bytes', '\0'.repeat(1000)],
  ['a lone surrogate', `listeners: [{port: 1, name: "\uD800"}]\nupstreams: {a: {servers: [{url: "http://h:1"}]}}\n`],
  ['a valid config with a BOM and CRLF', `\uFEFF${EXAMPLE.replace(/\n/g, '\r\n')}`],
]

// Large but plain files: parsing must stay roughly linear in the size of the file.
const scale: [string, string][] = [
  ['5,000 unknown top-level keys (60 KB)', `${EXAMPLE}\n${Array.from({ length: 5000 }, (_, i) => `k${i}: ${i}`).join('\n')}\n`],
  ['3,000 duplicate keys (36 KB)', `${EXAMPLE}\n${Array.from({ length: 3000 }, (_, i) => `workers: ${i}`).join('\n')}\n`],
  ['5,000 aliases of one anchor (15 KB)', `${EXAMPLE}\nx: &x 1\ny: [${Array(5000).fill('*x').join(', ')}]\n`],
  ['1,500 chained anchors (30 KB)', `${EXAMPLE}\n${Array.from({ length: 1500 }, (_, i) => (i === 0 ? 'a0: &a0 1' : `a${i}: &a${i} [*a${i - 1}]`)).join('\n')}\n`],
  ['4,000 servers in one upstream (180 KB)', EXAMPLE.replace('      - url: http://127.0.0.1:3001', Array.from({ length: 4000 }, (_, i) => `      - url: http://10.0.${i >> 8}.${i & 255}:80`).join('\n'))],
]

// ---------------------------------------------------------------------------------------

describe(`config loader fuzz (FUZZ_SEED=${SEED}, ${CASES} cases per generator)`, () => {
  beforeAll(() => { watchdog = startWatchdog(10_000, `config fuzz FUZZ_SEED=${SEED}`) })
  afterAll(async () => { await watchdog.stop() })

  it('the example config and the minimal config are accepted (the generators start from valid text)', () => {
    expect(judge(EXAMPLE)).toMatchObject({ ok: true, property: null, invariant: null })
    expect(judge(MINIMAL)).toMatchObject({ ok: true, property: null, invariant: null })
  })

  it('random mutations of the example config text', () => {
    const { failures } = run('mutation', mutate)
    expect(failures.length, report('mutation', failures)).toBe(0)
  }, 60_000)

  it('random values of the right shapes with the wrong types', () => {
    const { failures } = run('shapes', randomShapes)
    expect(failures.length, report('shapes', failures)).toBe(0)
  }, 60_000)

  it('every generated config that is accepted satisfies the documented invariants', () => {
    for (const [kind, generate] of [['mutation', mutate], ['shapes', randomShapes]] as const) {
      const { invariantFailures } = run(kind, generate)
      expect(invariantFailures.length, report(kind, invariantFailures)).toBe(0)
    }
  }, 60_000)

  it('the JSON Schema agrees with the loader on every generated config', () => {
    for (const [kind, generate] of [['mutation', mutate], ['shapes', randomShapes]] as const) {
      const { schemaFailures } = run(kind, generate)
      expect(schemaFailures.length, report(kind, schemaFailures)).toBe(0)
    }
    if (process.env.FUZZ_CASE) return
    // Both sides of the comparison are reached: accepted by both, refused by both, and
    // refused by the loader alone for a reason of LOADER_ONLY.
    const verdicts = (kind: Agreement['kind']): number => (runs.get('mutation')?.schemaVerdicts.get(kind) ?? 0) + (runs.get('shapes')?.schemaVerdicts.get(kind) ?? 0)
    expect(verdicts('both accept')).toBeGreaterThan(0)
    expect(verdicts('both refuse')).toBeGreaterThan(0)
    expect(verdicts('loader only')).toBeGreaterThan(0)
  }, 60_000)

  it('the generators reach both sides: some configs are accepted, most are refused', () => {
    if (process.env.FUZZ_CASE) return // one replayed case proves nothing here
    for (const [kind, generate] of [['mutation', mutate], ['shapes', randomShapes]] as const) {
      const { accepted, total } = run(kind, generate)
      expect(accepted, kind).toBeGreaterThan(0)
      expect(accepted, kind).toBeLessThan(total / 2)
    }
  }, 60_000)

  it.each(fixed)('pathological input: %s', (_name, text) => {
    watchdog.enter(-1)
    const v = judge(text)
    watchdog.leave()
    expect(v.property).toBe(null)
    expect(v.invariant).toBe(null)
  })

  it.each(scale)('finishes within 1 s on a large file: %s', (_name, text) => {
    watchdog.enter(-1)
    const v = judge(text)
    watchdog.leave()
    expect(v.property).toBe(null)
  })
})
