// The JSON Schema of the config (src/config/schema.ts, config/switchyard.schema.json) says what
// the loader says. Checked here:
// - the shipped file is the schema's text, byte for byte (`npm run schema` writes it);
// - the keys: every map the loader reads (checkMap tells Problems.onMap its key list and path)
//   has the same keys in the schema, and every map of the schema is one the loader reads. This
//   is what keeps them in step when a key is added on either side. Keys of the contract the
//   loader does not read yet are listed in PENDING;
// - every `default` of the schema is valid against its own key;
// - the example config and every YAML example of the docs are valid;
// - a table of configs, each judged the same by both (typical mistakes, empty values).
// The fuzz corpus of the loader goes through both in test/fuzz/config-fuzz.test.ts.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { Ajv as AjvDraft07 } from 'ajv'
import { configSchema, configSchemaText } from '../../src/config/schema.js'
import { parseConfig } from '../../src/config/load.js'
import { compileConfig } from '../../src/config/compile.js'
import { Cursor } from '../../src/config/fields.js'
import { Problems } from '../../src/config/problems.js'
import { parseYaml } from '../../src/config/yaml-source.js'
import { agreement, errorsText, PENDING, pendingMap, schemaValidator, yamlData } from '../helpers/config-schema.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8')

type Node = { readonly [keyword: string]: unknown }
const SCHEMA = configSchema() as Node
const DEFS = SCHEMA.$defs as Record<string, Node>

/** Keys the loader knows only to refuse them with a pointer to the right place: not in the schema. */
const KNOWN_TO_REFUSE: Record<string, readonly string[]> = {
  'routes[].timeouts': ['connect'], // "is set per upstream (upstreams.<name>.timeouts.connect)"
}

// ---- walking the schema ---------------------------------------------------------------------

const deref = (n: Node): Node => (typeof n.$ref === 'string' ? deref(DEFS[n.$ref.replace('#/$defs/', '')] as Node) : n)
/** The alternative shapes of a node (`oneOf: [boolean, map]`, null or a $ref), not its constraint branches (`anyOf: [{ required }]`). */
const shapes = (n: Node): Node[] => [n, ...[...(n.anyOf as Node[] | undefined ?? []), ...(n.oneOf as Node[] | undefined ?? [])]
  .filter((b) => b.type !== undefined || b.$ref !== undefined || b.const !== undefined)
  .flatMap((b) => shapes(deref(b)))]
const child = (label: string, key: string): string => (label === '' ? key : `${label}.${key}`)

/** The schema node of a map (one with `properties`) at a data path, and its label (`upstreams.<name>.servers[]`). */
function mapAt(path: readonly unknown[]): { label: string; node: Node } | undefined {
  let nodes = [deref(SCHEMA)]
  let label = ''
  for (const seg of path) {
    const next: Node[] = []
    let step: string | undefined
    for (const n of nodes.flatMap(shapes)) {
      const property = (n.properties as Record<string, Node> | undefined)?.[String(seg)]
      if (typeof seg === 'number') {
        if (n.items === undefined) continue
        next.push(deref(n.items as Node))
        step = `${label}[]`
      } else if (property !== undefined) {
        next.push(deref(property))
        step = child(label, String(seg))
      } else if (typeof n.additionalProperties === 'object') {
        next.push(deref(n.additionalProperties as Node))
        step = child(label, '<name>')
      }
    }
    if (step === undefined) return undefined
    nodes = next
    label = step
  }
  const node = nodes.flatMap(shapes).find((n) => n.properties !== undefined)
  return node === undefined ? undefined : { label, node }
}

/** Every map of the schema by label. */
function schemaMaps(): Map<string, Node> {
  const out = new Map<string, Node>()
  const walk = (node: Node, label: string): void => {
    for (const n of shapes(deref(node))) {
      if (n.items !== undefined) walk(n.items as Node, `${label}[]`)
      if (typeof n.additionalProperties === 'object') walk(n.additionalProperties as Node, child(label, '<name>'))
      if (n.properties === undefined) continue
      out.set(label, n)
      for (const [k, v] of Object.entries(n.properties as Record<string, Node>)) walk(v, child(label, k))
    }
  }
  walk(SCHEMA, '')
  return out
}

