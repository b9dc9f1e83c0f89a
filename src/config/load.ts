// Entry points of the config loader: YAML text or file -> validated, defaulted,
// deep-frozen Config, or every problem found, each with its key path and line.

import { readFile } from 'node:fs/promises'
import { getSystemErrorMessage } from 'node:util'
import { compileConfig } from './compile.js'
import { Cursor } from './fields.js'
import { deepFreeze } from './freeze.js'
import { describe, Problems } from './problems.js'
import type { ConfigProblem, LoadResult } from './types.js'
import { parseYaml } from './yaml-source.js'

export { formatProblem } from './problems.js'
export { parseDuration } from './duration.js'
export type { Config, ConfigProblem, LoadResult } from './types.js'

export function parseConfig(text: string): LoadResult {
  const parsed = parseYaml(text)
  if (!parsed.ok) return failure(parsed.problems)

  const problems = new Problems(parsed.lines)
  for (const p of parsed.problems) problems.add(p)
  const { data } = parsed
  if (data === null || data === undefined) {
    problems.add({ path: '', message: 'the config file is empty: it needs at least `listeners` and `upstreams`' })
    return failure(problems.list)
  }
  if (!(data instanceof Map)) {
    problems.at([], `the config must be a map of keys such as listeners and upstreams (got ${describe(data)})`)
    return failure(problems.list)
  }

  const config = compileConfig(new Cursor(problems, [], data))
  if (problems.count > 0) return failure(problems.list)
  return { ok: true, config: deepFreeze(config) }
}

export async function loadConfigFile(file: string): Promise<LoadResult> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    // By its code, never its message text: "ENOENT: no such file or directory".
    const e = err as NodeJS.ErrnoException
    const reason = e.code === undefined ? String(err) : typeof e.errno === 'number' ? `${e.code}: ${getSystemErrorMessage(e.errno)}` : e.code
    return failure([{ path: '', message: `cannot read ${file}: ${reason}` }])
  }
  return parseConfig(text)
}

/** Problems in file order (a stable sort: same-line problems keep the order they were found in). */
function failure(problems: readonly ConfigProblem[]): LoadResult {
  const sorted = [...problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0))
  return deepFreeze({ ok: false, problems: sorted })
}
