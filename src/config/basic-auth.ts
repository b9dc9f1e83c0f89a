// `basic_auth: { realm, users_file, forward }`: the htpasswd file is read and checked at
// config load (so a reload re-reads it, and a bad file fails the reload with its line
// numbers); core/policies/htpasswd.ts says which hashes are accepted.
import { readFileSync } from 'node:fs'
import { isAbsolute } from 'node:path'
import { checkMap, readBool, readString, REQUIRED } from './fields.js'
import type { Cursor } from './fields.js'
import { parseHtpasswd } from '../core/policies/htpasswd.js'
import type { BasicAuthConfig } from './policy-types.js'

const KEYS = ['realm', 'users_file', 'forward']
/** A users file is a list of people, not a database: larger is a mistake. */
const MAX_FILE = 1024 * 1024

export function readBasicAuth(c: Cursor): BasicAuthConfig | null {
  if (c.absent || !checkMap(c, KEYS) || !(c.value instanceof Map)) return null
  const realmCursor = c.field('realm')
  const realm = readString(realmCursor, 'switchyard')
  if (realm !== '' && !/^[\x20-\x7e]*$/.test(realm)) realmCursor.report('must be printable ASCII (it is sent in WWW-Authenticate)')
  else if (/["\\]/.test(realm)) realmCursor.report('must not contain " or \\ (it is sent quoted in WWW-Authenticate)')
  const fileCursor = c.field('users_file')
  const usersFile = readString(fileCursor, REQUIRED)
  let users: BasicAuthConfig['users'] = new Map()
  let shaLines: readonly number[] = []
  if (usersFile !== '') {
    if (!isAbsolute(usersFile)) fileCursor.report(`must be an absolute path (got "${usersFile}")`)
    else {
      const text = readUsersFile(fileCursor, usersFile)
      if (text !== undefined) {
        const parsed = parseHtpasswd(text)
        for (const p of parsed.problems) fileCursor.report(`${usersFile} line ${p.line}: ${p.message}`)
        if (parsed.problems.length === 0 && parsed.users.size === 0) fileCursor.report(`${usersFile} lists no user: nobody could pass`)
        users = parsed.users
        shaLines = parsed.shaLines
      }
    }
  }
  return { realm, usersFile, users, shaLines, forward: readBool(c.field('forward'), false) }
}

function readUsersFile(c: Cursor, file: string): string | undefined {
  try {
    const bytes = readFileSync(file)
    if (bytes.length > MAX_FILE) {
      c.report(`${file} is larger than 1 MiB`)
      return undefined
    }
    return bytes.toString('utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    c.report(code === 'ENOENT' ? `file "${file}" does not exist` : `cannot read "${file}" (${code ?? 'error'})`)
    return undefined
  }
}
