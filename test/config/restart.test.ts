import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/load.js'
import { restartNeeded } from '../../src/config/restart.js'
import type { Config } from '../../src/config/types.js'

const config = (yaml: string): Config => {
  const r = parseConfig(yaml)
  if (!r.ok) throw new Error(JSON.stringify(r.problems))
  return r.config
}
const BASE = `
listeners: [{ name: public, address: 127.0.0.1, port: 8080 }]
admin: { port: 9090 }
upstreams: { app: { servers: [{ url: "http://127.0.0.1:3001" }] } }
`

describe('restartNeeded', () => {
  it.each([
    ['nothing', BASE, []],
    ['servers, weights, routes, timeouts, log level', `
listeners: [{ name: public, address: 127.0.0.1, port: 8080 }]
admin: { port: 9090 }
log: { level: debug }
shutdown_timeout: 5s
upstreams:
  app: { servers: [{ url: "http://127.0.0.1:3002", weight: 5 }], retries: 0 }
  api: { servers: [{ url: "http://127.0.0.1:3003" }] }
routes: [{ upstream: app }, { match: { path_prefix: /api }, upstream: api }]
`, []],
    ['a listener port', BASE.replace('port: 8080', 'port: 8081'), [/^listeners: changed from \[public 127\.0\.0\.1:8080\] to \[public 127\.0\.0\.1:8081\]/]],
    ['a listener added', BASE.replace('port: 8080 }]', 'port: 8080 }, { port: 8443 }]'), [/^listeners: /]],
    ['a listener limit', BASE.replace('port: 8080 }', 'port: 8080, max_body_size: 1m }'), [/^listeners: limits or timeouts changed/]],
    ['a listener renamed', BASE.replace('name: public', 'name: www'), [/^listeners: /]],
    ['the admin port', BASE.replace('port: 9090', 'port: 9091'), [/^admin: changed from 127\.0\.0\.1:9090 to 127\.0\.0\.1:9091/]],
    ['the admin address', BASE.replace('port: 9090', 'port: 9090, address: 0.0.0.0'), [/^admin: /]],
    ['workers', `${BASE}workers: 2\n`, [/^workers: changed from 1 to 2/]],
    ['all three', `${BASE.replace('port: 8080', 'port: 1').replace('port: 9090', 'port: 2')}workers: auto\n`, [/^listeners/, /^admin/, /^workers/]],
  ])('%s', (_, yaml, expected) => {
    const got = restartNeeded(config(BASE), config(yaml))
    expect(got).toHaveLength(expected.length)
    expected.forEach((re, i) => expect(got[i]).toMatch(re))
  })
})
