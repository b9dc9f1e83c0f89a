// The 10 KiB JSON document of the compression scenario (compress-json-c50), the same bytes in
// every run: an API list answer (ids, names, SKUs, prices, flags). Served by both backends
// (nginx from a file, backends/http.mjs from memory).
const items = []
let length = 2 // the brackets
for (let i = 0; ; i++) {
  const item = JSON.stringify({ id: 1000 + i, name: `Product ${i}`, sku: `SKU-${(i * 7919) % 100000}`, price: Math.round(((i * 37) % 1000) * 1.99) / 100, in_stock: i % 3 !== 0, tags: ['store', i % 2 ? 'sale' : 'new'] })
  if (length + item.length + 1 > 10_240) break
  items.push(item)
  length += item.length + (items.length > 1 ? 1 : 0)
}
/** Exactly 10,240 bytes of valid JSON: whole items, spaces before the closing bracket. */
export const JSON_10K = Buffer.from(`[${items.join(',')}`.padEnd(10_239, ' ') + ']')
