// The YAML side of the loader: parse the text once, keep the syntax tree around so that
// every problem found later on the plain data can be pinned to a line of the file.

import { isMap, isNode, isPair, isScalar, isSeq, LineCounter, parseDocument, visit } from 'yaml'
import type { Document, Node } from 'yaml'
import type { ConfigProblem } from './types.js'

/** A key path as written in the YAML: map keys (usually strings) and list indexes. */
export type Path = readonly unknown[]

export function pathToString(path: Path): string {
  return path.map(String).join('.')
}

/** Finds the line of a node, or of its key, by key path. Lines are 1-based. */
export class LineFinder {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  lineAt(offset: number): number {
    return this.lines.linePos(offset).line
  }

  /** Line of the value at `path`; falls back to the nearest ancestor that exists in the tree. */
  valueLine(path: Path): number | undefined {
    for (let n = path.length; n >= 0; n--) {
      const node = this.node(path.slice(0, n))
      if (node?.range) return this.lineAt(node.range[0])
    }
    return undefined
  }

  /** Line of the key of the last path element (for "unknown key"); else of the value. */
  keyLine(path: Path): number | undefined {
    const parent = this.node(path.slice(0, -1))
    if (isMap(parent)) {
      const last = path[path.length - 1]
      const pair = parent.items.find((p) => keyValue(p.key) === last)
      if (isNode(pair?.key) && pair.key.range) return this.lineAt(pair.key.range[0])
    }
    return this.valueLine(path)
  }

  private node(path: Path): Node | undefined {
    if (path.length === 0) return this.doc.contents ?? undefined
    const found: unknown = this.doc.getIn(path, true)
    return isNode(found) ? found : undefined
  }

  /** Key path of the map key that starts at `offset` (used to name duplicate keys). */
  keyPathAt(offset: number): Path | undefined {
    return findKeyPath(this.doc.contents, offset, [])
  }
}

function keyValue(key: unknown): unknown {
  return isScalar(key) ? key.value : key
}

function findKeyPath(node: unknown, offset: number, path: unknown[]): Path | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      const k = keyValue(pair.key)
      if (isNode(pair.key) && pair.key.range?.[0] === offset) return [...path, k]
      const found = findKeyPath(pair.value, offset, [...path, k])
      if (found) return found
    }
  } else if (isSeq(node)) {
    for (const [i, item] of node.items.entries()) {
      const found = findKeyPath(isPair(item) ? item.value : item, offset, [...path, i])
      if (found) return found
    }
  }
  return undefined
}

export type ParsedYaml =
  | { readonly ok: true; readonly data: unknown; readonly lines: LineFinder; readonly problems: readonly ConfigProblem[] }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] }

/**
 * YAML text -> plain data (mappings as `Map`, so key order and key types survive) plus a
 * LineFinder. Syntax errors stop here: a broken document cannot be validated sensibly.
 * Duplicate keys are reported but do not stop validation (the last value wins meanwhile),
 * so an operator sees them together with every other problem.
 */
export function parseYaml(text: string): ParsedYaml {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false })
  const lines = new LineFinder(doc, lineCounter)

  const problems: ConfigProblem[] = []
  let fatal = false
  // Errors found at the end of the input (an unclosed quote) point at the last line with text, not past it.
  const lastOffset = Math.max(0, text.trimEnd().length - 1)
  for (const err of doc.errors) {
    const line = lines.lineAt(Math.min(err.pos[0], lastOffset))
    if (err.code === 'DUPLICATE_KEY') {
      const keyPath = lines.keyPathAt(err.pos[0]) ?? []
      const key = keyPath.length > 0 ? String(keyPath[keyPath.length - 1]) : text.slice(err.pos[0], err.pos[1])
      problems.push({ path: pathToString(keyPath), message: `duplicate key "${key}"`, line })
    } else {
      fatal = true
      problems.push({ path: '', message: `YAML syntax error: ${err.message}`, line })
    }
  }
  // An alias to an anchor that does not exist (or comes later) only fails in toJS, without
  // a position: find it first so the operator gets a line.
  visit(doc, {
    Alias(_, alias) {
      if (alias.resolve(doc) !== undefined) return
      fatal = true
      const line = alias.range ? lines.lineAt(alias.range[0]) : undefined
      const message = `YAML error: alias *${alias.source} has no anchor &${alias.source} before it`
      problems.push(line === undefined ? { path: '', message } : { path: '', message, line })
    },
  })
  if (fatal) return { ok: false, problems }

  let data: unknown
  try {
    data = doc.toJS({ mapAsMap: true })
  } catch (err) {
    // toJS throws on alias bombs ("Excessive alias count") and similar abuse.
    return { ok: false, problems: [...problems, { path: '', message: `YAML error: ${(err as Error).message}` }] }
  }
  return { ok: true, data, lines, problems }
}
