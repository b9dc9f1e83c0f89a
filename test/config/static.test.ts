// The `static:` block of a route: values, defaults, and every problem with its key path and line.
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { configOfText, expectProblems, type ExpectedProblem } from '../helpers/config.js'

const dir = mkdtempSync(join(tmpdir(), 'switchyard-static-config-'))
const root = join(dir, 'www')
mkdirSync(root)
writeFileSync(join(dir, 'file.txt'), 'not a directory')
symlinkSync(root, join(dir, 'current')) // a deploy's "current -> release" link
afterAll(() => rmSync(dir, { recursive: true, force: true }))

// Line 1 listeners, 2-4 upstream app, 5 routes, 6 the static route's match, 7 `static:`.
const BASE = `listeners: [{port: 8080}]
upstreams:
  app:
    servers: [{url: "http://127.0.0.1:3001"}]
routes:
  - match: {path_prefix: /static}
`
const withStatic = (block: string): string => `${BASE}    static:\n${block}  - upstream: app\n`


type Expected = ExpectedProblem


const FILE_CACHE_DEFAULTS = { maxFileSize: 256 * 1024, maxSize: 32 * 1024 ** 2, maxEntries: 10_000, validMs: 1000 }

describe('static routes: values', () => {
  test('defaults: no Cache-Control, no index, no precompressed siblings', () => {
    const config = configOfText(withStatic(`      root: ${root}\n`))
    expect(config.routes[0]).toEqual({
      name: 'route-0',
      host: null,
      pathPrefix: '/static',
      upstream: null,
      static: { root, realRoot: realpathSync(root), cacheControl: null, index: null, precompressed: false, fileCache: FILE_CACHE_DEFAULTS },
      cache: null,
    })
    expect(config.routes[1]).toEqual({ name: 'route-1', host: null, pathPrefix: '/', upstream: 'app', cache: null })
  })

  test('every key set', () => {
    const config = configOfText(withStatic(`      root: ${root}/\n      cache_control: "public, max-age=3600"\n      index: index.html\n      precompressed: true\n` +
      '      file_cache: { max_file_size: 1k, max_size: 2m, max_entries: 50, valid: 250ms }\n'))
    expect(config.routes[0]?.static).toEqual({
      root, realRoot: realpathSync(root), cacheControl: 'public, max-age=3600', index: 'index.html', precompressed: true,
      fileCache: { maxFileSize: 1024, maxSize: 2 * 1024 ** 2, maxEntries: 50, validMs: 250 },
    })
  })

  test('file_cache: false turns it off, true and {} are the defaults, max_file_size follows a smaller max_size', () => {
    const fileCache = (v: string): unknown => configOfText(withStatic(`      root: ${root}\n      file_cache: ${v}\n`)).routes[0]?.static?.fileCache
    expect(fileCache('false')).toBeNull()
    expect(fileCache('true')).toEqual(FILE_CACHE_DEFAULTS)
    expect(fileCache('{}')).toEqual(FILE_CACHE_DEFAULTS)
    expect(fileCache('{ max_size: 100k }')).toEqual({ ...FILE_CACHE_DEFAULTS, maxSize: 100 * 1024, maxFileSize: 100 * 1024 })
  })

  test('index: false is the default spelled out', () => {
    expect(configOfText(withStatic(`      root: ${root}\n      index: false\n`)).routes[0]?.static?.index).toBeNull()
  })

  test('a root through a symlink keeps the path as written and serves from the real path', () => {
    const s = configOfText(withStatic(`      root: ${join(dir, 'current')}\n`)).routes[0]?.static
    expect(s?.root).toBe(join(dir, 'current'))
    expect(s?.realRoot).toBe(realpathSync(root))
  })

  test('the config is frozen, the static block too', () => {
    const s = configOfText(withStatic(`      root: ${root}\n`)).routes[0]?.static
    expect(Object.isFrozen(s)).toBe(true)
  })

  test('static routes need no upstream of their own, but upstreams stay required', () => {
    expectProblems(`listeners: [{port: 8080}]\nroutes:\n  - static: {root: ${root}}\n`, [['upstreams', 1, 'required']])
  })
})

