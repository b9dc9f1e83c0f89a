// Configs drawn from the JSON Schema itself (src/config/schema.ts), through the loader and the
// schema. The loader's own fuzz (config-fuzz.test.ts) knows the keys its generators were
// written for; this one walks the schema, so every key the schema has (a key added later
// too) gets random values: mostly good ones, some at and past the bounds, some of the wrong
// type, now and then an unknown key. Property: the two agree (test/helpers/config-schema.ts):
// what the loader accepts the schema accepts, and what the schema accepts the loader refuses
// only for a LOADER_ONLY reason. Keys of the contract the loader does not read yet (PENDING)
// are left out: the loader could only call them unknown.
// Seeded: FUZZ_SEED, FUZZ_CASES (default 1,000), FUZZ_CASE replay one case (its text is printed).
import { tmpdir } from 'node:os'
import { describe, expect, it } from 'vitest'
import { Document } from 'yaml'
import { configSchema } from '../../src/config/schema.js'
import { parseConfig } from '../../src/config/load.js'
import { agreement, PENDING, type Agreement } from '../helpers/config-schema.js'
import { fuzzCases, fuzzIndexes, fuzzSeed, Rng } from '../helpers/prng.js'

const SEED = fuzzSeed(0x5c4e3a)
const CASES = fuzzCases(1000)

type Node = { readonly [keyword: string]: unknown }
const SCHEMA = configSchema() as Node
const DEFS = SCHEMA.$defs as Record<string, Node>
const deref = (n: Node): Node => (typeof n.$ref === 'string' ? deref(DEFS[n.$ref.replace('#/$defs/', '')] as Node) : n)

