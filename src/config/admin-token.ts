// `admin.token_file`: the bearer token the runtime API's mutations need
// (docs/operations.md#runtime-api). Read here, at config load, so a SIGHUP re-reads it and a
// bad file fails the load (or the reload, which keeps the old token) with the key's line.
// The token is the file's text, trimmed; it must be one printable ASCII word (it travels in
// an Authorization header), at least 16 characters.
import { readFileSync, statSync } from 'node:fs'
import { isAbsolute } from 'node:path'
import { readString } from './fields.js'
import type { Cursor } from './fields.js'

/** A token file holds one line; anything larger is a mistake (a key file, a log). */
const MAX_FILE = 4096
const MIN_LENGTH = 16

export function readAdminToken(c: Cursor): { tokenFile: string | null; token: string | null } {
  if (c.absent) return { tokenFile: null, token: null }
  const tokenFile = readString(c, '')
  if (tokenFile === '') return { tokenFile: null, token: null } // readString reported a non-string
  if (!isAbsolute(tokenFile)) {
    c.report(`must be an absolute path (got "${tokenFile}")`)
    return { tokenFile, token: null }
  }
  let bytes: Buffer
  try {
    // Checked first, so a device (/dev/zero) or a huge file is never read.
    const stat = statSync(tokenFile)
    if (!stat.isFile()) {
      c.report(`${tokenFile} is not a regular file`)
      return { tokenFile, token: null }
    }
    bytes = stat.size > MAX_FILE ? Buffer.alloc(MAX_FILE + 1) : readFileSync(tokenFile)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    c.report(code === 'ENOENT' ? `file "${tokenFile}" does not exist` : `cannot read "${tokenFile}" (${code ?? 'error'})`)
    return { tokenFile, token: null }
  }
  if (bytes.length > MAX_FILE) {
    c.report(`${tokenFile} is larger than 4 KiB: it should hold the token alone`)
    return { tokenFile, token: null }
  }
  const token = bytes.toString('utf8').trim()
  if (token === '') c.report(`${tokenFile} is empty: write the token in it (e.g. openssl rand -hex 32)`)
  else if (!/^[\x21-\x7e]+$/.test(token)) c.report(`${tokenFile}: the token must be one word of printable ASCII (no spaces or line breaks inside)`)
  else if (token.length < MIN_LENGTH) c.report(`${tokenFile}: the token is ${token.length} characters; use at least ${MIN_LENGTH} (e.g. openssl rand -hex 32)`)
  else return { tokenFile, token }
  return { tokenFile, token: null }
}
