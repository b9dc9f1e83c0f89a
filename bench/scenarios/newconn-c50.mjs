// A new client connection per request (Connection: close), 50 at a time: accept and setup cost.
export default { name: 'new connection c50', path: '/', connections: 50, headers: ['Connection: close'] }
