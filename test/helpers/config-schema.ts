// The JSON Schema of the config (src/config/schema.ts) next to the loader, for the tests that
// hold them to each other (test/config/schema.test.ts, test/fuzz/config-fuzz.test.ts): an ajv
// validator of the schema, the YAML text as the data an editor validates (the loader's own
// parse, maps as plain objects), and the verdict of both on one text.
// They must agree, with one allowance: the loader may refuse more, for the reasons listed in
// LOADER_ONLY (files on disk, names that refer to other parts of the file, values compared
// with each other...), which a JSON Schema cannot check. A config the loader accepts is always
// valid against the schema; a config the schema accepts is refused by the loader only for
// those reasons.
import { Ajv2020 } from 'ajv/dist/2020.js'
import type { ErrorObject, ValidateFunction } from 'ajv'
import { configSchema } from '../../src/config/schema.js'
import { formatProblem, type LoadResult } from '../../src/config/load.js'
import { parseYaml } from '../../src/config/yaml-source.js'

const compiled = new Map<boolean, ValidateFunction>()

/**
 * The ajv validator of the schema, compiled once, strict (an unknown keyword is an error).
 * `allErrors`: every error, for messages; without it the first error ends the check (fast).
 */
export function schemaValidator(allErrors = true): ValidateFunction {
  let v = compiled.get(allErrors)
  if (v === undefined) {
    v = new Ajv2020({ strict: true, strictRequired: false, allowUnionTypes: true, allErrors }).compile(configSchema())
    compiled.set(allErrors, v)
  }
  return v
}

