// The standard regex of an Apache/nginx combined log line, for the access log's tests: one
// group per field (client, ident, user, time, method, target, protocol, status, size,
// referer, user agent). A field holds no `"` (switchyard escapes it as \x22).
export const COMBINED = /^(\S+) (\S+) (\S+) \[(\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\] "(\S+) (\S+) (HTTP\/\d\.\d)" (\d{3}) (\d+|-) "([^"]*)" "([^"]*)"$/

/** A field's escapes (`\xHH`) undone: the bytes as Latin-1 characters, as Node read them. */
export const unescapeClf = (s: string): string => s.replace(/\\x([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)))
