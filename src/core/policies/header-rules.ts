// request_headers / response_headers: `set` (replace every copy, or add), `add` (append one
// more copy), `remove` (drop every copy), applied in that order: remove, set, add. Names and
// values are checked once, at load (headerRuleProblem): a rule never produces an invalid
// header. Framing and hop-by-hop headers are switchyard's to write, so rules may not touch
// them; Host may only be `set` on requests (the name a server sees), never added or removed.
// Applied on the flat [name, value, ...] arrays of core/headers.ts, in place; one pass per
// rule kind, names compared lower-cased.

export interface HeaderRules {
  /** Lower-cased names to drop (set names included: their old copies go). */
  readonly drop: ReadonlySet<string>
  /** [name, value] pairs appended after the drop: set ones first, then add ones. */
  readonly append: readonly string[]
}

export interface HeaderRulesInput {
  readonly set: readonly (readonly [string, string])[]
  readonly add: readonly (readonly [string, string])[]
  readonly remove: readonly string[]
}

export function compileHeaderRules(r: HeaderRulesInput): HeaderRules {
  const drop = new Set(r.remove.map((n) => n.toLowerCase()))
  const append: string[] = []
  for (const [name, value] of r.set) {
    drop.add(name.toLowerCase())
    append.push(name, value)
  }
  for (const [name, value] of r.add) append.push(name, value)
  return { drop, append }
}

/** Applies the rules to a flat header array, in place. */
export function applyHeaderRules(flat: string[], rules: HeaderRules): void {
  if (rules.drop.size > 0) {
    let w = 0
    for (let r = 0; r < flat.length; r += 2) {
      const name = flat[r] as string
      if (rules.drop.has(name.toLowerCase())) continue
      flat[w++] = name
      flat[w++] = flat[r + 1] as string
    }
    flat.length = w
  }
  for (let i = 0; i < rules.append.length; i++) flat.push(rules.append[i] as string)
}

/** Headers no rule may touch, with the reason given at load. */
const RESERVED: ReadonlyMap<string, string> = new Map([
  ['content-length', 'framing: switchyard and the server frame the body'],
  ['transfer-encoding', 'framing: switchyard and the server frame the body'],
  ['connection', 'hop-by-hop: it describes one connection, not the message'],
  ['keep-alive', 'hop-by-hop: it describes one connection, not the message'],
  ['upgrade', 'hop-by-hop: WebSocket upgrades are switchyard\'s to negotiate'],
  ['te', 'hop-by-hop: it describes one connection, not the message'],
  ['trailer', 'hop-by-hop: it describes one connection, not the message'],
  ['proxy-connection', 'hop-by-hop: it describes one connection, not the message'],
  ['x-request-id', 'switchyard sets it (the client\'s sane one, else a new UUID)'],
])

// RFC 9110 token characters for names; values: visible ASCII, space and tab inside, obs-text
// (0x80-0xff) allowed as Node allows it, never CR, LF or NUL, no leading or trailing space.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
// eslint-disable-next-line no-control-regex -- control characters are what it refuses
const VALUE = /^(?:[\x21-\x7e\x80-\xff](?:[\x20-\x7e\x09\x80-\xff]*[\x21-\x7e\x80-\xff])?)?$/

export type RuleKind = 'set' | 'add' | 'remove'

/** Why a rule on `name` is refused (undefined: fine). `direction` is request or response. */
export function headerNameProblem(name: string, kind: RuleKind, direction: 'request' | 'response'): string | undefined {
  if (!TOKEN.test(name)) return `"${name}" is not a valid header name (letters, digits and !#$%&'*+-.^_\`|~ only)`
  const lower = name.toLowerCase()
  const reserved = RESERVED.get(lower)
  if (reserved !== undefined) return `${name} cannot be changed by a header rule (${reserved})`
  if (lower === 'host') {
    if (direction === 'response') return 'Host is a request header'
    if (kind !== 'set') return `Host can only be replaced with \`set\` (a request has exactly one Host; \`${kind}\` would ${kind === 'add' ? 'make two' : 'leave none'})`
  }
  return undefined
}

export function headerValueProblem(value: string): string | undefined {
  if (VALUE.test(value)) return undefined
  if (/[\r\n\0]/.test(value)) return 'must not contain CR, LF or NUL (a header value is one line)'
  if (/^[ \t]|[ \t]$/.test(value)) return 'must not start or end with a space or tab'
  return 'must hold visible characters, spaces and tabs only (no control characters)'
}
