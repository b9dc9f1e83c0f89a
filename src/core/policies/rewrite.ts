// rewrite_prefix (nginx `proxy_pass http://app/;` under `location /api/`): the route's matched
// path prefix is replaced, the rest of the path and the query are kept byte for byte:
//   prefix /api, rewrite_prefix /      /api/x?q -> /x?q,  /api -> /,  /api?q -> /?q
//   prefix /api, rewrite_prefix /v2    /api/x   -> /v2/x, /api -> /v2
// The router matched on segment boundaries, so `url` starts with the prefix followed by
// "/", "?" or nothing.

/** Built at load: the prefix to cut and what replaces it (no trailing slash, "" for "/"). */
export interface Rewrite {
  readonly prefix: string
  readonly replacement: string
}

export function compileRewrite(routePrefix: string, rewritePrefix: string): Rewrite {
  return { prefix: routePrefix === '/' ? '' : routePrefix, replacement: rewritePrefix.replace(/\/+$/, '') }
}

export function rewritePath(r: Rewrite, url: string): string {
  const rest = url.slice(r.prefix.length)
  // "/x..." keeps its slash; "" or "?q" needs one when the replacement is "/".
  return rest.charCodeAt(0) === 0x2f /* / */ ? r.replacement + rest : (r.replacement || '/') + rest
}
