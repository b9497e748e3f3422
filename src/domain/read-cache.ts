/**
 * What the domain's reads answered, kept until anything changes.
 *
 * A read is remembered under the whole question — the method, the actor as it
 * was resolved and every argument — so an answer is only ever given again to the
 * same question from the same caller: what one caller may see never reaches
 * another. Every committed write empties the cache: this process's writes as soon
 * as they return (so a client reads its own write at once), every process's as
 * soon as the database announces them (src/db/changes.ts). While those
 * announcements cannot be heard, nothing is remembered at all.
 *
 * A read that was already under way when the cache was emptied still answers its
 * callers (they asked before the write returned) but is not kept, so no answer
 * older than the last write is served afterwards.
 *
 * Answers are frozen: every caller shares them.
 */
import type { ChangeFeed } from '../db/changes.ts'
import { DomainError } from './errors.ts'

export interface ReadCacheOptions {
  /** Most answers kept; the least recently used go first. 0 keeps none. */
  maxEntries: number
  /**
   * Most values (objects, arrays and the strings, numbers … in them) in all the
   * answers kept together: what bounds the memory, since one answer may be a page
   * of ten items or every server with every service name.
   */
  maxValues?: number
  /**
   * The tables the answers are read from, when that is known (the login records:
   * users and API keys): changes to other tables leave them. Without, every change empties the cache.
   */
  tables?: readonly string[]
}

/** `used`: asked for since it was last passed over for eviction. */
interface Entry { answer: Promise<unknown>, values: number, used: boolean }

/** The entries of one period between changes, and the values they hold. */
class Generation {
  readonly entries = new Map<string, Entry>()
  values = 0
}

export class ReadCache {
  private current = new Generation()

  constructor (private readonly feed: ChangeFeed, private readonly options: ReadCacheOptions) {
    if (options.maxEntries > 0) {
      feed.subscribe({
        changed: (change) => { if (change.kind === 'data') this.forget(change.table === undefined ? undefined : [change.table]) },
        deaf: () => { this.forget() },
        hearing: () => { this.forget() }
      })
    }
  }

  /** Whether answers are being kept now. */
  get active (): boolean {
    return this.options.maxEntries > 0 && this.feed.hearing
  }

  get size (): number {
    return this.current.entries.size
  }

  /** The values held by the answers kept. */
  get values (): number {
    return this.current.values
  }

  /**
   * The remembered answer to `question`, or `compute`'s, remembered. A hit hands out
   * the promise kept, allocating nothing: this runs several times on every request.
   */
  read<T> (question: unknown[], compute: () => Promise<T>): Promise<T> {
    if (!this.active) return compute()
    const key = keyOf(question)
    if (key === undefined) return compute()
    const known = this.current.entries.get(key)
    if (known === undefined) return this.remember(key, compute)
    // Marked, not moved: a hit costs no reordering of the map (eviction gives marked entries a second chance).
    known.used = true
    return known.answer as Promise<T>
  }

  private remember<T> (key: string, compute: () => Promise<T>): Promise<T> {
    const generation = this.current
    const { entries } = generation
    const entry: Entry = { answer: Promise.resolve(), values: 0, used: false }
    entry.answer = compute().then((value) => {
      const values = deepFreeze(value)
      if (entries.get(key) === entry) {
        entry.values = values
        generation.values += values
        this.evict(generation, entry)
      }
      return value
    })
    entries.set(key, entry)
    this.evict(generation, entry)
    // A refusal or absence is an answer like any other; a failure of the database is not.
    entry.answer.catch((error: unknown) => {
      if (!(error instanceof DomainError) && entries.get(key) === entry) entries.delete(key)
    })
    return entry.answer as Promise<T>
  }

  /** Forgets every answer: something changed in `tables` (when known), and this cache reads from one of them. */
  forget (tables?: readonly string[]): void {
    const read = this.options.tables
    if (tables !== undefined && read !== undefined && !tables.some((table) => read.includes(table))) return
    // A new generation, so that reads still under way store into the old one, which nobody reads.
    if (this.current.entries.size > 0) this.current = new Generation()
  }

  /**
   * Drops answers while there are too many, or they hold too much; `newest` stays. The
   * map is in order of arrival; the oldest goes unless it was asked for since it came
   * or was last spared, in which case it is spared once more and goes to the back:
   * least recently used first, near enough, with no bookkeeping on a hit.
   */
  private evict (generation: Generation, newest: Entry): void {
    const maxValues = this.options.maxValues ?? Infinity
    const { entries } = generation
    while (entries.size > this.options.maxEntries || (generation.values > maxValues && entries.size > 1)) {
      const [oldestKey, oldest] = entries.entries().next().value as [string, Entry]
      entries.delete(oldestKey)
      if (oldest === newest || oldest.used) {
        oldest.used = false
        entries.set(oldestKey, oldest)
        continue
      }
      generation.values -= oldest.values
    }
  }
}

/** The JSON of frozen parts of questions (the actors the authenticator remembers), written once each. */
const frozenKeys = new WeakMap<object, string>()

/** The question as JSON, as `JSON.stringify(question)` writes it. */
function keyOf (question: unknown[]): string | undefined {
  try {
    let key = '['
    for (let i = 0; i < question.length; i++) {
      if (i > 0) key += ','
      key += partKey(question[i])
    }
    return key + ']'
  } catch {
    // A BigInt, a cycle: not a question asked twice.
    return undefined
  }
}

function partKey (part: unknown): string {
  if (typeof part !== 'object' || part === null) return JSON.stringify(part) ?? 'null'
  let key = frozenKeys.get(part)
  if (key === undefined) {
    key = JSON.stringify(part) ?? 'null'
    // Only what can never change again may keep its JSON.
    if (deeplyFrozen(part)) frozenKeys.set(part, key)
  }
  return key
}

/** Plain objects and arrays frozen all the way down (a frozen Date can still be set). */
function deeplyFrozen (value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true
  const prototype: unknown = Object.getPrototypeOf(value)
  const plain = Array.isArray(value) || prototype === Object.prototype || prototype === null
  return plain && Object.isFrozen(value) && Object.values(value).every(deeplyFrozen)
}

/** Freezes `value` and everything in it; returns how many values that was. */
function deepFreeze (value: unknown): number {
  // A typed array's items cannot be frozen; no domain answer holds one. A frozen object is counted once.
  if (typeof value !== 'object' || value === null || Object.isFrozen(value) || ArrayBuffer.isView(value)) return 1
  Object.freeze(value)
  let values = 1
  for (const item of Object.values(value)) values += deepFreeze(item)
  return values
}
