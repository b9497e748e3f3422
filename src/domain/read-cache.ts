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
}

export class ReadCache {
  private entries = new Map<string, Promise<unknown>>()

  constructor (private readonly feed: ChangeFeed, private readonly options: ReadCacheOptions) {
    if (options.maxEntries > 0) {
      feed.subscribe({
        changed: (change) => { if (change.kind === 'data') this.forget() },
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
    return this.entries.size
  }

  /** The remembered answer to `question`, or `compute`'s, remembered. */
  async read<T> (question: unknown[], compute: () => Promise<T>): Promise<T> {
    if (!this.active) return await compute()
    const key = keyOf(question)
    if (key === undefined) return await compute()
    const entries = this.entries
    const known = entries.get(key)
    if (known !== undefined) {
      // Most recently used last: the map's order is the eviction order.
      entries.delete(key)
      entries.set(key, known)
      return await (known as Promise<T>)
    }
    const answer = compute().then(deepFreeze)
    entries.set(key, answer)
    if (entries.size > this.options.maxEntries) entries.delete(entries.keys().next().value as string)
    // A refusal or absence is an answer like any other; a failure of the database is not.
    answer.catch((error: unknown) => {
      if (!(error instanceof DomainError) && entries.get(key) === answer) entries.delete(key)
    })
    return await answer
  }

  /** Forgets every answer: something changed. */
  forget (): void {
    // A new map, so that reads still under way store into the old one, which nobody reads.
    if (this.entries.size > 0) this.entries = new Map()
  }
}

function keyOf (question: unknown[]): string | undefined {
  try {
    return JSON.stringify(question)
  } catch {
    // A BigInt, a cycle: not a question asked twice.
    return undefined
  }
}

function deepFreeze<T> (value: T): T {
  // A typed array's items cannot be frozen; no domain answer holds one.
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value) && !ArrayBuffer.isView(value)) {
    Object.freeze(value)
    for (const item of Object.values(value)) deepFreeze(item)
  }
  return value
}
