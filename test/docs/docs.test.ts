// The docs name everything the code defines for operators, as fastify checks its error codes
// against its docs: every metric, every config key, every `reason` label and every code of
// switchyard's own failures. The lists are read from the source text, never written here, so
// adding a key, a metric or a reason fails this test until docs/ says what it is. Also: every
// relative link of the docs leads to a file that exists and, with a #fragment, to a heading
// of it. Files only, no daemon: it runs in about a second.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { parseDocument, isMap, isPair, isScalar, isSeq, type Node } from 'yaml'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8')
const tsFiles = (dir: string): string[] =>
  readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f))
    .sort()

/** All matches of group 1 of `re` (which must have the g flag) in `text`. */
const all = (re: RegExp, text: string): string[] => [...text.matchAll(re)].map((m) => m[1] as string)

/** Markdown without its fenced code blocks (their contents are examples, not names or links). */
const prose = (md: string): string => md.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '')

/** The contents of every inline `code span` of a markdown text (not of fenced examples). */
const codeSpans = (md: string): string[] => all(/`([^`\n]+)`/g, prose(md))

/** Word-like tokens inside code spans: `upstreams.<name>.timeouts.connect` gives upstreams, name, timeouts, connect. */
const codeTokens = (md: string): Set<string> => new Set(codeSpans(md).flatMap((s) => s.split(/[^A-Za-z0-9_]+/)).filter((t) => t !== ''))

/** A list for a failure message: one item a line. */
const lines = (items: string[]): string => items.map((i) => `\n  - ${i}`).join('')

/** Where each name was found: name -> the first source file that has it. */
function collect(files: string[], extract: (text: string) => string[]): Map<string, string> {
  const found = new Map<string, string>()
  for (const file of files) for (const name of extract(read(file))) if (!found.has(name)) found.set(name, file)
  return found
}

// ---- what the code defines --------------------------------------------------------------

/** Metric names: every 'switchyard_...' string literal in src/ (prom-client metrics and the
 * request-stats collectors of src/shell/observe/metrics.ts), plus prom-client defaults
 * left out by name ('nodejs_..._total'). */
const METRICS = collect(tsFiles('src'), (text) => all(/['"`]((?:switchyard|nodejs)_[a-z0-9_]+)['"`]/g, text))

/** Config keys: the loader (src/config/) lists the keys of each map in `..._KEYS` arrays
 * (checked against unknown keys) and reads each with `cursor.field('key')`. */
const CONFIG_KEYS = collect(tsFiles('src/config'), (text) => [
  ...all(/const\s+[A-Z_]*KEYS\s*(?::[^=]+)?=\s*\[([^\]]*)\]/g, text).flatMap((list) => all(/'([a-z_]+)'/g, list)),
  ...all(/\.field\(\s*'([a-z_]+)'\s*\)/g, text),
])

/** The `reason` label values: the ErrorReason union of src/core/errors.ts. */
const ERRORS_TS = read('src/core/errors.ts')
const REASONS = all(/'([a-z_]+)'/g, /type\s+ErrorReason\s*=((?:\s*\|?\s*'[a-z_]+')+)/.exec(ERRORS_TS)?.[1] ?? '')

/** Codes of switchyard's own failures: the SY_... keys of src/core/errors.ts. */
const LOCAL_CODES = [...new Set(all(/^\s*(SY_[A-Z0-9_]+)\s*:/gm, ERRORS_TS))]

/** Keys used in the example config (its uncommented part), with upstream and cache names skipped. */
function exampleKeys(): Set<string> {
  const keys = new Set<string>()
  const walk = (node: unknown, namesHere: boolean): void => {
    if (isSeq(node)) for (const item of node.items) walk(item, false)
    if (!isMap(node)) return
    for (const pair of node.items) {
      if (!isPair(pair) || !isScalar(pair.key)) continue
      const key = String(pair.key.value)
      // Under `upstreams:` and `caches:` the keys are names chosen by the operator.
      if (!namesHere) keys.add(key)
      walk(pair.value as Node, !namesHere && (key === 'upstreams' || key === 'caches'))
    }
  }
  walk(parseDocument(read('config/switchyard.yaml')).contents, false)
  return keys
}

// ---- the docs ---------------------------------------------------------------------------

const DOC_FILES = ['README.md', 'CONTRIBUTING.md', 'CHANGELOG.md', 'bench/README.md', 'bench/RESULTS.md',
  ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)].sort()

