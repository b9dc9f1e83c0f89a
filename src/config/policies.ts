// A route's edge policies (contract section 8, docs/policies.md): rewrite_prefix, header
// rules, redirect, allow/deny, basic_auth, rate_limit, error_pages, maintenance,
// intercept_errors, compress (compression.ts). Read here, each with its key path; compiled into the route's chain by the
// runtime (shell/runtime/policy-route.ts). A route that writes none of these keys gets no
// `policies` property at all, so the request path never looks at it.
import { BlockList, isIP } from 'node:net'
import { checkMap, Cursor, readBool, readString, REQUIRED } from './fields.js'
import { describe } from './problems.js'
import { compileRedirect, REDIRECT_STATUSES } from '../core/policies/redirect.js'
import { headerNameProblem, headerValueProblem, type HeaderRulesInput, type RuleKind } from '../core/policies/header-rules.js'
import { readBasicAuth } from './basic-auth.js'
import { readRateLimit } from './rate-limit.js'
import { readErrorPages } from './error-pages.js'
import { readCompress } from './compression.js'
import type { RedirectConfig, RoutePoliciesConfig } from './policy-types.js'

export const POLICY_KEYS = ['rewrite_prefix', 'request_headers', 'response_headers', 'redirect', 'rate_limit', 'allow', 'deny', 'basic_auth', 'error_pages', 'maintenance', 'intercept_errors', 'compress']
const RULE_KEYS = ['set', 'add', 'remove']
const REDIRECT_KEYS = ['to', 'status']

/** `{ policies }` when the route writes any policy key, else {}. `staticRoute`: served from a directory. */
export function readRoutePolicies(r: Cursor, staticRoute: boolean): { policies?: RoutePoliciesConfig } {
  if (!(r.value instanceof Map) || !POLICY_KEYS.some((k) => r.value instanceof Map && r.value.has(k))) return {}
  const upstreamOnly = (key: string): Cursor => {
    const c = r.field(key)
    if (staticRoute && !c.absent) {
      c.report('applies to routes with an `upstream` only (a static route has no server to send it to)')
      return new Cursor(c.problems, c.path, undefined, true) // reported: nothing more to read
    }
    return c
  }
  return {
    policies: {
      redirect: readRedirect(r.field('redirect')),
      allow: readCidrs(r.field('allow')),
      deny: readCidrs(r.field('deny')),
      basicAuth: readBasicAuth(r.field('basic_auth')),
      rateLimit: readRateLimit(r.field('rate_limit')),
      maintenance: readBool(r.field('maintenance'), false),
      rewritePrefix: readRewritePrefix(upstreamOnly('rewrite_prefix')),
      requestHeaders: readHeaderRules(upstreamOnly('request_headers'), 'request'),
      responseHeaders: readHeaderRules(upstreamOnly('response_headers'), 'response'),
      errorPages: readErrorPages(r.field('error_pages')),
      interceptErrors: readBool(upstreamOnly('intercept_errors'), false),
      compress: readCompress(upstreamOnly('compress')),
    },
  }
}

function readRedirect(c: Cursor): RedirectConfig | null {
  if (c.absent || !checkMap(c, REDIRECT_KEYS) || !(c.value instanceof Map)) return null
  const toCursor = c.field('to')
  const to = readString(toCursor, REQUIRED)
  if (to !== '') {
    const compiled = compileRedirect(to)
    if ('error' in compiled) toCursor.report(compiled.error)
    // eslint-disable-next-line no-control-regex -- control characters are what it refuses
    else if (/[\0-\x1f\x7f]/.test(to)) toCursor.report('must not contain control characters (it becomes a Location header)')
  }
  const statusCursor = c.field('status')
  let status: RedirectConfig['status'] = 302
  if (!statusCursor.absent) {
    if ((REDIRECT_STATUSES as readonly unknown[]).includes(statusCursor.value)) status = statusCursor.value as RedirectConfig['status']
    else statusCursor.report(`must be one of ${REDIRECT_STATUSES.join(', ')} (got ${describe(statusCursor.value)})`)
  }
  return { to, status }
}

