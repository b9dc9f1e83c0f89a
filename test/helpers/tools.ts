// External programs some tests need (promtool, prometheus...). On a developer's machine a
// missing tool skips those tests with a visible reason, so `npm test` stays green on a
// fresh checkout; in CI (env CI set) a missing tool fails the test instead: CI must
// never skip silently (.ci/run installs the tools).
//
//   it('...', async (ctx) => {
//     needTool(ctx, 'promtool', 'prometheus')   // CI: throws; locally: ctx.skip(reason)
//     ...
//   })
import { accessSync, constants, statSync } from 'node:fs'
import { delimiter, join } from 'node:path'

/** True when env CI is set to something other than "", "0" or "false". */
export function inCI(): boolean {
  const ci = process.env.CI
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false'
}

/** Absolute path of an executable `cmd` found on PATH, or undefined. */
export function findTool(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue
    const candidate = join(dir, cmd)
    try {
      accessSync(candidate, constants.X_OK)
      if (statSync(candidate).isFile()) return candidate
    } catch {
      // not here
    }
  }
  return undefined
}

export function missingToolMessage(cmd: string, aptPackage: string): string {
  return `${cmd} is missing: apt-get install ${aptPackage} (.ci/run installs it)`
}

/**
 * True when `cmd` is on PATH. When it is missing: throws in CI (so the test fails with the
 * install hint), returns false elsewhere (so the caller can skip with
 * `missingToolMessage(cmd, aptPackage)` as the reason).
 */
export function requireTool(cmd: string, aptPackage: string): boolean {
  if (findTool(cmd) !== undefined) return true
  if (inCI()) throw new Error(missingToolMessage(cmd, aptPackage))
  return false
}

/** The part of vitest's TestContext that `needTool` uses. */
export interface SkippableContext {
  skip(note?: string): never
}

/**
 * Call first thing inside a test (`it('...', (ctx) => { needTool(ctx, ...) })`): returns
 * when `cmd` is on PATH; otherwise fails the test in CI and skips it elsewhere, the
 * reason printed as a warning and shown by the verbose reporter
 * (`↓ name [promtool is missing: apt-get install prometheus (.ci/run installs it)]`).
 */
export function needTool(ctx: SkippableContext, cmd: string, aptPackage: string): void {
  if (requireTool(cmd, aptPackage)) return
  const reason = missingToolMessage(cmd, aptPackage)
  console.warn(`skipped: ${reason}`) // the default reporter hides skip notes; this shows
  ctx.skip(reason)
}
