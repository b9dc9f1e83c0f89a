// A new TLS connection per request (Connection: close: a full handshake each, wrk does not
// resume sessions), 50 at a time: handshakes per second, which is OpenSSL's work in both.
export default { name: 'https new handshake c50', path: '/', connections: 50, tls: true, headers: ['Connection: close'], targets: ['switchyard', 'nginx'] }