describe('static routes: problems', () => {
  test.each<[string, string, Expected[]]>([
    ['no root (the line of the static map)', withStatic('      index: index.html\n'), [['routes.0.static.root', 8, 'required']]],
    ['static without a value', `${BASE}    static:\n  - upstream: app\n`, [['routes.0.static.root', 7, 'required']]],
    ['static not a map', `${BASE}    static: ${root}\n  - upstream: app\n`, [['routes.0.static', 7, 'must be a map with the keys root, cache_control, index, precompressed, file_cache']]],
    ['a relative root', withStatic('      root: public/static\n'), [['routes.0.static.root', 8, 'must be an absolute path (got "public/static")']]],
    ['a root that does not exist', withStatic(`      root: ${dir}/nope\n`), [['routes.0.static.root', 8, `directory "${dir}/nope" does not exist`]]],
    ['a root that is a file', withStatic(`      root: ${dir}/file.txt\n`), [['routes.0.static.root', 8, 'must be a directory']]],
    ['a root under a file', withStatic(`      root: ${dir}/file.txt/x\n`), [['routes.0.static.root', 8, 'does not exist']]],
    ['an empty root', withStatic('      root: ""\n'), [['routes.0.static.root', 8, 'must not be empty']]],
    ['a root that is a number', withStatic('      root: 5\n'), [['routes.0.static.root', 8, 'must be a string (got 5)']]],
    ['an unknown key', withStatic(`      root: ${root}\n      precompresed: true\n`), [['routes.0.static.precompresed', 9, 'did you mean "precompressed"?']]],
    ['index: true', withStatic(`      root: ${root}\n      index: true\n`), [['routes.0.static.index', 9, 'must be false or a file name such as "index.html"']]],
    ['an index with a slash', withStatic(`      root: ${root}\n      index: a/index.html\n`), [['routes.0.static.index', 9, 'without "/"']]],
    ['an index that is ".."', withStatic(`      root: ${root}\n      index: ".."\n`), [['routes.0.static.index', 9, 'must be false or a file name']]],
    ['a dotfile index', withStatic(`      root: ${root}\n      index: .index\n`), [['routes.0.static.index', 9, 'not starting with "."']]],
    ['file_cache not a map', withStatic(`      root: ${root}\n      file_cache: 1m\n`), [['routes.0.static.file_cache', 9, 'must be false or a map with the keys max_file_size, max_size, max_entries, valid (got "1m")']]],
    ['file_cache: a file larger than the total', withStatic(`      root: ${root}\n      file_cache: { max_file_size: 2m, max_size: 1m }\n`), [['routes.0.static.file_cache.max_file_size', 9, 'must not be larger than max_size (1048576 bytes)']]],
    ['file_cache: an unknown key', withStatic(`      root: ${root}\n      file_cache: { vaild: 1s }\n`), [['routes.0.static.file_cache.vaild', 9, 'did you mean "valid"?']]],
    ['file_cache: valid without a unit', withStatic(`      root: ${root}\n      file_cache: { valid: 5 }\n`), [['routes.0.static.file_cache.valid', 9, 'needs a unit']]],
    ['file_cache: no entries', withStatic(`      root: ${root}\n      file_cache: { max_entries: 0 }\n`), [['routes.0.static.file_cache.max_entries', 9, 'must be']]],
    ['precompressed not a boolean', withStatic(`      root: ${root}\n      precompressed: yes\n`), [['routes.0.static.precompressed', 9, 'must be true or false (got "yes")']]],
    ['cache_control with a newline', withStatic(`      root: ${root}\n      cache_control: "max-age=1\\r\\nX-Evil: 1"\n`), [['routes.0.static.cache_control', 9, 'must be a header value']]],
    ['cache_control empty', withStatic(`      root: ${root}\n      cache_control: ""\n`), [['routes.0.static.cache_control', 9, 'must not be empty']]],
    ['cache_control a number', withStatic(`      root: ${root}\n      cache_control: 3600\n`), [['routes.0.static.cache_control', 9, 'must be a string (got 3600)']]],
    ['both upstream and static', `${BASE}    upstream: app\n    static: {root: ${root}}\n`, [['routes.0', 6, 'has both `upstream` and `static`']]],
    ['a cache on a static route', `listeners: [{port: 8080}]\ncaches: {pages: {}}\nupstreams:\n  app:\n    servers: [{url: "http://127.0.0.1:3001"}]\nroutes:\n  - match: {path_prefix: /static}\n    static: {root: ${root}}\n    cache: pages\n  - upstream: app\n`, [['routes.0.cache', 9, 'applies to routes with an `upstream` only']]],
    ['neither upstream nor static', `${BASE}  - upstream: app\n`, [['routes.0.upstream', 6, 'required (or `static` to serve files from a directory)']]],
  ])('%s', (_, yaml, expected) => {
    expectProblems(yaml, expected)
  })

  test('two static routes with the same match are reported like any duplicate route', () => {
    const yaml = `${BASE}    static: {root: ${root}}\n  - match: {path_prefix: /static/}\n    static: {root: ${root}}\n  - upstream: app\n`
    expectProblems(yaml, [['routes.1', 8, 'same match as routes.0']])
  })
})