// ---- what the loader reads ------------------------------------------------------------------

/** A config that reaches every map the loader reads (most are read when absent too). Its values need not be valid. */
const EVERY_MAP = `
listeners:
  - port: 8080
    tls: { certificates: [{}], acme: {} }
upstreams:
  app:
    servers: [{}]
    health_check: {}
    sticky: {}
    buffering: {}
    queue: {}
    retry_budget: {}
    tls: {}
caches:
  c: { store: redis, redis: {} }
routes:
  - upstream: app
    buffering: {}
    timeouts: {}
    request_headers: {}
    response_headers: {}
    redirect: {}
    rate_limit: { store: redis, redis: {} }
    basic_auth: {}
    compress: { level: {} }
  - static: { file_cache: {} }
`

/** label -> the keys the loader's checkMap knows there. */
function loaderMaps(text: string): Map<string, readonly string[]> {
  const parsed = parseYaml(text)
  if (!parsed.ok) throw new Error('EVERY_MAP does not parse')
  const problems = new Problems(parsed.lines)
  const out = new Map<string, readonly string[]>()
  problems.onMap = (path, known) => {
    const at = mapAt(path)
    out.set(at?.label ?? `(no map in the schema at ${path.map(String).join('.')})`, known)
  }
  compileConfig(new Cursor(problems, [], parsed.data))
  return out
}

const lines = (items: readonly string[]): string => items.map((i) => `\n  - ${i}`).join('')

describe('the schema file', () => {
  it('config/switchyard.schema.json is what `switchyard schema` prints', () => {
    expect(read('config/switchyard.schema.json') === configSchemaText(), 'config/switchyard.schema.json is stale: run `npm run build && npm run schema`').toBe(true)
  })

  it('is a valid draft 2020-12 schema (ajv, strict)', () => {
    expect(SCHEMA.$schema).toBe('https://json-schema.org/draft/2020-12/schema')
    expect(() => schemaValidator()).not.toThrow()
  })

  it('uses only keywords that mean the same in draft-07, which yaml-language-server (VS Code) applies', () => {
    // Its validator reads draft-07: a $ref there ignores its sibling keywords, and
    // dependentRequired, unevaluatedProperties, prefixItems... do not exist. $defs is reached by
    // its JSON pointer either way.
    const SAME = new Set(['$schema', 'title', 'description', 'default', '$ref', '$defs', 'type', 'enum', 'const', 'properties',
      'additionalProperties', 'required', 'propertyNames', 'minProperties', 'items', 'minItems', 'minimum', 'maximum', 'minLength',
      'pattern', 'anyOf', 'oneOf', 'allOf', 'not', 'if', 'then', 'else'])
    const wrong: string[] = []
    const walk = (n: Node, where: string): void => {
      for (const k of Object.keys(n)) if (!SAME.has(k)) wrong.push(`${where}: ${k}`)
      if (typeof n.$ref === 'string') {
        const siblings = Object.keys(n).filter((k) => !['$ref', 'description', 'default'].includes(k))
        if (siblings.length > 0) wrong.push(`${where}: $ref with ${siblings.join(', ')} (ignored by draft-07: wrap it in anyOf)`)
      }
      for (const [k, v] of Object.entries(n)) {
        if (v === null || typeof v !== 'object' || ['enum', 'const', 'default', 'required', 'type'].includes(k)) continue
        if (k === 'properties' || k === '$defs') for (const [name, sub] of Object.entries(v as Record<string, Node>)) walk(sub, `${where}/${k}/${name}`)
        else if (Array.isArray(v)) v.forEach((sub: Node, i) => walk(sub, `${where}/${k}/${i}`))
        else walk(v as Node, `${where}/${k}`)
      }
    }
    walk(SCHEMA, '#')
    expect(wrong, `keywords a draft-07 validator reads differently:${lines(wrong)}`).toEqual([])
  })

  it('every default is valid against its own key', () => {
    const ajv = new Ajv2020({ strict: false, allowUnionTypes: true })
    const wrong: string[] = []
    const walk = (n: Node, where: string): void => {
      if ('default' in n && !ajv.validate({ ...n, $defs: DEFS }, n.default)) wrong.push(`${where}: ${JSON.stringify(n.default)}: ${errorsText(ajv.errors)}`)
      for (const [k, v] of Object.entries(n)) {
        if (k === 'default' || k === '$defs' || v === null || typeof v !== 'object') continue
        walk(v as Node, `${where}/${k}`)
      }
    }
    walk(SCHEMA, '#')
    expect(wrong, `defaults that their own schema refuses:${lines(wrong)}`).toEqual([])
  })
})

