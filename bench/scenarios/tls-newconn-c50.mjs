// A new TLS connection per request (Connection: close: a full handshake each, wrk does not
// resume sessions), 50 at a time: handshakes per second, which is OpenSSL's work in both.
// `switchyard-h1only`: the same listener with `http2: false` (node:https instead of
// node:http2's secure server with allowHTTP1), to see what the h2-capable server costs a
// handshake that ends up speaking HTTP/1.1.
export default {
  name: 'https new handshake c50',
  path: '/',
  connections: 50,
  tls: true,
  headers: ['Connection: close'],
  targets: ['switchyard', 'switchyard-h1only', 'nginx'],
  variants: {
    'switchyard-h1only': { kind: 'switchyard', switchyard: 'listener: { http2: false }' },
  },
}
