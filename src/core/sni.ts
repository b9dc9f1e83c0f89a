// Which certificate a TLS handshake gets, by the name the client sent (SNI): an exact name
// first, then a wildcard one label up (`*.example.com` covers `a.example.com`, not
// `example.com` nor `a.b.example.com`, as RFC 6125 and browsers read it), else the first
// certificate of the listener. The table is built once per certificate set (config load,
// reload, or a certificate installed at runtime); a handshake costs at most two Map lookups.

/** name (lower case) -> index of the certificate that serves it; the first certificate to list a name wins. */
export interface SniTable {
  readonly exact: ReadonlyMap<string, number>
  /** Keyed by the part after "*." ("example.com" for "*.example.com"). */
  readonly wildcard: ReadonlyMap<string, number>
}

export function sniTable(namesPerCertificate: readonly (readonly string[])[]): SniTable {
  const exact = new Map<string, number>()
  const wildcard = new Map<string, number>()
  namesPerCertificate.forEach((names, i) => {
    for (const raw of names) {
      const name = raw.toLowerCase()
      if (name.startsWith('*.')) {
        if (!wildcard.has(name.slice(2))) wildcard.set(name.slice(2), i)
      } else if (!exact.has(name)) exact.set(name, i)
    }
  })
  return { exact, wildcard }
}

/** The index of the certificate for `servername` (as the client sent it); 0 when nothing matches. */
export function sniPick(table: SniTable, servername: string): number {
  const name = servername.toLowerCase()
  const exact = table.exact.get(name)
  if (exact !== undefined) return exact
  const dot = name.indexOf('.')
  if (dot > 0) {
    const up = table.wildcard.get(name.slice(dot + 1))
    if (up !== undefined) return up
  }
  return 0
}

/**
 * The DNS names a certificate is for: its subjectAltName DNS entries (node:crypto's
 * X509Certificate.subjectAltName text: `DNS:a.example.com, DNS:*.example.com, IP Address:...`),
 * or, without any, the subject's CN (`subject` text: lines of `KEY=value`), as clients did
 * before SAN was required. Quoted entries (names with a comma) are unquoted.
 */
export function certificateNames(subjectAltName: string | undefined, subject: string | undefined): string[] {
  const names: string[] = []
  if (subjectAltName !== undefined) {
    for (const part of splitSan(subjectAltName)) {
      if (part.startsWith('DNS:')) names.push(part.slice(4).toLowerCase())
    }
  }
  if (names.length > 0 || subject === undefined) return names
  for (const line of subject.split('\n')) {
    if (line.startsWith('CN=')) names.push(line.slice(3).toLowerCase())
  }
  return names
}

function splitSan(san: string): string[] {
  const out: string[] = []
  let current = ''
  let quoted = false
  for (let i = 0; i < san.length; i++) {
    const c = san[i] as string
    if (c === '"') quoted = !quoted
    else if (c === ',' && !quoted) {
      out.push(current.trim())
      current = ''
    } else current += c
  }
  if (current.trim() !== '') out.push(current.trim())
  return out
}