describe('the keys of the schema are the keys of the loader', () => {
  const loader = loaderMaps(EVERY_MAP)
  const schema = schemaMaps()

  it('the loader was seen reading maps (Problems.onMap is called by checkMap)', () => {
    expect(loader.size).toBeGreaterThan(25)
  })

  it('every map the loader reads has the same keys in the schema', () => {
    const wrong: string[] = []
    for (const [label, known] of loader) {
      const node = schema.get(label)
      if (node === undefined) {
        wrong.push(`${label}: the loader reads a map here (keys ${known.join(', ')}); the schema has none`)
        continue
      }
      const inSchema = new Set(Object.keys(node.properties as object))
      const pending = PENDING[label] ?? []
      const refused = KNOWN_TO_REFUSE[label] ?? []
      for (const k of known) {
        if (pending.includes(k)) wrong.push(`${label}.${k}: the loader reads it now: take it off PENDING in test/helpers/config-schema.ts, and the PENDING comment off src/config/schema.ts`)
        else if (!inSchema.has(k) && !refused.includes(k)) wrong.push(`${label}.${k}: read by the loader, missing from src/config/schema.ts`)
      }
      for (const k of inSchema) {
        if (!known.includes(k) && !pending.includes(k)) wrong.push(`${label}.${k}: in src/config/schema.ts, unknown to the loader`)
      }
    }
    expect(wrong, `the schema and the loader differ:${lines(wrong)}`).toEqual([])
  })

  it('every key of the schema has a description (an editor shows it on hover)', () => {
    const bare = [...schema].flatMap(([label, node]) => Object.entries(node.properties as Record<string, Node>)
      .filter(([, v]) => typeof v.description !== 'string' || v.description === '').map(([k]) => `${label}.${k}`))
    expect(bare, `keys without a description in src/config/schema.ts:${lines(bare)}`).toEqual([])
  })

  it('every map of the schema is read by the loader (EVERY_MAP reaches it)', () => {
    const unread = [...schema.keys()].filter((label) => !loader.has(label) && !pendingMap(label))
    expect(unread, `maps of the schema the loader never read from EVERY_MAP: add them to EVERY_MAP in this file, or take them out of the schema:${lines(unread)}`).toEqual([])
  })
})

// ---- examples and a table ---------------------------------------------------------------------

/** Top-level keys of Kubernetes objects and pod specs: a docs example with one is not a switchyard config. */
const KUBERNETES_KEYS = /^(apiVersion|kind|metadata|spec|containers|terminationGracePeriodSeconds):/m

/** The YAML examples of the docs that are switchyard configs (or parts of one), with their page. */
function docsExamples(): [string, string][] {
  const pages = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]
  return pages.flatMap((page) => [...read(page).matchAll(/^```ya?ml\n([\s\S]*?)^```/gm)]
    .map((m, i): [string, string] => [`${page} #${i + 1}`, m[1] as string])
    .filter(([, text]) => !KUBERNETES_KEYS.test(text)))
}

const BASE = { listeners: [{ port: 8080 }], upstreams: { app: { servers: [{ url: 'http://127.0.0.1:3001' }] } } }

