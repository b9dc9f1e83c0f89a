// 64 KiB responses, 50 connections: streaming cost per byte.
export default { name: '64k c50', path: '/64k', connections: 50 }
