// The runtime API's request target and body (src/core/admin-path.ts): one row per target,
// as a client or an attacker may write it.
import { describe, expect, it } from 'vitest'
import { apiPath, isApiPath, parseApiBody, parseApiTarget, type ApiAction } from '../../src/core/admin-path.js'

describe('parseApiTarget', () => {
  it.each<[string, string, string, string, ApiAction]>([
    ['POST', '/upstreams/app/servers/10.0.0.5:8000/drain', 'app', '10.0.0.5:8000', 'drain'],
    ['POST', '/upstreams/app/servers/10.0.0.5%3A8000/disable', 'app', '10.0.0.5:8000', 'disable'],
    ['POST', '/upstreams/app/servers/10.0.0.5:8000/enable?x=1', 'app', '10.0.0.5:8000', 'enable'],
    ['PUT', '/upstreams/app/servers/10.0.0.5:8000/weight', 'app', '10.0.0.5:8000', 'weight'],
    ['POST', '/upstreams/app/servers/[::1]:8000/drain', 'app', '[::1]:8000', 'drain'],
    ['POST', '/upstreams/app/servers/%5B%3A%3A1%5D%3A8000/drain', 'app', '[::1]:8000', 'drain'],
    ['POST', '/upstreams/app/servers/unix:%2Frun%2Fgunicorn%2Fapp.sock/drain', 'app', 'unix:/run/gunicorn/app.sock', 'drain'],
    ['POST', '/upstreams/app/servers/unix%3A%2Frun%2Fapp.sock/drain', 'app', 'unix:/run/app.sock', 'drain'],
    ['POST', '/upstreams/my.app-2_x/servers/h:1/drain', 'my.app-2_x', 'h:1', 'drain'],
  ])('%s %s', (method, target, upstream, server, action) => {
    expect(parseApiTarget(method, target)).toEqual({ ok: true, upstream, server, action })
  })

  it.each<[string, string, 400 | 404 | 405, RegExp]>([
    ['POST', '/upstreams/app/servers/10.0.0.5:8000/../drain', 400, /"\.\."/],
    ['POST', '/upstreams/app/servers/%2E%2E/drain', 400, /"\.\."/],
    ['POST', '/upstreams/./servers/h:1/drain', 400, /"\."/],
    ['POST', '/upstreams/app//servers/h:1/drain', 400, /empty path segment/],
    ['POST', '/upstreams/app/servers/h:1/drain/', 400, /empty path segment/],
    ['POST', '/upstreams/a%2Fb/servers/h:1/drain', 400, /encoded "\/"/],
    ['POST', '/upstreams/app/servers/10.0.0.5%2F8000/drain', 400, /encoded "\/"/],
    ['POST', '/upstreams/app/servers/unix:%2Frun%2F..%2Fetc%2Fx.sock/drain', 400, /"\.\."/],
    ['POST', '/upstreams/app/servers/h%3/drain', 400, /percent-encoding/],
    ['POST', '/upstreams/app/servers/h%00:1/drain', 400, /control character/],
    ['POST', '/upstreams/app/servers/h%5C1/drain', 400, /backslash/],
    ['POST', '/upstreams', 404, /unknown path/],
    ['POST', '/upstreams/app', 404, /unknown path/],
    ['POST', '/upstreams/app/servers/h:1', 404, /unknown path/],
    ['POST', '/upstreams/app/servers/h:1/restart', 404, /unknown path/],
    ['POST', '/upstreams/app/members/h:1/drain', 404, /unknown path/],
    ['POST', '/upstreams/app/servers/h:1/drain/now', 404, /unknown path/],
    ['GET', '/upstreams/app/servers/h:1/drain', 405, /drain takes POST/],
    ['POST', '/upstreams/app/servers/h:1/weight', 405, /weight takes PUT/],
    ['PUT', '/upstreams/app/servers/h:1/enable', 405, /enable takes POST/],
  ])('%s %s -> %d', (method, target, status, error) => {
    const r = parseApiTarget(method, target)
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.status).toBe(status)
    expect(r.error).toMatch(error)
    if (status === 405) expect(r.allow).toMatch(/^(POST|PUT)$/)
  })

  it('owns /upstreams and below, nothing else', () => {
    expect(isApiPath('/upstreams')).toBe(true)
    expect(isApiPath('/upstreams/x?y')).toBe(true)
    expect(isApiPath('/upstreamsx')).toBe(false)
    expect(isApiPath('/status')).toBe(false)
  })

  it('apiPath writes what parseApiTarget reads, for every kind of id', () => {
    for (const id of ['10.0.0.5:8000', '[::1]:8000', 'unix:/run/gunicorn/app.sock', 'app.internal:80']) {
      expect(parseApiTarget('POST', apiPath('app', id, 'drain'))).toEqual({ ok: true, upstream: 'app', server: id, action: 'drain' })
    }
  })
})

describe('parseApiBody', () => {
  it.each<[ApiAction, string, number | null | string]>([
    ['drain', '', null],
    ['drain', '  \n', null],
    ['drain', '{}', null],
    ['drain', '{"now": true}', 'takes no parameters'],
    ['drain', 'please', 'must be empty or {}'],
    ['enable', '[]', 'must be empty or {}'],
    ['weight', '{"weight": 5}', 5],
    ['weight', '{"weight": 1000}', 1000],
    ['weight', '{"weight": null}', null],
    ['weight', '', 'must be JSON'],
    ['weight', '{"weight": 0}', 'integer from 1 to 1000'],
    ['weight', '{"weight": 1001}', 'integer from 1 to 1000'],
    ['weight', '{"weight": 2.5}', 'integer from 1 to 1000'],
    ['weight', '{"weight": "5"}', 'integer from 1 to 1000'],
    ['weight', '{"weight": 5, "x": 1}', 'unknown key "x"'],
    ['weight', '{}', 'missing "weight"'],
    ['weight', '5', 'must be a JSON object'],
    ['weight', '{"weight": 5', 'must be JSON'],
  ])('%s with %j', (action, text, expected) => {
    const r = parseApiBody(action, text)
    if (typeof expected === 'string') {
      expect(r.ok).toBe(false)
      if (!r.ok) expect(r.error).toContain(expected)
    } else expect(r).toEqual({ ok: true, weight: expected })
  })
})