/**
 * A docs example as a whole config: top-level keys over BASE, or upstream keys (an example of
 * `sticky:` alone) as the upstream `app`; `[...]` (elided servers) stands for BASE's servers.
 */
function asConfig(example: unknown): unknown {
  const elided = (v: unknown): unknown => Array.isArray(v) ? (v.length === 1 && v[0] === '...' ? BASE.upstreams.app.servers : v.map(elided))
    : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, elided(x)])) : v
  const e = elided(example) as Record<string, unknown>
  const keysOf = (label: string): string[] => Object.keys(schemaMaps().get(label)?.properties as object)
  if (Object.keys(e).every((k) => keysOf('').includes(k))) return { ...BASE, ...e }
  if (Object.keys(e).every((k) => keysOf('upstreams.<name>').includes(k))) return { ...BASE, upstreams: { app: { ...BASE.upstreams.app, ...e } } }
  throw new Error(`cannot place the example's keys ${Object.keys(e).join(', ')}`)
}

describe('examples are valid against the schema', () => {
  it('config/switchyard.yaml, which names the schema for yaml-language-server on its first line', () => {
    const text = read('config/switchyard.yaml')
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=./switchyard.schema.json')
    const validate = schemaValidator()
    expect(validate(yamlData(text)?.data), errorsText(validate.errors)).toBe(true)
    expect(validateDraft07(yamlData(text)?.data), errorsText(validateDraft07.errors)).toBe(true)
  })

  it('the config of the Kubernetes ConfigMap (deploy/kubernetes/configmap.yaml)', () => {
    const map = yamlData(read('deploy/kubernetes/configmap.yaml'))?.data as { data: Record<string, string> }
    const validate = schemaValidator()
    expect(validate(yamlData(map.data['switchyard.yaml'] ?? '')?.data), errorsText(validate.errors)).toBe(true)
  })

  const examples = docsExamples()
  it('the docs have YAML examples', () => expect(examples.length).toBeGreaterThan(10))
  it.each(examples)('%s', (_where, text) => {
    const validate = schemaValidator()
    expect(validate(asConfig(yamlData(text)?.data)), errorsText(validate.errors)).toBe(true)
  })
})

const MINIMAL = `listeners: [{ port: 8080 }]
upstreams: { app: { servers: [{ url: "http://127.0.0.1:3001" }] } }
`
/** The minimal config with a line added under the upstream, the listener or the top level. */
const upstream = (line: string): string => `${MINIMAL.replace(' } }\n', '')}, ${line} } }\n`
const listener = (line: string): string => MINIMAL.replace('{ port: 8080 }', `{ port: 8080, ${line} }`)

