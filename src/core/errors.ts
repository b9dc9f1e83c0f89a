// Error classification: one table from the stable error `code` of undici / Node
// (never the message text, which changes between versions) to what switchyard does.
//
//   reason   the `reason` label of switchyard_upstream_errors_total
//   status   what the client gets when no attempt succeeds (502, or 504 for timeouts,
//            as nginx answers a connect or read timeout)
//   connected false when the request can not have reached the server (no connection
//            was ever established): retrying is then always safe, even a POST
//   passive  counts toward passive ejection (connect errors, resets, timeouts)
//
// Every ErrorClass is a frozen constant: classifying allocates nothing.
//
// The daemon's own failures (no server to ask, a request refused before dispatch, a body
// over max_body_size) are LocalFailure errors with a stable `code` of their own (SY_...),
// listed in LOCAL_FAILURES with the status the client gets.

export type ErrorReason = 'connect_refused' | 'connect_timeout' | 'response_timeout' | 'reset' | 'tls' | 'other'

export interface ErrorClass {
  readonly reason: ErrorReason
  readonly status: 502 | 504
  readonly connected: boolean
  readonly passive: boolean
}

const cls = (reason: ErrorReason, status: 502 | 504, connected: boolean, passive: boolean): ErrorClass =>
  Object.freeze({ reason, status, connected, passive })

/** Could not connect (refused, unreachable, DNS failure): the request never left. */
const CONNECT_FAILED = cls('connect_refused', 502, false, true)
const CONNECT_TIMEOUT = cls('connect_timeout', 504, false, true)
/** Connected, then no response head (or no body bytes) in time. */
const RESPONSE_TIMEOUT = cls('response_timeout', 504, true, true)
/** The connection broke after it was established. */
const RESET = cls('reset', 502, true, true)
/**
 * The TLS handshake with an https:// server failed: its certificate did not verify (unknown
 * CA, wrong name, expired), or it refused ours (mTLS), or it does not speak TLS. Never
 * silently accepted: 502. The request never reached the application (its server's TLS
 * layer refused the connection), so another server may be tried, even for a POST; it
 * counts toward passive ejection as any connection failure does.
 */
const TLS = cls('tls', 502, false, true)
/** Malformed response, size limits, aborts, anything unknown: not safe to retry. */
const OTHER = cls('other', 502, true, false)

const BY_CODE: ReadonlyMap<string, ErrorClass> = new Map([
  // Never connected. DNS failures and unreachable networks share connect_refused: the
  // metric's fixed label set has no better word, and they mean "could not connect".
  ['ECONNREFUSED', CONNECT_FAILED],
  ['ENOTFOUND', CONNECT_FAILED],
  ['EAI_AGAIN', CONNECT_FAILED],
  ['EAI_FAIL', CONNECT_FAILED],
  ['EAI_NONAME', CONNECT_FAILED],
  ['EHOSTUNREACH', CONNECT_FAILED],
  ['EHOSTDOWN', CONNECT_FAILED],
  ['ENETUNREACH', CONNECT_FAILED],
  ['ENETDOWN', CONNECT_FAILED],
  ['EADDRNOTAVAIL', CONNECT_FAILED],
  ['EADDRINUSE', CONNECT_FAILED],
  // A Unix-socket server (unix:/path): no socket file there (the app is not up), or one
  // this process may not open. Either way the request never left.
  ['ENOENT', CONNECT_FAILED],
  ['EACCES', CONNECT_FAILED],
  ['UND_ERR_CONNECT_TIMEOUT', CONNECT_TIMEOUT],
  // ETIMEDOUT is refined by syscall below (connect vs. an established socket).
  ['ETIMEDOUT', CONNECT_TIMEOUT],
  // Connected, then too slow.
  ['UND_ERR_HEADERS_TIMEOUT', RESPONSE_TIMEOUT],
  ['UND_ERR_BODY_TIMEOUT', RESPONSE_TIMEOUT],
  // Connected, then the connection broke.
  ['UND_ERR_SOCKET', RESET],
  ['ECONNRESET', RESET],
  ['EPIPE', RESET],
  ['ECONNABORTED', RESET],
  // Listed for documentation; any other code maps to OTHER as well (HPE_* parse
  // errors from llhttp, size limits, UND_ERR_ABORTED, UND_ERR_DESTROYED, ...).
  ['UND_ERR_RES_CONTENT_LENGTH_MISMATCH', OTHER],
  ['UND_ERR_RES_EXCEEDED_MAX_SIZE', OTHER],
  ['UND_ERR_HEADERS_OVERFLOW', OTHER],
  // Certificate verification (OpenSSL's X509_V_ERR_* names, as Node reports them); the
  // ERR_SSL_* (OpenSSL: alerts, wrong version...) and ERR_TLS_* (Node: name mismatch,
  // handshake timeout...) families are matched by prefix in classifyError.
  ...['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
    'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'CERT_REVOKED',
    'CERT_UNTRUSTED', 'CERT_REJECTED', 'CERT_SIGNATURE_FAILURE', 'CERT_CHAIN_TOO_LONG', 'INVALID_CA', 'INVALID_PURPOSE',
    'HOSTNAME_MISMATCH', 'IP_ADDRESS_MISMATCH', 'UNABLE_TO_DECRYPT_CERT_SIGNATURE', 'ERROR_IN_CERT_NOT_BEFORE_FIELD',
    'ERROR_IN_CERT_NOT_AFTER_FIELD'].map((code) => [code, TLS] as const),
])

