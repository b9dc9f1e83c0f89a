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

interface Indexed {
  readonly key?: Node
  readonly value?: Node
}

/**
 * Finds the line of a node, or of its key, by key path. Lines are 1-based. The tree is
 * indexed by path in one walk (made on first use), so that a file with thousands of
 * problems costs one walk, not one search per problem.
 */
export class LineFinder {
  #index: Map<string, Indexed> | null = null

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
      const node = this.#get(path.slice(0, n))?.value
      if (node?.range) return this.lineAt(node.range[0])
    }
    return undefined
  }

  /** Line of the key of the last path element (for "unknown key"); else of the value. */
  keyLine(path: Path): number | undefined {
    const key = this.#get(path)?.key
    if (key?.range) return this.lineAt(key.range[0])
    return this.valueLine(path)
  }

  #get(path: Path): Indexed | undefined {
    this.#index ??= indexTree(this.doc.contents)
    return this.#index.get(JSON.stringify(path))
  }
}

function keyValue(key: unknown): unknown {
  return isScalar(key) ? key.value : key
}

/** Every node by JSON key path. A repeated key keeps its first occurrence (where the problem is reported). */
function indexTree(root: unknown): Map<string, Indexed> {
  const index = new Map<string, Indexed>()
  const walk = (node: unknown, path: unknown[], key?: Node): void => {
    const id = JSON.stringify(path)
    if (!index.has(id)) index.set(id, { key, value: isNode(node) ? node : undefined })
    if (isMap(node)) {
      for (const pair of node.items) walk(pair.value, [...path, keyValue(pair.key)], isNode(pair.key) ? pair.key : undefined)
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(isPair(item) ? item.value : item, [...path, i]))
    }
  }
  walk(root, [])
  return index
}

/** Repeated keys of every map, in one walk (a Set per map: the yaml library's own check is quadratic). */
function duplicateKeys(root: unknown): { path: Path; offset: number }[] {
  const found: { path: Path; offset: number }[] = []
  const walk = (node: unknown, path: unknown[]): void => {
    if (isMap(node)) {
      const seen = new Set<unknown>()
      for (const pair of node.items) {
        const k = keyValue(pair.key)
        if (seen.has(k)) found.push({ path: [...path, k], offset: isNode(pair.key) ? pair.key.range?.[0] ?? 0 : 0 })
        seen.add(k)
        walk(pair.value, [...path, k])
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(isPair(item) ? item.value : item, [...path, i]))
    }
  }
  walk(root, [])
  return found
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
  // uniqueKeys: false — repeated keys are found by duplicateKeys() below, in linear time.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false })
  const lines = new LineFinder(doc, lineCounter)

  const problems: ConfigProblem[] = []
  let fatal = false
  // Errors found at the end of the input (an unclosed quote) point at the last line with text, not past it.
  const lastOffset = Math.max(0, text.trimEnd().length - 1)
  for (const err of doc.errors) {
    fatal = true
    problems.push({ path: '', message: `YAML syntax error: ${err.message}`, line: lines.lineAt(Math.min(err.pos[0], lastOffset)) })
  }
  if (!fatal) {
    for (const { path, offset } of duplicateKeys(doc.contents)) {
      problems.push({ path: pathToString(path), message: `duplicate key "${String(path[path.length - 1])}"`, line: lines.lineAt(offset) })
    }
  }
  // An alias to an anchor that does not exist (or comes later) only fails in toJS, without
  // a position: find it first so the operator gets a line. Anchors are noted in document
  // order as the walk meets them (alias.resolve() would walk the document once per alias).
  const anchors = new Set<string>()
  const noteAnchor = (_: unknown, node: { anchor?: string }): void => {
    if (node.anchor !== undefined) anchors.add(node.anchor)
  }
  visit(doc, {
    Map: noteAnchor,
    Seq: noteAnchor,
    Scalar: noteAnchor,
    Alias(_, alias) {
      if (anchors.has(alias.source)) return
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
