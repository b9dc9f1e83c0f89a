import { expect } from 'vitest'
import { parseConfig, type LoadResult } from '../../src/config/load.js'
import { formatProblem } from '../../src/config/problems.js'
import type { Config } from '../../src/config/types.js'
// YAML for a daemon with one listener on port 0 and one upstream `app` over `servers`.
export function oneUpstream(servers: readonly string[], upstreamExtra = '', topExtra = ''): string {
  return `
listeners:
  - name: public
    address: 127.0.0.1
    port: 0
admin:
  port: 0
${topExtra}
upstreams:
  app:
    servers:
${servers.map((u) => `      - url: ${u}`).join('\n')}
${upstreamExtra.split('\n').map((l) => (l.trim() === '' ? '' : `    ${l}`)).join('\n')}
`
}

/** The config of a load that must succeed; the problems, formatted, as the error otherwise. */
export function configOf(r: LoadResult): Config {
  if (!r.ok) throw new Error(r.problems.map(formatProblem).join('\n'))
  return r.config
}

/** The formatted problems of a config text that must be refused. */
export function problemsOf(text: string): string[] {
  const r = parseConfig(text)
  if (r.ok) throw new Error('expected problems')
  return r.problems.map(formatProblem)
}

/** The config of a YAML text that must load; the problems (path: message (line N)) as the error otherwise. */
export function configOfText(yaml: string): Config {
  const r = parseConfig(yaml)
  if (!r.ok) throw new Error(r.problems.map((p) => `${p.path}: ${p.message} (line ${p.line})`).join('\n'))
  return r.config
}

/** A problem a config text must get: its key path, its line, and a part of its message (a substring or a pattern). */
export type ExpectedProblem = [path: string, line: number | undefined, message: string | RegExp]

/** The text is refused with exactly these problems, in order: paths and lines equal, messages matching. */
export function expectProblems(yaml: string, expected: readonly ExpectedProblem[]): void {
  const r = parseConfig(yaml)
  if (r.ok) throw new Error('expected problems, the config is valid')
  expect(r.problems.map((p) => [p.path, p.line])).toEqual(expected.map(([path, line]) => [path, line]))
  r.problems.forEach((p, i) => expect(p.message).toMatch((expected[i] as ExpectedProblem)[2]))
}
