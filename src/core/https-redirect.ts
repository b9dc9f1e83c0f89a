// `redirect_https: true` on a plain listener: the 308 target for a request, or null when the
// request is not redirected. ACME HTTP-01 challenges (`/.well-known/acme-challenge/...`)
// must be answered over plain HTTP (RFC 8555 8.3), so they go on to the routes.
// The host is the client's Host without its port (the plain port means nothing on HTTPS);
// `port` is the HTTPS port to write, decided once at listen time (null: the default 443).
// A Host that is not a plain name, IPv4 or [IPv6] literal gets no redirect (400 instead):
// a Location built from `evil.example/x` or `a@b` would send the client somewhere else.

export const ACME_CHALLENGE_PREFIX = '/.well-known/acme-challenge/'

export type HttpsRedirect =
  | { readonly kind: 'pass' } // serve it as usual (an ACME challenge)
  | { readonly kind: 'redirect'; readonly location: string }
  | { readonly kind: 'bad_host' }

const PASS: HttpsRedirect = Object.freeze({ kind: 'pass' })
const BAD_HOST: HttpsRedirect = Object.freeze({ kind: 'bad_host' })

export function httpsRedirect(host: string | undefined, target: string, port: number | null): HttpsRedirect {
  if (target.startsWith(ACME_CHALLENGE_PREFIX)) return PASS
  const name = host === undefined ? '' : hostWithoutPort(host)
  if (name === '') return BAD_HOST
  const path = target.charCodeAt(0) === 47 ? target : '/' // origin form; anything else goes to "/"
  return { kind: 'redirect', location: `https://${name}${port === null ? '' : `:${port}`}${path}` }
}

/** The name part of a Host value, lower-cased; '' when it is not a valid host. */
function hostWithoutPort(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']')
    if (end < 0) return ''
    const literal = host.slice(1, end)
    const rest = host.slice(end + 1)
    if (!/^[0-9A-Fa-f:.]+$/.test(literal) || (rest !== '' && !/^:[0-9]{1,5}$/.test(rest))) return ''
    return `[${literal.toLowerCase()}]`
  }
  const colon = host.indexOf(':')
  const name = colon < 0 ? host : host.slice(0, colon)
  if (colon >= 0 && !/^[0-9]{1,5}$/.test(host.slice(colon + 1))) return ''
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/.test(name)) return ''
  return name.toLowerCase()
}
