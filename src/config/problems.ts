// Collects every problem found in a config file, each pinned to a key path and a line,
// so that an operator gets the whole list in one go instead of fixing one typo per run.

import type { ConfigProblem } from './types.js'
import { pathToString } from './yaml-source.js'
import type { LineFinder, Path } from './yaml-source.js'

export class Problems {
  readonly list: ConfigProblem[] = []
  /**
   * Told the key list of every map checkMap reads (fields.ts), with its path: how
   * test/config/schema.test.ts learns the loader's keys to compare them with the JSON Schema's.
   * Unset when loading a config.
   */
  onMap: ((path: Path, known: readonly string[]) => void) | undefined

  constructor(private readonly lines: LineFinder) {}

  get count(): number {
    return this.list.length
  }

  /** A problem found elsewhere (by the YAML parser), already with its path and line. */
  add(problem: ConfigProblem): void {
    this.list.push(problem)
  }

  /** A problem with the value at `path` (the line of that value). */
  at(path: Path, message: string): void {
    this.push(path, message, this.lines.valueLine(path))
  }

  /** A problem with the key itself, e.g. an unknown key (the line of the key). */
  atKey(path: Path, message: string): void {
    this.push(path, message, this.lines.keyLine(path))
  }

  /** A required key is absent: the path names the key, the line is that of the enclosing map. */
  missing(path: Path, message = 'required'): void {
    this.push(path, message, this.lines.valueLine(path.slice(0, -1)))
  }

  private push(path: Path, message: string, line: number | undefined): void {
    this.list.push(line === undefined ? { path: pathToString(path), message } : { path: pathToString(path), message, line })
  }
}

/** `path: message (line N)`; the path or the line is left out when there is none. */
export function formatProblem(p: ConfigProblem): string {
  const where = p.line === undefined ? '' : ` (line ${p.line})`
  return p.path === '' ? `${p.message}${where}` : `${p.path}: ${p.message}${where}`
}

/** A short, operator-friendly description of a YAML value for "got ..." in messages. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing'
  if (value instanceof Map) return 'a map'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'string') return value.length > 60 ? `"${value.slice(0, 57)}..."` : JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return typeof value
}
