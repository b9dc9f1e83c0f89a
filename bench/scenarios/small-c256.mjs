// 12-byte responses, 256 keep-alive connections: more concurrency than nginx's upstream keepalive 64.
export default { name: 'small c256', path: '/', connections: 256 }
