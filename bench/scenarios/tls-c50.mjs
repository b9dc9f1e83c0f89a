// HTTPS keep-alive, 50 connections (wrk over TLS): the steady cost of TLS records on top of
// small-c50, switchyard against nginx with the same certificate and suites (bench/tls.mjs).
export default { name: 'https keep-alive c50', path: '/', connections: 50, tls: true, targets: ['switchyard', 'nginx'] }
