// The admin port's live status page (contract section 9, issue #18 item 3), in a real
// headless Chromium (Debian's `chromium`, driven by puppeteer-core with that binary: no
// browser download): it renders every upstream and server from the daemon, shows a server
// going down within 5 s, shows traffic (req/s, latency), and its drain button drains a
// server through the runtime API. A screenshot goes to artifacts/status-page.png (CI keeps
// the artifacts/ directory). The page itself needs no network: a plain request checks that
// it names no external URL and carries its CSP.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import puppeteer, { type Browser, type Page } from 'puppeteer-core'
import { closeAfterEach } from '../helpers/scope.js'
import { request } from '../helpers/client.js'
import { findTool, needTool } from '../helpers/tools.js'

const ARTIFACTS = resolve(import.meta.dirname, '../../artifacts')

describe('the status page', () => {
  const { backend, daemon, defer } = closeAfterEach()

  it('is one self-contained document: HTML, a strict CSP, no external URL', async () => {
    const a = await backend('a')
    const d = await daemon(`
listeners: [{address: 127.0.0.1, port: 0}]
admin: {port: 0}
upstreams: {app: {servers: [{url: "${a.url}"}]}}
`)
    const r = await request(d.adminUrl('/'))
    expect(r.status).toBe(200)
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(r.headers['content-security-policy']).toContain("default-src 'none'")
    expect(r.headers['content-security-policy']).toContain("connect-src 'self'")
    expect(r.body).toContain('<title>switchyard status</title>')
    expect(r.body).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//)
    expect(r.body).not.toMatch(/https?:\/\//)
    expect((await request(d.adminUrl('/'), { method: 'POST' })).status).toBe(405)
  })

  it('in Chromium: every server, a server going down within 5 s, traffic figures, and the drain button', async (ctx) => {
    needTool(ctx, 'chromium', 'chromium')
    let healthy = true
    const a = await backend('a')
    const b = await backend('b', (req, res) => {
      res.writeHead(req.url === '/health' && !healthy ? 500 : 200)
      res.end('b\n')
    })
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-status-page-'))
    const tokenFile = join(dir, 'token')
    writeFileSync(tokenFile, 'page-test-token-0123\n')
    const d = await daemon(`
listeners: [{address: 127.0.0.1, port: 0}]
admin: {port: 0, token_file: ${tokenFile}}
upstreams:
  app:
    servers: [{url: "${a.url}"}, {url: "${b.url}"}]
    health_check: {path: /health, interval: 300ms, timeout: 250ms, unhealthy_threshold: 1, healthy_threshold: 1}
`)
    const browser: Browser = await puppeteer.launch({
      executablePath: findTool('chromium') as string,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    })
    defer({ close: () => browser.close() })
    const page: Page = await browser.newPage()
    const errors: string[] = []
    page.on('pageerror', (err) => errors.push(String(err)))
    page.on('requestfailed', (req) => errors.push(`request failed: ${req.url()}`))
    await page.goto(d.adminUrl('/'))

    const idA = new URL(a.url).host
    const idB = new URL(b.url).host
    const cell = (id: string, cls: string): Promise<string> =>
      page.$eval(`tr[data-server="${id}"] td.${cls}`, (td) => (td.textContent ?? '').trim())
    await page.waitForSelector(`tr[data-server="${idA}"]`, { timeout: 5000 })
    await page.waitForSelector(`tr[data-server="${idB}"]`, { timeout: 5000 })
    expect(await cell(idA, 'state')).toBe('healthy')

    // Traffic shows up as a request rate and a latency on the next poll.
    for (let i = 0; i < 20; i++) expect((await request(d.url(`/t${i}`))).status).toBe(200)
    const rowCell = (id: string, cls: string): string => `document.querySelector('tr[data-server="${id}"] td.${cls}')`
    await page.waitForFunction(`(${rowCell(idA, 'rps')}?.textContent ?? '–') !== '–' && Number(${rowCell(idA, 'rps')}.textContent) > 0`, { timeout: 5000 })
    expect(await cell(idA, 'p50')).toMatch(/\d (ms|µs)$/)

    // b fails its probes: the page says so within 5 s.
    healthy = false
    const downAt = Date.now()
    await page.waitForFunction(`${rowCell(idB, 'state')}?.textContent === 'unhealthy'`, { timeout: 5000 })
    expect(Date.now() - downAt).toBeLessThan(5000)

    // With the token, the drain button drains a through the runtime API.
    await page.type('#token', 'page-test-token-0123')
    await page.click('#auth button[type=submit]')
    await page.waitForSelector(`tr[data-server="${idA}"] button[data-action="drain"]`, { timeout: 5000 })
    await page.click(`tr[data-server="${idA}"] button[data-action="drain"]`)
    await page.waitForFunction(`(${rowCell(idA, 'admin')}?.textContent ?? '').startsWith('draining')`, { timeout: 5000 })
    const status = JSON.parse((await request(d.adminUrl('/status'))).body) as { upstreams: { app: { servers: { id: string; admin_state: string }[] } } }
    expect(status.upstreams.app.servers.find((s) => s.id === idA)?.admin_state).toBe('draining')
    expect(await page.$eval('#result', (e) => e.textContent)).toContain('drain app')

    mkdirSync(ARTIFACTS, { recursive: true })
    await page.screenshot({ path: join(ARTIFACTS, 'status-page.png'), fullPage: true })
    expect(errors).toEqual([])
  }, 30_000)
})
