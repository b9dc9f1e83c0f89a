// YAML for a daemon with one listener on port 0 and one upstream `app` over `servers`.
export function oneUpstream(servers: readonly string[], upstreamExtra = '', topExtra = ''): string {
  return `
listeners:
  - name: public
    address: 127.0.0.1
    port: 0
admin:
  port: 0
${topExtra}
upstreams:
  app:
    servers:
${servers.map((u) => `      - url: ${u}`).join('\n')}
${upstreamExtra.split('\n').map((l) => (l.trim() === '' ? '' : `    ${l}`)).join('\n')}
`
}
