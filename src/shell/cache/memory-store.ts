// The `store: memory` response store: one Map kept in an approximate LRU order (second
// chance, the CLOCK scheme): get only marks a URL used; eviction takes from the front, and a
// front URL marked used is moved to the end once (mark cleared) instead of going. A hit
// thus writes one boolean instead of a Map delete + insert (which also leaves a hole the
// Map must rehash away later). Bounded in bytes (max_size) and in entries (max_entries,
// every Vary variant counts), evicting one variant at a time, only as many as a new one
// needs: not "until half empty" as undici's MemoryCacheStore did.
// - get is on the hit path: synchronous, and it returns the stored array itself. So a
//   stored array is never changed once stored: put, expiry and eviction build a new one
//   (a caller holding the old one still sees what it was given).
// - An entry's size is an estimate of what it holds: body + header text + key + a fixed
//   ENTRY_OVERHEAD for the objects around them. One over max_entry_size (or max_size) is
//   not stored.
import type { CachedResponse } from '../../core/cached-response.js'
import { varyId, type ResponseStore } from './store.js'

/** Bytes counted per entry beyond its body, header text and key: the objects that hold them. */
export const ENTRY_OVERHEAD = 256

export interface MemoryStoreLimits {
  readonly maxSize: number
  readonly maxEntries: number
  readonly maxEntrySize: number
}

/** One URL's variants, oldest put first, with each one's size and varyId at the same index. */
interface Slot {
  readonly variants: readonly CachedResponse[]
  readonly sizes: readonly number[]
  readonly ids: readonly string[]
  /** Read since it was put or last passed over by eviction: its second chance. */
  used: boolean
}

/** The bytes `response` is counted for under `key`. */
export function entrySize(key: string, response: CachedResponse): number {
  let n = ENTRY_OVERHEAD + key.length + response.body.length
  for (const h of response.headers) n += h.length
  return n
}

export class MemoryStore implements ResponseStore {
  readonly #limits: MemoryStoreLimits
  /** key -> its variants; Map order = put order, except that eviction moves a used URL to the end. */
  readonly #urls = new Map<string, Slot>()
  #bytes = 0
  #entries = 0

  constructor(limits: MemoryStoreLimits) {
    this.#limits = limits
  }

  get bytes(): number {
    return this.#bytes
  }

  get entries(): number {
    return this.#entries
  }

  get(key: string): readonly CachedResponse[] | undefined {
    const slot = this.#urls.get(key)
    if (slot === undefined) return undefined
    const now = Date.now()
    const variants = slot.variants
    for (let i = 0; i < variants.length; i++) if ((variants[i] as CachedResponse).deleteAt <= now) return this.#dropExpired(key, slot, now)
    slot.used = true
    return variants
  }

  put(key: string, response: CachedResponse): void {
    const { maxSize, maxEntries, maxEntrySize } = this.#limits
    const size = entrySize(key, response)
    const now = Date.now()
    if (size > maxEntrySize || size > maxSize || maxEntries < 1 || response.deleteAt <= now) return
    const id = varyId(response.vary)
    const old = this.#urls.get(key)
    // The others stay, but not the variant it replaces nor any already expired.
    const slot = old === undefined ? { variants: [], sizes: [], ids: [], used: false } : this.#without(old, (i) => old.ids[i] === id || (old.variants[i] as CachedResponse).deleteAt <= now)
    this.#urls.delete(key)
    this.#urls.set(key, { variants: [...slot.variants, response], sizes: [...slot.sizes, size], ids: [...slot.ids, id], used: false })
    this.#bytes += size
    this.#entries++
    this.#evict(key)
  }

  async delete(key: string): Promise<void> {
    const slot = this.#urls.get(key)
    if (slot === undefined) return
    this.#forget(slot, 0, slot.variants.length)
    this.#urls.delete(key)
  }

  async clear(): Promise<void> {
    this.#urls.clear()
    this.#bytes = 0
    this.#entries = 0
  }

  async close(): Promise<void> {
    await this.clear()
  }

  #dropExpired(key: string, slot: Slot, now: number): readonly CachedResponse[] | undefined {
    const kept = this.#without(slot, (i) => (slot.variants[i] as CachedResponse).deleteAt <= now)
    this.#urls.delete(key)
    if (kept.variants.length === 0) return undefined
    kept.used = true
    this.#urls.set(key, kept)
    return kept.variants
  }

  /** A copy of `slot` without the variants `drop` names (their bytes and entries forgotten). */
  #without(slot: Slot, drop: (i: number) => boolean): Slot {
    const variants: CachedResponse[] = []
    const sizes: number[] = []
    const ids: string[] = []
    for (let i = 0; i < slot.variants.length; i++) {
      if (drop(i)) this.#forget(slot, i, i + 1)
      else {
        variants.push(slot.variants[i] as CachedResponse)
        sizes.push(slot.sizes[i] as number)
        ids.push(slot.ids[i] as string)
      }
    }
    return { variants, sizes, ids, used: slot.used }
  }

  /**
   * Oldest variants of the URLs at the front go first, until both bounds hold; a front URL
   * read since it was passed over gets its second chance (to the end, mark cleared), so the
   * loop ends within two rounds of the Map. The variant just put (the last of `keep`)
   * always stays: it fits on its own.
   */
  #evict(keep: string): void {
    const { maxSize, maxEntries } = this.#limits
    while (this.#bytes > maxSize || this.#entries > maxEntries) {
      const key = this.#urls.keys().next().value as string
      const slot = this.#urls.get(key) as Slot
      const justPut = key === keep && slot.variants.length === 1
      if (justPut && this.#urls.size === 1) return // cannot happen: it fits alone
      if (slot.used || justPut) {
        // Passed over: a second chance, or the variant just put (at the front only once
        // every other URL was passed over, now unmarked: one of them goes next).
        slot.used = false
        this.#urls.delete(key)
        this.#urls.set(key, slot)
        continue
      }
      this.#forget(slot, 0, 1)
      if (slot.variants.length === 1) this.#urls.delete(key)
      else this.#urls.set(key, { variants: slot.variants.slice(1), sizes: slot.sizes.slice(1), ids: slot.ids.slice(1), used: false }) // keeps its place
    }
  }

  #forget(slot: Slot, from: number, to: number): void {
    for (let i = from; i < to; i++) this.#bytes -= slot.sizes[i] as number
    this.#entries -= to - from
  }
}
