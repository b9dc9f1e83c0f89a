// The IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers, syntax of drafts
// -08 to -11: Structured Field lists of named items):
//   RateLimit-Policy: "route-0";q=100;w=1     the quota: q requests per w seconds
//   RateLimit: "route-0";r=0;t=3              r requests remain, the quota resets in t seconds
// The policy name is a Structured Field string: the route's name, escaped (" and \).

export function sfString(s: string): string {
  return `"${s.replace(/[\\"]/g, '\\$&')}"`
}

/** RateLimit-Policy's value; built once at config load. */
export function rateLimitPolicy(name: string, requests: number, perMs: number): string {
  return `${sfString(name)};q=${requests};w=${Math.max(1, Math.ceil(perMs / 1000))}`
}

/** RateLimit's value for a decision. */
export function rateLimitState(name: string, remaining: number, resetSeconds: number): string {
  return `${sfString(name)};r=${remaining};t=${resetSeconds}`
}
