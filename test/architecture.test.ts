// The layout's rules, checked on the source text (docs/architecture.md):
// - no import cycles anywhere in src/;
// - imports flow cli -> shell (process -> request -> runtime -> cache; observe below) ->
//   core <- config: no room imports one above it;
// - the core's boundary is an eslint rule: a core file that imports I/O or the shell fails lint.
import { describe, expect, it } from 'vitest'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { ESLint } from 'eslint'

const ROOT = resolve(import.meta.dirname, '..')
const SRC = join(ROOT, 'src')

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [])
}

/** file (relative to src/) -> the src files it imports (static and dynamic, types included). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>()
  for (const file of sources(SRC)) {
    const text = readFileSync(file, 'utf8')
    const targets = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)\.js'/g)]
      .map((m) => relative(SRC, resolve(dirname(file), `${m[1]}.ts`)))
    graph.set(relative(SRC, file), targets)
  }
  return graph
}

/** The room of a file: its first two path segments under src/ ("shell/request", "core", "cli.ts"). */
function room(file: string): string {
  const parts = file.split('/')
  return parts[0] === 'shell' ? `shell/${parts[1]}` : parts.length > 1 ? parts[0]! : file
}

// Which rooms each room may import (besides itself).
const MAY_IMPORT: Record<string, readonly string[]> = {
  'cli.ts': ['node-version.ts', 'shell/process', 'commands.ts'],
  'commands.ts': ['config', 'core', 'node-version.ts', 'shell/process', 'shell/observe', 'ctl.ts'],
  'ctl.ts': ['config', 'core'], // a client of the admin port: the loader, the API's paths, /status's shape
  'demo.ts': [],
  'node-version.ts': [],
  'shell/process': ['shell/request', 'shell/runtime', 'shell/cache', 'shell/observe', 'config', 'core'],
  'shell/request': ['shell/runtime', 'shell/cache', 'shell/observe', 'config', 'core'],
  'shell/runtime': ['shell/cache', 'shell/observe', 'config', 'core'],
  'shell/cache': ['shell/observe', 'config', 'core'],
  'shell/observe': ['config', 'core'],
  config: ['core'],
  core: ['config'], // types only: the config's shapes
}

describe('the import graph', () => {
  const graph = importGraph()

  it('every import resolves to a source file', () => {
    const missing = [...graph].flatMap(([f, ts]) => ts.filter((t) => !graph.has(t)).map((t) => `${f} -> ${t}`))
    expect(missing).toEqual([])
  })

  it('has no cycles', () => {
    const cycles: string[] = []
    const state = new Map<string, 'open' | 'done'>()
    const stack: string[] = []
    const visit = (f: string): void => {
      state.set(f, 'open')
      stack.push(f)
      for (const t of graph.get(f) ?? []) {
        if (state.get(t) === 'open') cycles.push([...stack.slice(stack.indexOf(t)), t].join(' -> '))
        else if (!state.has(t)) visit(t)
      }
      stack.pop()
      state.set(f, 'done')
    }
    for (const f of graph.keys()) if (!state.has(f)) visit(f)
    expect(cycles).toEqual([])
  })

  it('flows one way between rooms (nothing in runtime/ imports request/, ...)', () => {
    const wrong = [...graph].flatMap(([f, ts]) => ts
      .filter((t) => room(t) !== room(f) && !(MAY_IMPORT[room(f)] ?? []).includes(room(t)))
      .map((t) => `${f} -> ${t}`))
    expect(wrong).toEqual([])
  })

  it('core imports only types from config', () => {
    const wrong = sources(join(SRC, 'core')).flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/^import (?!type ).*from '\.\.\/config\/.*$/gm)].map((m) => `${relative(SRC, file)}: ${m[0]}`))
    expect(wrong).toEqual([])
  })
})

describe('the core boundary is a lint rule', () => {
  const eslint = new ESLint({ cwd: ROOT })
  it.each([
    ["import { readFileSync } from 'node:fs'", 'node:fs'],
    ["import { createServer } from 'http'", 'http'],
    ["import { Pool } from 'undici'", 'undici'],
    ["import { pino } from 'pino'", 'pino'],
    ["import { Counter } from 'prom-client'", 'prom-client'],
    ["import { Metrics } from '../shell/observe/metrics.js'", 'shell'],
  ])('%s is refused in src/core', async (line) => {
    const [result] = await eslint.lintText(`${line}\nexport const x = 1\n`, { filePath: join(SRC, 'core', 'boundary-check.ts') })
    expect(result!.messages.map((m) => m.ruleId)).toContain('no-restricted-imports')
  })

  it('a pure import is fine', async () => {
    const [result] = await eslint.lintText("import { classifyError } from './errors.js'\nexport const x = classifyError\n", { filePath: join(SRC, 'core', 'boundary-check.ts') })
    expect(result!.messages.filter((m) => m.ruleId === 'no-restricted-imports')).toEqual([])
  })
})
