// `redirect: { to, status }`: the route answers with a redirect and no server is asked.
// `to` may hold {path} (the request's path and query, as received) and {host} (the Host
// header without its port); it is split into literal parts and slots once, at load, and an
// unknown placeholder ({query}, {uri}...) is a config error, not a literal "{query}".

export const REDIRECT_STATUSES = [301, 302, 307, 308] as const
export const PLACEHOLDERS = ['path', 'host'] as const
type Placeholder = (typeof PLACEHOLDERS)[number]

export interface RedirectTemplate {
  /** Literal text; parts.length === slots.length + 1. */
  readonly parts: readonly string[]
  readonly slots: readonly Placeholder[]
}

/** Splits `to`; `error` names the first unknown placeholder or an unclosed brace. */
export function compileRedirect(to: string): RedirectTemplate | { error: string } {
  const parts: string[] = []
  const slots: Placeholder[] = []
  let literal = ''
  for (let i = 0; i < to.length; i++) {
    const c = to[i] as string
    if (c !== '{') {
      if (c === '}') return { error: `has a "}" without its "{" (placeholders are ${PLACEHOLDERS.map((p) => `{${p}}`).join(', ')})` }
      literal += c
      continue
    }
    const end = to.indexOf('}', i)
    if (end < 0) return { error: `has a "{" without its "}" (placeholders are ${PLACEHOLDERS.map((p) => `{${p}}`).join(', ')})` }
    const name = to.slice(i + 1, end)
    if (!(PLACEHOLDERS as readonly string[]).includes(name)) return { error: `unknown placeholder {${name}}; the placeholders are ${PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}` }
    parts.push(literal)
    slots.push(name as Placeholder)
    literal = ''
    i = end
  }
  parts.push(literal)
  return { parts, slots }
}

/** The Location value. `host` is the Host header as sent (its port is dropped), `url` the request target. */
export function redirectLocation(t: RedirectTemplate, host: string | undefined, url: string): string {
  let out = t.parts[0] as string
  for (let i = 0; i < t.slots.length; i++) {
    out += t.slots[i] === 'path' ? url : hostWithoutPort(host ?? '')
    out += t.parts[i + 1] as string
  }
  return out
}

function hostWithoutPort(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']')
    return end < 0 ? host : host.slice(0, end + 1)
  }
  const colon = host.indexOf(':')
  return colon < 0 ? host : host.slice(0, colon)
}
