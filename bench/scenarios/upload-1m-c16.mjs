// 1 MiB request bodies, 16 connections: streaming uploads (nginx buffers the body first, its default).
export default { name: 'upload 1 MiB c16', path: '/', connections: 16, script: 'post-1m.lua' }