/** A list of addresses or CIDR ranges; each is checked by adding it to a BlockList, as the runtime will. */
function readCidrs(c: Cursor): readonly string[] | null {
  if (c.absent) return null
  if (!Array.isArray(c.value)) {
    c.report(`must be a list of addresses or CIDR ranges such as 10.0.0.0/8 or "::1" (got ${describe(c.value)})`)
    return null
  }
  const out: string[] = []
  for (let i = 0; i < c.value.length; i++) {
    const item = c.item(i)
    const raw = typeof item.value === 'string' ? item.value.trim() : ''
    const problem = typeof item.value === 'string' ? cidrProblem(raw) : `must be an address or a CIDR range (got ${describe(item.value)})`
    if (problem !== undefined) item.report(problem)
    else out.push(raw)
  }
  return out
}

/** Undefined when `raw` is an IPv4/IPv6 address or a CIDR range with a prefix length that fits. */
export function cidrProblem(raw: string): string | undefined {
  const slash = raw.indexOf('/')
  const address = slash < 0 ? raw : raw.slice(0, slash)
  const family = isIP(address)
  if (family === 0) return `"${raw}" is not an IP address or a CIDR range (such as 10.0.0.0/8, 192.168.1.7 or "2001:db8::/32")`
  if (slash < 0) return undefined
  const bits = raw.slice(slash + 1)
  const max = family === 4 ? 32 : 128
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return `"${raw}": the prefix length must be 0 to ${max}`
  return undefined
}

/** A BlockList of the ranges (IPv4-mapped IPv6 addresses match IPv4 ranges). Built at load by the runtime. */
export function blockListOf(cidrs: readonly string[]): BlockList {
  const list = new BlockList()
  for (const raw of cidrs) {
    const slash = raw.indexOf('/')
    const address = slash < 0 ? raw : raw.slice(0, slash)
    const type = isIP(address) === 4 ? 'ipv4' : 'ipv6'
    if (slash < 0) list.addAddress(address, type)
    else list.addSubnet(address, Number(raw.slice(slash + 1)), type)
  }
  return list
}

function readRewritePrefix(c: Cursor): string | null {
  if (c.absent) return null
  const raw = readString(c, REQUIRED)
  if (raw === '') return null
  if (!raw.startsWith('/')) c.report(`must start with "/" (got "${raw}")`)
  // eslint-disable-next-line no-control-regex -- control characters are what it refuses
  else if (/[?#\s\0-\x1f\x7f]/.test(raw)) c.report(`must be a path only: no "?", "#", spaces or control characters (got ${describe(raw)})`)
  else return raw
  return null
}

function readHeaderRules(c: Cursor, direction: 'request' | 'response'): HeaderRulesInput | null {
  if (c.absent || !checkMap(c, RULE_KEYS) || !(c.value instanceof Map)) return null
  const pairs = (kind: 'set' | 'add'): [string, string][] => {
    const m = c.field(kind)
    if (m.absent) return []
    if (!(m.value instanceof Map)) {
      m.report(`must be a map of header name to value (got ${describe(m.value)})`)
      return []
    }
    const out: [string, string][] = []
    for (const [name, value] of m.value) {
      const at = m.field(name)
      const nameProblem = typeof name === 'string' ? headerNameProblem(name, kind, direction) : 'header names are strings'
      if (nameProblem !== undefined) {
        m.problems.atKey(at.path, nameProblem)
        continue
      }
      const text = typeof value === 'number' || typeof value === 'boolean' ? String(value) : value
      if (typeof text !== 'string') {
        at.report(`must be a string (got ${describe(value)})`)
        continue
      }
      const valueProblem = headerValueProblem(text)
      if (valueProblem !== undefined) at.report(valueProblem)
      else out.push([name as string, text])
    }
    return out
  }
  const removeCursor = c.field('remove')
  const remove: string[] = []
  if (!removeCursor.absent) {
    if (!Array.isArray(removeCursor.value)) removeCursor.report(`must be a list of header names (got ${describe(removeCursor.value)})`)
    else {
      removeCursor.value.forEach((name: unknown, i) => {
        const item = removeCursor.item(i)
        const kind: RuleKind = 'remove'
        const problem = typeof name === 'string' ? headerNameProblem(name, kind, direction) : `must be a header name (got ${describe(name)})`
        if (problem !== undefined) item.report(problem)
        else remove.push(name as string)
      })
    }
  }
  return { set: pairs('set'), add: pairs('add'), remove }
}

