// Reading a PEM file named in the config (a certificate, a key, a CA bundle): an absolute
// path to a regular file of a sane size, readable by the daemon. Each failure is a problem at
// the key that names the file, with the path in the message.
import { readFileSync, statSync } from 'node:fs'
import { isAbsolute } from 'node:path'
import type { Cursor } from './fields.js'

/** A PEM chain or key is a few KiB; a larger file is a mistake (a log, a device), not a certificate. */
const MAX_PEM_BYTES = 1024 * 1024

/** The text of a PEM file, or null (reported) when it cannot be used. */
export function readPem(c: Cursor, file: string, what: string): string | null {
  // Relative to what? The daemon's working directory is "/" under systemd.
  if (!isAbsolute(file)) {
    c.report(`must be an absolute path (got "${file}")`)
    return null
  }
  try {
    const st = statSync(file)
    if (!st.isFile()) {
      c.report(`${file} is not a file`)
      return null
    }
    if (st.size > MAX_PEM_BYTES) {
      c.report(`${file} is ${st.size} bytes: too large for a PEM ${what} (at most ${MAX_PEM_BYTES})`)
      return null
    }
    return readFileSync(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    c.report(code === 'ENOENT' || code === 'ENOTDIR' ? `${file} does not exist`
      : code === 'EACCES' ? `${file} is not readable by this process (permission denied)`
        : `cannot read ${file} (${code ?? String(err)})`)
    return null
  }
}
