// 10,000 idle keep-alive client connections held open (IDLE_CONNS), then wrk -c50 small requests
// beside them: RSS with them held (goal: under 150 MiB) and whether normal traffic still flows.
// One round per target: opening 10,000 connections takes a few seconds. The proxies' own
// connection caps are raised here (haproxy's default maxconn is lower than 10,000).
export default {
  name: 'idle 10k + c50',
  load: 'idle',
  path: '/',
  connections: 50,
  reps: 1,
  targets: ['switchyard', 'nginx', 'haproxy', 'node-http-proxy', 'reply-from'],
  haproxy: { maxconn: 12000 },
}
