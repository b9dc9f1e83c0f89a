// The htpasswd file of basic_auth, parsed (pure: the text is passed in). Accepted hashes:
// bcrypt ($2y$, $2b$, $2a$: `htpasswd -B`), and {SHA} (unsalted SHA-1, accepted with a warning:
// only for files that cannot be regenerated yet). Refused, with the line number: plain text
// (anyone who reads the file has the password), crypt and MD5-apr1 ($apr1$, weak and without
// a maintained pure-JS verifier here). Blank lines and lines starting with # are skipped.

export type HashKind = 'bcrypt' | 'sha'

export interface HtpasswdUser {
  readonly hash: string
  readonly kind: HashKind
}

export interface HtpasswdResult {
  readonly users: ReadonlyMap<string, HtpasswdUser>
  /** Refused lines: the file is a config error. */
  readonly problems: readonly { line: number; message: string }[]
  /** Lines with {SHA}: accepted, logged as a warning. */
  readonly shaLines: readonly number[]
}

const BCRYPT = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/
const SHA = /^\{SHA\}[A-Za-z0-9+/]{27}=$/

export function parseHtpasswd(text: string): HtpasswdResult {
  const users = new Map<string, HtpasswdUser>()
  const problems: { line: number; message: string }[] = []
  const shaLines: number[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).replace(/\r$/, '')
    const n = i + 1
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue
    const colon = line.indexOf(':')
    if (colon <= 0) {
      problems.push({ line: n, message: 'not "user:hash"' })
      continue
    }
    const user = line.slice(0, colon)
    const hash = line.slice(colon + 1).trim()
    if (users.has(user)) problems.push({ line: n, message: `user "${user}" is listed twice` })
    else if (BCRYPT.test(hash)) users.set(user, { hash, kind: 'bcrypt' })
    else if (SHA.test(hash)) {
      users.set(user, { hash, kind: 'sha' })
      shaLines.push(n)
    } else if (hash.startsWith('$apr1$')) problems.push({ line: n, message: `user "${user}": MD5-apr1 hashes are refused; regenerate with \`htpasswd -B\` (bcrypt)` })
    else if (hash.startsWith('$2')) problems.push({ line: n, message: `user "${user}": malformed bcrypt hash` })
    else if (/^\$\d\$/.test(hash) || /^[./A-Za-z0-9]{13}$/.test(hash)) problems.push({ line: n, message: `user "${user}": crypt hashes are refused; regenerate with \`htpasswd -B\` (bcrypt)` })
    else problems.push({ line: n, message: `user "${user}": not a bcrypt hash (a plain-text password?); generate one with \`htpasswd -B\`` })
  }
  return { users, problems, shaLines }
}
