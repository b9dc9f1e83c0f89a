// What one test starts, closed when that test finishes (reverse order), like scope.ts's
// closeAfterEach() but tied to the test through its context: in a describe.concurrent
// block an afterEach hook cannot tell whose daemon is whose, so each test closes only its
// own. Use it as `it('...', async (ctx) => { const scope = testScope(ctx); ... })`.
import type { TestContext } from 'vitest'
import { scopeOver, type Scope } from './scope.js'

export function testScope(ctx: Pick<TestContext, 'onTestFinished'>): Scope {
  const open: { close(): Promise<unknown> }[] = []
  ctx.onTestFinished(async () => {
    for (const x of open.splice(0).reverse()) await x.close()
  })
  return scopeOver(open)
}
