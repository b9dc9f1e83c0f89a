// What the benchmark starts: two backends (nginx when installed: nearly free, so the proxy
// is the bottleneck; else node:http), and the proxies under test, each on its own port.
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { hasCommand } from './proc.mjs'

const HERE = path.dirname(fileURLToPath(import.meta.url))
export const BACKEND_PORTS = [9301, 9302]
export const PORTS = { direct: BACKEND_PORTS[0], switchyard: 9310, nginx: 9311, 'switchyard-bare': 9312 }

export function backendArgv(run) {
  if (!hasCommand('nginx')) return { kind: 'node', argvs: BACKEND_PORTS.map((p) => [process.execPath, path.join(HERE, 'backend.mjs'), String(p)]) }
  mkdirSync(`${run}/nginx-backend/html`, { recursive: true })
  writeFileSync(`${run}/nginx-backend/html/64k`, Buffer.alloc(65536, 120))
  const servers = BACKEND_PORTS.map((p) => `  server { listen 127.0.0.1:${p}; add_header x-backend ${p};
    location = /64k { default_type application/octet-stream; alias html/64k; }
    location / { return 200 "hello world\\n"; } }`).join('\n')
  writeFileSync(`${run}/nginx-backend/nginx.conf`, nginxConf('nginx-backend', servers))
  return { kind: 'nginx', argvs: [['nginx', '-p', `${run}/nginx-backend/`, '-c', `${run}/nginx-backend/nginx.conf`, '-e', `${run}/nginx-backend/error.log`]] }
}

/** nginx as the reference proxy: 1 worker, upstream keepalive, no access log (anchors' settings). */
export function nginxProxyArgv(run) {
  mkdirSync(`${run}/nginx-proxy`, { recursive: true })
  const body = `  upstream backends { ${BACKEND_PORTS.map((p) => `server 127.0.0.1:${p};`).join(' ')} keepalive 64; keepalive_requests 1000000; keepalive_timeout 120s; }
  server { listen 127.0.0.1:${PORTS.nginx};
    client_max_body_size 8m;
    location / { proxy_pass http://backends; proxy_http_version 1.1; proxy_set_header Connection ""; } }`
  writeFileSync(`${run}/nginx-proxy/nginx.conf`, nginxConf('nginx-proxy', body))
  return ['nginx', '-p', `${run}/nginx-proxy/`, '-c', `${run}/nginx-proxy/nginx.conf`, '-e', `${run}/nginx-proxy/error.log`]
}

function nginxConf(name, body) {
  return `worker_processes 1; daemon off; pid ${name}.pid; error_log error.log warn;
events { worker_connections 8192; }
http { access_log off; keepalive_requests 1000000; keepalive_timeout 120s; default_type text/plain;
  client_body_temp_path tmp_body; proxy_temp_path tmp_proxy; fastcgi_temp_path tmp_fcgi; uwsgi_temp_path tmp_uwsgi; scgi_temp_path tmp_scgi;
${body}
}
`
}

/**
 * switchyard with every feature on (access log, request metrics, active health checks), or
 * `bare`: access log and per-request metrics off, to show what those cost.
 */
export function switchyardArgv(run, { bare = false } = {}) {
  const name = bare ? 'switchyard-bare' : 'switchyard'
  mkdirSync(run, { recursive: true })
  const file = `${run}/${name}.yaml`
  writeFileSync(file, `listeners: [{ address: 127.0.0.1, port: ${PORTS[name]} }]
admin: { port: 0, request_metrics: ${!bare} }
log: { level: info, access_log: ${!bare} }
upstreams:
  app:
    servers: [${BACKEND_PORTS.map((p) => `{ url: "http://127.0.0.1:${p}" }`).join(', ')}]
    health_check: { path: /, interval: 2s }
`)
  return [process.execPath, path.resolve(HERE, '../dist/cli.js'), '--config', file]
}
