// 12-byte responses, 50 keep-alive connections: the per-request cost of the proxy.
export default { name: 'small c50', path: '/', connections: 50 }
