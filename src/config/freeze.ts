// The loaded config is shared by every part of the daemon (and kept around across
// reloads to compare old and new): freezing it makes an accidental write throw in
// strict mode instead of silently changing behaviour somewhere else.

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}
