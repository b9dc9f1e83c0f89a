// HTTP/2 over TLS (h2load from nghttp2-client): 50 connections with 10 concurrent streams each,
// switchyard (h2 downstream, HTTP/1.1 to the servers) against nginx (`http2 on`).
export default { name: 'h2 c50 x10 streams', path: '/', connections: 50, streams: 10, tls: true, load: 'h2load', targets: ['switchyard', 'nginx'] }