export function errorsText(errors: readonly ErrorObject[] | null | undefined): string {
  return (errors ?? []).slice(0, 8).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`).join('; ')
}

/**
 * The YAML text as JSON data, or null when it does not parse (the loader refuses it too).
 * `lossy`: the text holds what JSON cannot say the same way, so the schema sees something
 * else than the loader: keys that are maps or lists, two keys that are the same once written
 * as strings (1 and "1"), or values that are not JSON (binary, dates, sets of YAML 1.1).
 */
export function yamlData(text: string): { data: unknown; lossy: boolean } | null {
  const parsed = parseYaml(text)
  if (!parsed.ok) return null
  let lossy = false
  // An alias may make the data cyclic (`&a [*a]`), or deep: past this depth the conversion stops (lossy).
  const MAX_DEPTH = 200
  const convert = (v: unknown, depth = 0): unknown => {
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v
    if (depth > MAX_DEPTH) {
      lossy = true
      return null
    }
    if (Array.isArray(v)) return v.map((x) => convert(x, depth + 1))
    if (v instanceof Map) {
      const entries: [string, unknown][] = []
      const seen = new Set<string>()
      for (const [k, value] of v) {
        if (k !== null && typeof k === 'object') lossy = true
        const key = String(k)
        if (seen.has(key)) lossy = true
        seen.add(key)
        entries.push([key, convert(value, depth + 1)])
      }
      // fromEntries defines own properties: a "__proto__" key stays a key.
      return Object.fromEntries(entries)
    }
    lossy = true
    return v
  }
  return { data: convert(parsed.data), lossy }
}

/**
 * Why the loader refuses what the schema accepts, by the loader's message. Each of these
 * needs more than the shape of one value: the file system, another part of the file, two
 * values compared, or a parser (URLs, addresses) that a pattern would only approximate.
 */
export const LOADER_ONLY: readonly { why: string; message: RegExp }[] = [
  { why: 'files and directories are read at load', message: /does not exist|not readable|cannot read|is not a (file|regular file|directory)|must be a directory|is not writable|cannot use directory|holds no PEM|encrypted private key|does not match|OpenSSL refuses|larger than (1 MiB|4 KiB)|too large for a PEM|lists no user| line \d+: |is empty: write the token|the token (is|must)/ },
  { why: 'names refer to other parts of the file', message: /^unknown (upstream|cache) "|^required when there is more than one upstream/ },
  { why: 'unique across the file', message: /^duplicate (listener name|server) |is (already|also) used by listeners\.|^same match as routes\.|is already used by routes\.|is listed twice/ },
  { why: 'YAML: a repeated key (the data keeps the last value)', message: /^duplicate key "/ },
  { why: 'JSON has only string keys: an unquoted number is a name there', message: /must be a string: quote it|is not a header name|header names are strings/ },
  { why: 'keys that depend on other keys of the same upstream or listener', message: /needs a server with max_requests|applies to https:\/\/ servers only|applies to routes with an `upstream` only|applies only to dns: and srv: servers|HTTP\/2 is offered on TLS listeners only|is for plain listeners/ },
  { why: 'two values compared', message: /must not be shorter than request_head|must not be larger than max_(size|temp_size)|is empty: write the lower code first/ },
  { why: 'a duration rounds to 0 ms or is longer than a timer can wait; a size with a unit is out of range', message: /^must be greater than 0$|^must be at most 596h|^must be between \d+ and \d+ bytes|^must be at least 1s: no name|at most 8760h/ },
  { why: 'addresses, hosts and URLs are checked by their parsers', message: /IPv4 or IPv6 address|IPv6 address (without|in) brackets|must not include a port|wildcard|must be a hostname such as|Host header value|must be a DNS name|CIDR range|prefix length|bits set past|not a valid URL|must be an http:\/\/ or https:\/\/ URL|must not contain credentials|must not have a (path|query|fragment)|Unix socket|redis:\/\/|must name a host|database number|https:\/\/ URL of an ACME directory|needs no lookup|needs a port|without a scheme|the port must be an integer|SRV record gives the port|IP address with an optional port|HTTP-01/ },
  { why: 'header names and values the rules refuse (case-insensitive names, spaces at the ends)', message: /cannot be (set here|changed by a header rule)|Host is a request header|Host can only be replaced|must not start or end with a space or tab/ },
  { why: 'a redirect target is compiled', message: /placeholder|without its "[{}]"|must not contain control characters/ },
]

/**
 * Keys of the contract (sections 6-9) in the schema that this loader does not read yet, by
 * map. When a loader learns one, this test says to take it off the list.
 */
export const PENDING: Record<string, readonly string[]> = {
}
/** A map of the schema under a PENDING key (`routes[].compress.level`): the loader does not read it yet. */
export function pendingMap(label: string): boolean {
  return Object.entries(PENDING).some(([at, keys]) => keys.some((k) => label === `${at}.${k}` || label.startsWith(`${at}.${k}.`) || label.startsWith(`${at}.${k}[`)))
}
export type Agreement =
  | { readonly kind: 'unparsed' | 'both accept' | 'both refuse' | 'loader only' | 'lossy' }
  | { readonly kind: 'disagree'; readonly message: string }

/** The verdict of the schema on `text` against the loader's `result` for it. */
export function agreement(text: string, result: LoadResult): Agreement {
  // The loader found the text is not YAML it can read: no data to validate (and no need to parse again).
  if (!result.ok && result.problems.some((p) => p.path === '' && /^YAML (syntax )?error: /.test(p.message))) return { kind: 'unparsed' }
  const json = yamlData(text)
  if (json === null) {
    return result.ok ? { kind: 'disagree', message: 'the loader accepts a text the YAML parser refuses' } : { kind: 'unparsed' }
  }
  const valid = schemaValidator(false)(json.data)
  if (result.ok) {
    if (valid) return { kind: 'both accept' }
    const validate = schemaValidator()
    validate(json.data)
    return { kind: 'disagree', message: `the loader accepts it, the schema refuses it: ${errorsText(validate.errors)}` }
  }
  if (!valid) return { kind: 'both refuse' }
  if (json.lossy) return { kind: 'lossy' }
  const unexplained = result.problems.filter((p) => !LOADER_ONLY.some((e) => e.message.test(p.message)))
  if (unexplained.length === 0) return { kind: 'loader only' }
  return { kind: 'disagree', message: `the schema accepts it, the loader refuses it for a reason not in LOADER_ONLY: ${unexplained.slice(0, 5).map(formatProblem).join('; ')}` }
}
