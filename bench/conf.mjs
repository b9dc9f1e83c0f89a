// Config text for the proxies under test, each built from a base plus the fragments a target
// variant and a scenario carry (format: bench/README.md). Every proxy balances round robin over
// the scenario's two backends with upstream keep-alive, the anchors' settings
// (../shared/bench-anchors/conf).
import { parse, stringify } from 'yaml'
import { TLS12_CIPHERS } from './tls.mjs'

const isObject = (x) => x !== null && typeof x === 'object' && !Array.isArray(x)

/** Objects merge key by key; anything else (arrays included) replaces. */
export function deepMerge(base, over) {
  if (!isObject(base) || !isObject(over)) return over === undefined ? base : over
  const out = { ...base }
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v)
  return out
}

/** switchyard: every feature on (access log, request metrics, health checks); YAML fragments merge over it. */
export function switchyardYaml({ port, backends, fragments, tls }) {
  let conf = {
    listeners: [{ address: '127.0.0.1', port, ...(tls ? { tls: { certificates: [{ cert_file: tls.cert, key_file: tls.key }] } } : {}) }],
    admin: { port: 0, request_metrics: true },
    log: { level: 'info', access_log: true },
    upstreams: {
      app: {
        servers: backends.map((p) => ({ url: `http://127.0.0.1:${p}` })),
        health_check: { path: '/', interval: '2s' },
      },
    },
  }
  for (const f of fragments) {
    if (!f) continue
    // `listener:` (singular) merges into every listener: the list itself would be replaced.
    const { listener, ...rest } = parse(f)
    conf = deepMerge(conf, rest)
    if (listener !== undefined) conf.listeners = conf.listeners.map((l) => deepMerge(l, listener))
  }
  return stringify(conf)
}

const join = (fragments, key) => fragments.map((f) => f?.[key] ?? '').filter(Boolean).join('\n    ')
const last = (fragments, key, dflt) => fragments.reduce((v, f) => f?.[key] ?? v, dflt)

/**
 * nginx, 1 worker unless a fragment says `workers`, upstream keepalive 64, no access log.
 * The Upgrade/Connection pair is nginx's documented WebSocket recipe; a request without
 * Upgrade maps to an empty Connection header, which keeps upstream keep-alive working.
 */
export function nginxProxyConf({ port, backends, fragments, tls }) {
  // HTTPS as switchyard serves it (bench/tls.mjs): TLS 1.2-1.3, the same suites, h2 by ALPN
  // (`listen ... http2`: Debian 12's nginx 1.22 predates `http2 on`), tickets and a session cache on.
  const ssl = tls ? `ssl_certificate ${tls.cert}; ssl_certificate_key ${tls.key}; ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ${TLS12_CIPHERS}; ssl_prefer_server_ciphers on; ssl_session_cache shared:SSL:10m;` : ''
  return nginxConf({ name: 'nginx-proxy', workers: last(fragments, 'workers', 1), main: join(fragments, 'main'), body: `
  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
  upstream backends { ${backends.map((p) => `server 127.0.0.1:${p};`).join(' ')} keepalive 64; keepalive_requests 1000000; keepalive_timeout 120s; }
  ${join(fragments, 'http')}
  server { listen 127.0.0.1:${port}${tls ? ' ssl http2' : ''};
    client_max_body_size 8m;
    ${ssl}
    ${join(fragments, 'server')}
    location / { proxy_pass http://backends; proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection $connection_upgrade;
      ${join(fragments, 'location')} } }` })
}

/**
 * nginx as a nearly free backend pair: `return 200`, a static 64 KiB file, `/cacheable` (12 bytes
 * a shared cache may keep for an hour) and `/json10k` (backends/json10k.mjs, application/json).
 */
export function nginxBackendConf({ backends, dir }) {
  return nginxConf({ name: 'nginx-backend', workers: 1, main: '', body: backends.map((p) => `  server { listen 127.0.0.1:${p}; add_header x-backend ${p};
    location = /64k { default_type application/octet-stream; alias ${dir}/html/64k; }
    location = /json10k { default_type application/json; alias ${dir}/html/json10k; }
    location = /cacheable { add_header x-backend ${p}; add_header Cache-Control "public, max-age=3600"; return 200 "hello world\\n"; }
    location / { return 200 "hello world\\n"; } }`).join('\n') })
}

function nginxConf({ name, workers, main, body }) {
  return `worker_processes ${workers}; worker_rlimit_nofile 30000; daemon off; pid ${name}.pid; error_log error.log warn;
${main}
events { worker_connections 16384; }
http { access_log off; keepalive_requests 1000000; keepalive_timeout 120s; default_type text/plain;
  client_body_temp_path tmp_body; proxy_temp_path tmp_proxy; fastcgi_temp_path tmp_fcgi; uwsgi_temp_path tmp_uwsgi; scgi_temp_path tmp_scgi;
${body}
}
`
}

/**
 * haproxy's maxconn: what a fragment asks (default 4096), within what the descriptor limit
 * allows: haproxy reserves two sockets per connection and refuses to start past the limit.
 */
export const haproxyMaxconn = (fragments, fdLimit) => Math.min(last(fragments, 'maxconn', 4096), Math.floor((fdLimit - 300) / 2))

/** haproxy: 1 thread unless a fragment says `threads`, http-reuse always (the anchors' haproxy.cfg). */
export function haproxyCfg({ port, backends, fragments, fdLimit }) {
  return `global
  nbthread ${last(fragments, 'threads', 1)}
  maxconn ${haproxyMaxconn(fragments, fdLimit)}
  ${join(fragments, 'global')}
defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 120s
  timeout server 120s
  timeout http-keep-alive 120s
  timeout tunnel 120s
  ${join(fragments, 'defaults')}
frontend fe
  bind 127.0.0.1:${port}
  ${join(fragments, 'frontend')}
  default_backend be
backend be
  balance roundrobin
  ${join(fragments, 'backend')}
${backends.map((p, i) => `  server s${i + 1} 127.0.0.1:${p}`).join('\n')}
`
}