interface Coded {
  readonly code: string
  readonly syscall?: unknown
}

/** The object itself when it carries a string `code` (no wrapper object is made). */
function coded(e: unknown): Coded | undefined {
  if (typeof e !== 'object' || e === null) return undefined
  return typeof (e as { code?: unknown }).code === 'string' ? (e as Coded) : undefined
}

/**
 * Classifies an error from a dispatch. Uses err.code, else err.cause.code (undici
 * sometimes wraps the socket error). ETIMEDOUT counts as a connect timeout unless the
 * error says it came from a read or write on an established socket (syscall other than
 * "connect"; an AggregateError from Node's happy-eyeballs connect has no syscall and is
 * a connect failure). Unknown codes and non-errors: 'other', connected (not safe).
 */
export function classifyError(err: unknown): ErrorClass {
  const found = coded(err) ?? coded((err as { cause?: unknown } | null)?.cause)
  if (found === undefined) return OTHER
  const c = BY_CODE.get(found.code)
  if (c === undefined) return found.code.startsWith('ERR_SSL_') || found.code.startsWith('ERR_TLS_') ? TLS : OTHER
  if (c === CONNECT_TIMEOUT && found.code === 'ETIMEDOUT' &&
    typeof found.syscall === 'string' && found.syscall !== 'connect') return RESET
  return c
}

/** The error's `code` (or its cause's), for logs: "ECONNREFUSED", "UND_ERR_SOCKET"; else "ERR_UNKNOWN". */
export function errorCode(err: unknown): string {
  return (coded(err) ?? coded((err as { cause?: unknown } | null)?.cause))?.code ?? 'ERR_UNKNOWN'
}

/** RFC 9110 9.2.2 idempotent methods. Method names are case-sensitive. */
export function isIdempotent(method: string): boolean {
  switch (method) {
    case 'GET':
    case 'HEAD':
    case 'OPTIONS':
    case 'PUT':
    case 'DELETE':
    case 'TRACE':
      return true
    default:
      return false
  }
}

/**
 * The one retry predicate (the shell adds: no response byte has arrived, a try is left,
 * and another server exists): a request that never reached the server can always be
 * sent again; otherwise only an idempotent request without a body, so a body is never
 * sent twice and a POST is never repeated.
 */
export function mayRetry(cls: ErrorClass, method: string, hasBody: boolean): boolean {
  return !cls.connected || (!hasBody && isIdempotent(method))
}

/** The daemon's own failures: stable code -> the status the client gets, and what it means. */
export const LOCAL_FAILURES = {
  /** No server of the upstream takes traffic (all unhealthy, ejected or draining). */
  SY_NO_SERVER: { status: 503, message: 'no server takes traffic' },
  /** undici refused the request before sending it (a header it does not accept). */
  SY_REFUSED: { status: 400, message: 'request refused before dispatch' },
  /** The request body went past the listener's max_body_size. */
  SY_BODY_TOO_LARGE: { status: 413, message: 'request body over max_body_size' },
  /** Every server that takes traffic is at its max_requests and the upstream has no queue. */
  SY_SERVERS_FULL: { status: 503, message: 'every server is at max_requests' },
  /** Every server is at its max_requests and the upstream's queue is full. */
  SY_QUEUE_FULL: { status: 503, message: 'every server is at max_requests and the queue is full' },
  /** The request waited in the upstream's queue for queue.timeout without a server slot. */
  SY_QUEUE_TIMEOUT: { status: 503, message: 'no server slot within queue.timeout' },
  /** Request buffering could not write its temp file (temp_dir full or gone). */
  SY_SPOOL_FAILED: { status: 500, message: 'cannot write the request body to a temp file' },
} as const
export type LocalCode = keyof typeof LOCAL_FAILURES

/** A failure of switchyard's own, not of a server: never counts against a server's health, never retried. */
export class LocalFailure extends Error {
  readonly code: LocalCode
  readonly status: number

  constructor(code: LocalCode, detail?: string, cause?: unknown) {
    super(detail === undefined ? LOCAL_FAILURES[code].message : `${LOCAL_FAILURES[code].message}: ${detail}`, cause === undefined ? undefined : { cause })
    this.name = 'LocalFailure'
    this.code = code
    this.status = LOCAL_FAILURES[code].status
  }
}