/** Strings by the schema's own patterns, then by key name: [good values, bad values]. */
const BY_PATTERN: [RegExp, readonly unknown[], readonly unknown[]][] = [
  [/\(ms\|s\|m\|h\)/, ['1s', '250ms', '1.5m', '2h', '596h'], ['0s', '0.0001ms', '597h', '2', 2, '1 s', '1S']],
  [/\[kmgKMG\]/, [0, 1024, 4096, '64k', '1m', '1.5m', ' 8 KB '], ['10', '1t', '-1', 2 ** 53, '1e3']],
  [/client_ip\|path/, ['client_ip', 'path', 'header:X-User', 'cookie:sid'], ['header:', 'cookie:a b', 'url']],
  [/client_ip\|route/, ['client_ip', 'route', 'header:X-Key'], ['header:', 'ip']],
  [/^\^\/\[\^\?#/, ['/', '/api', '/api/'], ['/a?b', 'api', '/a b']],
  [/^\^\/\[\^\\s#\]/, ['/health', '/', '/ready?x=1'], ['health', '/a#b']],
  [/^\^\/$/, [tmpdir(), '/nonexistent/file.pem'], ['relative/dir', '']],
  [/\[1-5\]\[0-9\]\[0-9\]/, ['200-399', '204', ' 200 - 299 '], ['399-200', '99', '2xx', '200-600']],
  [/\(401\|403/, ['503', '404', 502], ['500', 'x']],
  [/A-Za-z0-9_\.-/, ['web', 'a.b-c_d'], ['bad name', '']],
  [/!#\$%&/, ['sy_server', 'X-Probe'], ['a;b', '']],
  [/\\x20\\x21/, ['staff', 'Staff area'], ['a"b', 'é']],
  [/\\t\\x20-\\x7e\]\+\$/, ['public, max-age=60', 'no-cache'], ['a\nb', '']],
  [/^\^\[\^\.\//, ['index.html'], ['.hidden', '../x', 'a/b']],
  [/\[\^\*\?\[/, ['switchyard:', '', 'site:'], ['a b', 'k*']],
  [/\[\^\\s\/\]\+\(\/\[0-9\]/, ['10.0.0.0/8', '::1', '192.168.1.7', '2001:db8::/32'], ['10.0.0.1/8', '10.0.0.0/33', 'nope']],
  [/\[\^\\s\/\]\+:\[0-9\]/, ['app.internal:8000', '127.0.0.1:8000'], ['app', 'a b:1']],
  [/\\x80-\\xff/, ['1', 'yes', 'prod'], [' padded ', 'a\u0007b']],
  [/\[\^\\s@\]/, ['ops@example.com'], ['ops', 'a b@c']],
  [/\|\\\*\)/, ['text/*', 'application/json', ' text/html '], ['text', 'a/b/c']],
]
const BY_KEY: Record<string, readonly [readonly unknown[], readonly unknown[]]> = {
  url: [['http://127.0.0.1:3001', 'http://127.0.0.1:3002', 'http://[::1]:3003', 'unix:/run/app.sock', 'redis://127.0.0.1:6379'], ['http://h', 'ftp://h:1', 'http://h:1/p', 'rediss://h', 'http://u:p@h:1']],
  upstream: [['app'], ['missing']],
  cache: [['c'], ['nope']],
  address: [['127.0.0.1', '::1', 'localhost'], ['[::1]', 'bad host']],
  host: [['api.example.com', '*.example.com', 'app.local'], ['app.local:8000', 'a:b:c', '*']],
  to: [['https://example.com{path}', 'https://{host}/x', '/moved'], ['{nope}', 'a}']],
  server_name: [['app.internal'], ['bad name']],
  name: [['web', 'a-1'], ['bad name']],
}
const GENERIC: readonly [readonly unknown[], readonly unknown[]] = [['app', 'x', 'prod'], ['', 'a b']]

/** A string for `node`, the schema of the key `key`: a good one, or with chance `bad` a bad one. */
function stringFor(rng: Rng, node: Node, key: string, bad: number): unknown {
  const pattern = typeof node.pattern === 'string' ? node.pattern : ''
  const byPattern = BY_PATTERN.find(([re]) => re.test(pattern))
  const [good, wrong] = byPattern === undefined ? BY_KEY[key] ?? GENERIC : [byPattern[1], byPattern[2]]
  return rng.chance(bad) ? rng.pick(wrong) : rng.pick(good)
}

const JUNK: readonly unknown[] = ['x', 0, -1, 1.5, true, null, [], new Map(), 'yes', '~']

/** A random value for `node` (the schema of the key `key`); `w` is how often things go wrong. */
function generate(rng: Rng, node: Node, key: string, w: number, depth: number): unknown {
  node = deref(node)
  if (rng.chance(w * 0.15)) return rng.pick(JUNK)
  const alternatives = [...(node.anyOf as Node[] | undefined ?? []), ...(node.oneOf as Node[] | undefined ?? [])]
    .filter((b) => b.type !== undefined || b.$ref !== undefined || b.const !== undefined)
  if (alternatives.length > 0) {
    const nonNull = alternatives.filter((b) => b.type !== 'null')
    return generate(rng, rng.chance(0.05) || nonNull.length === 0 ? rng.pick(alternatives) : rng.pick(nonNull), key, w, depth)
  }
  if (node.const !== undefined) return node.const
  if (Array.isArray(node.enum)) return rng.chance(w * 0.3) ? rng.pick(['bogus', 7, 'INFO']) : rng.pick(node.enum.filter((v) => v !== null))
  const types = Array.isArray(node.type) ? (node.type as string[]) : [node.type as string]
  const nonNull = types.filter((t) => t !== 'null')
  const type = rng.chance(0.05) || nonNull.length === 0 ? rng.pick(types) : rng.pick(nonNull)
  switch (type) {
    case 'null': return null
    case 'boolean': return rng.chance(0.5)
    case 'number': return rng.pick([0, 0.2, 1, 1.5, -0.1])
    case 'integer': {
      const min = node.minimum as number
      const max = node.maximum as number
      if (rng.chance(w)) return rng.pick([min - 1, max + 1, 1.5])
      return rng.pick([min, max, min + 1, node.default ?? min].filter((v) => typeof v === 'number'))
    }
    case 'string': return stringFor(rng, node, key, w)
    case 'array': {
      const min = (node.minItems as number | undefined) ?? 0
      const n = rng.chance(w) ? rng.int(0, 3) : rng.int(min, Math.max(min, 2))
      return Array.from({ length: n }, () => generate(rng, node.items as Node, key, w, depth + 1))
    }
    case 'object': return generateMap(rng, node, key, w, depth)
    default: throw new Error(`no generator for type ${String(type)} at ${key}`)
  }
}

/** Keys of the contract this loader does not read yet (never generated). */
const PENDING_NAMES: ReadonlySet<string> = new Set(Object.values(PENDING).flat())

const DICT_NAMES: Record<string, readonly string[]> = { upstreams: ['app', 'app', 'api'], caches: ['c', 'd'] }

function generateMap(rng: Rng, node: Node, key: string, w: number, depth: number): Map<string, unknown> {
  const out = new Map<string, unknown>()
  const properties = node.properties as Record<string, Node> | undefined
  if (properties !== undefined) {
    // The required keys, and those of one constraint branch (a server's url, a route's upstream...).
    const required = new Set((node.required as string[] | undefined) ?? [])
    const branches = [...(node.anyOf as Node[] | undefined ?? []), ...(node.oneOf as Node[] | undefined ?? [])]
      .map((b) => (b.required as string[] | undefined) ?? []).filter((r) => r.length > 0 && !r.some((k) => PENDING_NAMES.has(k)))
    if (branches.length > 0) for (const k of rng.pick(branches)) required.add(k)
    for (const [k, v] of Object.entries(properties)) {
      if (PENDING_NAMES.has(k)) continue // the loader does not read it yet: it can only say "unknown key"
      const wanted = required.has(k) ? !rng.chance(w * 0.2) : rng.chance(depth === 0 ? 0.5 : 0.15)
      if (wanted) out.set(k, generate(rng, v, k, w, depth + 1))
    }
    if (rng.chance(w * 0.1)) out.set(rng.pick(['nmae', 'extra', 'Port', 'timeout']), 1)
  }
  if (typeof node.additionalProperties === 'object') {
    const names = node.propertyNames as Node | undefined
    const n = rng.int((node.minProperties as number | undefined) ?? 0, 2)
    for (let i = 0; i < n; i++) {
      const name = DICT_NAMES[key] !== undefined ? rng.pick(DICT_NAMES[key]) : String(stringFor(rng, names ?? {}, key, w))
      out.set(name, generate(rng, node.additionalProperties as Node, name, w, depth + 1))
    }
  }
  return out
}


describe(`configs drawn from the JSON Schema (FUZZ_SEED=${SEED}, ${CASES} cases)`, () => {
  it('every pattern of the schema has sample values here (BY_PATTERN)', () => {
    const patterns = new Set<string>()
    JSON.stringify(SCHEMA, (k, v: unknown) => {
      if (k === 'pattern' && typeof v === 'string') patterns.add(v)
      return v
    })
    const without = [...patterns].filter((p) => !BY_PATTERN.some(([re]) => re.test(p)))
    expect(without, 'patterns of src/config/schema.ts without values in BY_PATTERN of this file').toEqual([])
  })

  it('the loader and the schema agree on each', () => {
    const verdicts = new Map<Agreement['kind'], number>()
    const failures: string[] = []
    const indexes = fuzzIndexes(CASES)
    for (const index of indexes) {
      const rng = new Rng(SEED, index)
      const w = rng.pick([0, 0, 0, 0.05, 0.2])
      const text = new Document(generate(rng, SCHEMA, '', w, 0)).toString()
      if (indexes.length === 1) console.log(`case ${index}:\n${text}`)
      const a = agreement(text, parseConfig(text))
      verdicts.set(a.kind, (verdicts.get(a.kind) ?? 0) + 1)
      if (a.kind === 'disagree' && failures.length < 5) failures.push(`FUZZ_SEED=${SEED} FUZZ_CASE=${index}: ${a.message}\n${text}`)
    }
    console.log(`schema fuzz: ${[...verdicts].map(([k, n]) => `${k} ${n}`).join(', ')}`)
    expect(failures, failures.join('\n\n')).toEqual([])
    if (indexes.length === 1) return
    // Both sides are reached: configs both accept, both refuse, and the loader alone refuses.
    expect(verdicts.get('both accept') ?? 0).toBeGreaterThan(CASES / 100)
    expect(verdicts.get('both refuse') ?? 0).toBeGreaterThan(CASES / 10)
    expect(verdicts.get('loader only') ?? 0).toBeGreaterThan(CASES / 20)
  }, 60_000)
})