/** Every inline `code span` of a page, exactly. */
const spansOf = (path: string): Set<string> => new Set(codeSpans(read(path)))

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchorsOf(md: string): Set<string> {
  const anchors = new Set<string>()
  const seen = new Map<string, number>()
  for (const heading of all(/^#{1,6}\s+(.+?)\s*#*\s*$/gm, prose(md))) {
    const slug = heading.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-')
    const n = seen.get(slug) ?? 0
    seen.set(slug, n + 1)
    anchors.add(n === 0 ? slug : `${slug}-${n}`)
  }
  for (const id of all(/<a\s+(?:id|name)="([^"]+)"/g, md)) anchors.add(id)
  return anchors
}

describe('the code defines what this test reads (a guard against an extraction gone stale)', () => {
  test('metrics, config keys, reasons', () => {
    expect(METRICS.size, 'no switchyard_* metric names found in src/: did metrics.ts change how it names them?').toBeGreaterThan(10)
    expect(REASONS.length, 'no `type ErrorReason = ...` union found in src/core/errors.ts: update this test to read the reasons').toBeGreaterThan(2)
    expect(CONFIG_KEYS.size, 'no config keys found in src/config/ (no ..._KEYS arrays or .field() calls)').toBeGreaterThan(20)
  })

  test('every key of config/switchyard.yaml is one the extraction found in src/config/', () => {
    const missed = [...exampleKeys()].filter((k) => !CONFIG_KEYS.has(k)).sort()
    expect(missed, `keys used in config/switchyard.yaml that this test did not find in src/config/*.ts;
the loader reads keys some other way now: update CONFIG_KEYS in test/docs/docs.test.ts${lines(missed)}`).toEqual([])
  })
})

describe('docs name everything the code defines', () => {
  test('every metric is in docs/operations.md', () => {
    const spans = spansOf('docs/operations.md')
    const missing = [...METRICS].filter(([name]) => !spans.has(name)).map(([name, file]) => `\`${name}\` (${file})`)
    expect(missing, `metrics missing from docs/operations.md (write each as \`name\` in the metrics table):${lines(missing)}`).toEqual([])
  })

  test('every metric the docs name exists in the code', () => {
    const stale = DOC_FILES.filter((f) => f !== 'bench/RESULTS.md').flatMap((f) =>
      all(/\b(switchyard_[a-z0-9_]+)/g, read(f)).filter((name) => !METRICS.has(name)).map((name) => `\`${name}\` in ${f}`))
    expect([...new Set(stale)], `metric names in the docs that src/ does not define:${lines([...new Set(stale)])}`).toEqual([])
  })

  test('every config key is in docs/configuration.md', () => {
    const tokens = codeTokens(read('docs/configuration.md'))
    const missing = [...CONFIG_KEYS].filter(([key]) => !tokens.has(key)).map(([key, file]) => `\`${key}\` (read in ${file})`).sort()
    expect(missing, `config keys missing from docs/configuration.md (write each as \`key\` or inside a dotted path such as \`upstreams.<name>.key\`):${lines(missing)}`).toEqual([])
  })

  test('every error reason is in docs/proxying.md and docs/operations.md', () => {
    const missing = ['docs/proxying.md', 'docs/operations.md'].flatMap((page) => {
      const spans = spansOf(page)
      return REASONS.filter((r) => !spans.has(r)).map((r) => `\`${r}\` in ${page}`)
    })
    expect(missing, `ErrorReason values of src/core/errors.ts missing from the docs (the reason table of proxying.md, the labels of switchyard_upstream_errors_total in operations.md):${lines(missing)}`).toEqual([])
  })

  test('every code of switchyard\'s own failures is in docs/proxying.md', () => {
    const spans = spansOf('docs/proxying.md')
    const missing = LOCAL_CODES.filter((c) => !spans.has(c)).map((c) => `\`${c}\``)
    expect(missing, `SY_ codes of src/core/errors.ts missing from docs/proxying.md ("Codes of switchyard's own failures"):${lines(missing)}`).toEqual([])
  })
})

describe('links', () => {
  test('every relative link of the docs leads to a file, and a #fragment to one of its headings', () => {
    const broken: string[] = []
    for (const file of DOC_FILES) {
      for (const target of all(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g, prose(read(file)))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue // https:, mailto:
        const [path = '', fragment] = target.split('#', 2)
        const resolved = path === '' ? file : relative(ROOT, join(ROOT, dirname(file), decodeURIComponent(path)))
        if (!existsSync(join(ROOT, resolved))) broken.push(`${file}: ${target} (no file ${resolved})`)
        else if (fragment !== undefined && resolved.endsWith('.md') && !anchorsOf(read(resolved)).has(fragment)) {
          broken.push(`${file}: ${target} (no heading #${fragment} in ${resolved})`)
        }
      }
    }
    expect(broken, `broken links:${lines(broken)}`).toEqual([])
  })
})
