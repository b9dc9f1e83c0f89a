// A static file: 50 connections asking for one 1 KiB file under /static, served from disk
// by switchyard's static route (send) and by nginx (`alias`). direct is the backend's
// 12-byte `return 200` (no file): the ceiling, not the same work. node-hello is the Node
// ceiling of this answer: the file's bytes from memory with the headers switchyard's file
// cache sends. haproxy, pool-dispatch and the comparison proxies serve no files.
import { mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

const ROOT = path.join(tmpdir(), 'switchyard-bench-static')
mkdirSync(ROOT, { recursive: true })
const FILE = path.join(ROOT, 'page.html')
writeFileSync(FILE, `<!doctype html><title>bench</title>${'<p>static file</p>\n'.repeat(55)}`.slice(0, 1024))

export default {
  name: 'static 1 KiB c50',
  path: '/static/page.html',
  connections: 50,
  excludeKinds: ['haproxy', 'pool-dispatch', 'node-http-proxy', 'reply-from'],
  nodeHello: { file: FILE, type: 'text/html; charset=utf-8' },
  versus: { switchyard: { 'node-hello': 'node-hello', nginx: 'nginx' } },
  switchyard: `routes: [{ match: { path_prefix: /static }, static: { root: ${ROOT} } }, { upstream: app }]`,
  nginx: { server: `location /static/ { alias ${ROOT}/; }` },
}