// [what, text, accepted]: the loader and the schema both say `accepted`.
const TABLE: [string, string, boolean][] = [
  ['the minimal config', MINIMAL, true],
  ['empty values take the defaults', `${MINIMAL}admin:\nworkers:\nlog: { level: ~, access_log: }\nroutes:\ncaches:\nerror_pages:\n`, true],
  ['an empty health_check is no check', upstream('health_check: ~'), true],
  ['health_check: {} is every default', upstream('health_check: {}'), true],
  ['a status list', upstream('health_check: { expected_status: [200, "300-399", " 204 "] }'), true],
  ['workers: auto', `${MINIMAL}workers: auto\n`, true],
  ['a size as a number and with a unit', listener('max_body_size: 1048576, max_header_size: " 8 KB "'), true],
  ['retry_on with a status as a number', upstream('retry_on: [502, "503", connect_failure]'), true],
  ['hash_key with balance: hash', upstream('balance: hash, hash_key: "header:X-User"'), true],
  ['reuse_port on a fixed port', listener('reuse_port: true'), true],
  ['reuse_port on port 0', listener('reuse_port: true').replace('port: 8080', 'port: 0'), false],
  ['a typo', upstream('sevrers: []'), false],
  ['a missing port', MINIMAL.replace('port: 8080', 'name: x'), false],
  ['no listener', MINIMAL.replace('[{ port: 8080 }]', '[]'), false],
  ['no upstream', `listeners: [{ port: 8080 }]\nupstreams: {}\n`, false],
  ['a bare-number duration', upstream('slow_start: 30'), false],
  ['a zero duration', upstream('timeouts: { connect: 0s }'), false],
  ['a duration with a space', upstream('timeouts: { connect: 2 s }'), false],
  ['weight 0', MINIMAL.replace('" }', '", weight: 0 }'), false],
  ['weight 1.5', MINIMAL.replace('" }', '", weight: 1.5 }'), false],
  ['workers: AUTO', `${MINIMAL}workers: AUTO\n`, false],
  ['hash_key without balance: hash', upstream('hash_key: client_ip'), false],
  ['balance: hash without hash_key', upstream('balance: hash'), false],
  ['a hash_key header without a name', upstream('balance: hash, hash_key: "header:"'), false],
  ['an upstream name with a space', MINIMAL.replace('{ app:', '{ "my app":'), false],
  ['a status range out of 100-599', upstream('health_check: { expected_status: "200-600" }'), false],
  ['a route with both upstream and static', `${MINIMAL}routes: [{ upstream: app, static: { root: /tmp } }]\n`, false],
  ['a route with neither', `${MINIMAL}routes: [{ match: { path_prefix: /x } }]\n`, false],
  ['an empty redirect is no redirect', `${MINIMAL}routes: [{ redirect: }]\n`, false],
  ['a redirect route needs no upstream', `${MINIMAL}routes: [{ redirect: { to: "https://example.com{path}", status: 301 } }, { upstream: app, match: { path_prefix: /a } }]\n`, true],
  ['a path_prefix without "/"', `${MINIMAL}routes: [{ upstream: app, match: { path_prefix: api } }]\n`, false],
  ['a redis cache without redis', `${MINIMAL}caches: { c: { store: redis } }\n`, false],
  ['max_size on a redis cache', `${MINIMAL}caches: { c: { store: redis, max_size: 1m, redis: { url: "redis://127.0.0.1:6379" } } }\n`, false],
  ['redis on a memory cache', `${MINIMAL}caches: { c: { redis: { url: "redis://127.0.0.1:6379" } } }\n`, false],
  ['a memory cache with every default', `${MINIMAL}caches: { c: }\n`, true],
  ['a rate limit without requests', `${MINIMAL}routes: [{ upstream: app, rate_limit: { per: 1s } }]\n`, false],
  ['a header rule on a reserved-looking name with a space', `${MINIMAL}routes: [{ upstream: app, request_headers: { set: { "X Y": "1" } } }]\n`, false],
  ['an error page for 500', `${MINIMAL}error_pages: { 500: /srv/500.html }\n`, false],
  ['a relative static root', `${MINIMAL}routes: [{ static: { root: srv } }]\n`, false],
  ['static index true', `${MINIMAL}routes: [{ static: { root: /tmp, index: true } }]\n`, false],
  ['cert_file without key_file', upstream('tls: { cert_file: /x.pem }').replace('http://', 'https://'), false],
]

/** The schema read as draft-07, as yaml-language-server does: it must judge the same. */
const { $schema: _, ...draft07 } = SCHEMA
const validateDraft07 = new AjvDraft07({ strict: true, strictRequired: false, allowUnionTypes: true }).compile(draft07)

describe('the loader and the schema judge these configs the same', () => {
  it.each(TABLE)('%s', (_what, text, accepted) => {
    const result = parseConfig(text)
    const validate = schemaValidator()
    const data = yamlData(text)?.data
    expect(result.ok, result.ok ? 'loader' : `loader: ${JSON.stringify(result.problems)}`).toBe(accepted)
    expect(validate(data), `schema: ${errorsText(validate.errors)}`).toBe(accepted)
    expect(agreement(text, result).kind).toBe(accepted ? 'both accept' : 'both refuse')
    expect(validateDraft07(data), `schema read as draft-07: ${errorsText(validateDraft07.errors)}`).toBe(accepted)
  })
})
