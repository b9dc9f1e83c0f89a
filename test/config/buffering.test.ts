// `upstreams.<name>.buffering` and `routes[].buffering` (issue #16): values, defaults, the
// route override resolved, and every problem with its key path and line.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { parseConfig } from '../../src/config/load.js'
import { effectiveBuffering } from '../../src/config/buffering.js'
import { configOf, problemsOf } from '../helpers/config.js'

const DIR = mkdtempSync(join(tmpdir(), 'switchyard-buffering-config-'))
const FILE = join(DIR, 'a-file')
writeFileSync(FILE, '')
afterAll(() => rmSync(DIR, { recursive: true, force: true }))

const withBuffering = (buffering: string, routes = ''): string => `listeners: [{port: 1}]
upstreams:
  app:
    servers: [{url: "http://127.0.0.1:3001"}]
    buffering: ${buffering}
${routes}`


describe('buffering: valid', () => {
  test('absent: the upstream has no buffering property, routes none, nothing resolves', () => {
    const config = configOf(parseConfig('listeners: [{port: 1}]\nupstreams: {app: {servers: [{url: "http://127.0.0.1:3001"}]}}\n'))
    expect(config.upstreams[0]?.buffering).toBeUndefined()
    expect(config.routes[0]?.buffering).toBeUndefined()
    expect(effectiveBuffering(undefined, undefined)).toBeNull()
  })

  test('defaults: both off, 64 KiB in memory, the OS temp dir, 1 GiB', () => {
    const config = configOf(parseConfig(withBuffering('{}')))
    expect(config.upstreams[0]?.buffering).toEqual({ request: false, response: false, memory: 64 * 1024, tempDir: tmpdir(), maxTempSize: 1024 ** 3 })
  })

  test('every key set', () => {
    const config = configOf(parseConfig(withBuffering(`{request: true, response: true, memory: 1k, temp_dir: "${DIR}/", max_temp_size: 10m}`)))
    expect(config.upstreams[0]?.buffering).toEqual({ request: true, response: true, memory: 1024, tempDir: DIR, maxTempSize: 10 * 1024 ** 2 })
  })

  test('a small max_temp_size lowers the default memory to it; 0 turns spooling of responses off', () => {
    expect(configOf(parseConfig(withBuffering('{max_temp_size: 4k}'))).upstreams[0]?.buffering?.memory).toBe(4096)
    expect(configOf(parseConfig(withBuffering('{response: true, max_temp_size: 0}'))).upstreams[0]?.buffering).toMatchObject({ memory: 0, maxTempSize: 0 })
  })

  test('a route overrides the switches it names, keeps the rest of its upstream\'s settings', () => {
    const config = configOf(parseConfig(withBuffering(`{request: true, response: true, memory: 2k, temp_dir: "${DIR}"}`, `routes:
  - {match: {path_prefix: /events}, upstream: app, buffering: {response: false}}
  - {match: {path_prefix: /off}, upstream: app, buffering: {request: false, response: false}}
  - {upstream: app}
`)))
    const [events, off, plain] = config.routes.map((r) => effectiveBuffering(config.upstreams[0]?.buffering, r.buffering))
    expect(events).toEqual({ request: true, response: false, memory: 2048, tempDir: DIR, maxTempSize: 1024 ** 3 })
    expect(off).toBeNull()
    expect(plain).toMatchObject({ request: true, response: true })
  })

  test('a route turns buffering on for an upstream without a block: the defaults', () => {
    const config = configOf(parseConfig(`listeners: [{port: 1}]
upstreams: {app: {servers: [{url: "http://127.0.0.1:3001"}]}}
routes: [{upstream: app, buffering: {request: true}}]
`))
    expect(effectiveBuffering(config.upstreams[0]?.buffering, config.routes[0]?.buffering)).toEqual({ request: true, response: false, memory: 64 * 1024, tempDir: tmpdir(), maxTempSize: 1024 ** 3 })
  })
})

describe('buffering: problems, each with its key path and line', () => {
  test.each([
    ['memory over max_temp_size', '{memory: 2m, max_temp_size: 1m}', 'upstreams.app.buffering.memory: must not be larger than max_temp_size (1048576 bytes): memory is the first part of a spool that max_temp_size bounds (line 5)'],
    ['a relative temp_dir', '{temp_dir: tmp/spool}', 'upstreams.app.buffering.temp_dir: must be an absolute path (got "tmp/spool") (line 5)'],
    ['a temp_dir that does not exist', `{temp_dir: "${DIR}/nope"}`, `upstreams.app.buffering.temp_dir: directory "${DIR}/nope" does not exist (switchyard does not create it) (line 5)`],
    ['a temp_dir that is a file', `{temp_dir: "${FILE}"}`, `upstreams.app.buffering.temp_dir: must be a directory ("${FILE}" is not one) (line 5)`],
    ['a switch that is not a boolean', '{request: yes please}', 'upstreams.app.buffering.request: must be true or false (got "yes please") (line 5)'],
    ['a size without a unit it knows', '{memory: lots}', 'upstreams.app.buffering.memory: must be a size: a number of bytes, or with a unit k, m or g such as "16k" or "10m" (got "lots") (line 5)'],
    ['an unknown key, with a hint', '{max_tmp_size: 1m}', 'upstreams.app.buffering.max_tmp_size: unknown key "max_tmp_size"; did you mean "max_temp_size"? (line 5)'],
    ['not a map', 'true', 'upstreams.app.buffering: must be a map with the keys request, response, memory, temp_dir, max_temp_size (got true) (line 5)'],
  ])('%s', (_name, buffering, expected) => {
    expect(problemsOf(withBuffering(buffering))).toEqual([expected])
  })

  test.each([
    ['a key only the upstream has', '{upstream: app, buffering: {memory: 1k}}', 'routes.0.buffering.memory: unknown key "memory" (line 7)'],
    ['a static route', `{static: {root: "${DIR}"}, buffering: {request: true}}`, 'routes.0.buffering: applies to routes with an `upstream` only: a static route\'s files are read from disk, nothing to buffer (line 7)'],
    ['a switch that is not a boolean', '{upstream: app, buffering: {response: 0}}', 'routes.0.buffering.response: must be true or false (got 0) (line 7)'],
  ])('route: %s', (_name, route, expected) => {
    expect(problemsOf(withBuffering('{}', `routes:\n  - ${route}\n`))).toEqual([expected])
  })
})
