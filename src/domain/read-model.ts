/**
 * The read model: what the domain's reads answered, given again while nothing they
 * read has changed.
 *
 * Each domain method says what it is where it is written:
 * - `@reads(...tables)`: its answer is remembered under the whole question (the
 *   method, the actor as it was resolved and every argument), so an answer is only
 *   ever given again to the same question from the same caller, and only while none
 *   of the tables it read has changed;
 * - `@writes(...tables)`: the tables it changes (cascades included). While it runs,
 *   reads of those tables go to the database; once it returns they count as
 *   changed here, and its answer waits until every other process has heard its
 *   changes (src/db/changes.ts), so that its client, asking any process next, reads
 *   them;
 * - `@readsBookkeeping(...tables)`: as `@reads`, for an answer that also shows
 *   bookkeeping (last login, last use of a key): remembered no longer than
 *   bookkeeping is written, once a minute;
 * - `@uncached`: a read that always asks the database; `@bookkeeping`: a write that
 *   nobody's remembered answer depends on (last login, last use of a key, failed
 *   logins), which forgets nothing and waits for nobody.
 *
 * A table changes when the database announces it (its triggers name the table on
 * every commit, whoever wrote) or when a `@writes` of this process returns. Each
 * table has a version; an answer keeps the versions it was read at, and is given
 * again only while they are the same, and only while the change feed can prove it
 * has heard every commit older than its bound (`ChangeFeed.current`): after a
 * pause, a hang or a lost connection, reads go to the database until it can.
 *
 * Answers are frozen: every caller shares them. `representation` keeps what the
 * faces make of a remembered answer (its JSON, its ETag, its XML) with it.
 */
import type { ChangeFeed } from '../db/changes.ts'
import { DomainError, PeerFailed } from './errors.ts'

/** The tables whose changes the database announces (prisma/migrations/…_change_notifications). */
export type Table = 'server' | 'service' | 'favorite' | 'user' | 'api_key' | 'group' | 'group_member' |
'project' | 'project_member' | 'project_group_grant' | 'job' | 'data_item'

export interface ReadModelLimits {
  /** Most answers kept; the least recently used go first. 0 keeps none. */
  maxEntries: number
  /**
   * Most values (objects, arrays and the strings, numbers … in them) in all the
   * answers kept together: what bounds the memory, since one answer may be a page
   * of ten items or every server with every service name.
   */
  maxValues?: number
}

/**
 * How often bookkeeping (last login, last use of a key) is written: per request it
 * would turn every read into a write; once a minute is enough to tell who is active.
 */
export const bookkeepingIntervalMs = 60_000

/** `used`: asked for since it was last passed over for eviction. */
interface Entry {
  answer: Promise<unknown>
  tables: readonly Table[]
  /** The versions of `tables` when the read began, and the model's epoch. */
  versions: number[]
  epoch: number
  /** When (performance.now()) it stops being given, whatever changes. */
  expires: number
  values: number
  used: boolean
}

/** Answers of any read model, for `representation`: only what was remembered may keep what is made of it. */
const rememberedAnswers = new WeakSet<object>()

export class ReadModel {
  private readonly versions = new Map<Table, number>()
  /** Raised when what was committed meanwhile is unknown (the feed lost and found its connection, a notice named no table). */
  private epoch = 0
  /** The tables writes of this process are changing right now, counted. */
  private readonly writing = new Map<Table, number>()
  private readonly entries = new Map<string, Entry>()
  private values = 0

  constructor (private readonly feed: ChangeFeed, private readonly limits: ReadModelLimits) {
    if (limits.maxEntries > 0) {
      feed.subscribe({
        changed: (change) => {
          if (change.kind !== 'data') return
          if (change.table === undefined) this.forgetAll()
          else this.changed(change.table as Table)
        },
        deaf: () => { this.forgetAll() },
        hearing: () => { this.forgetAll() }
      })
    }
  }

  get size (): number {
    return this.entries.size
  }

  /**
   * The remembered answer to `question` (a key and its arguments), or `compute`'s,
   * remembered. A hit hands out the promise kept, allocating nothing: this runs
   * several times on every request.
   */
  read<T> (tables: readonly Table[], question: string, args: readonly unknown[], compute: () => Promise<T>, maxAgeMs = Infinity): Promise<T> {
    if (this.limits.maxEntries === 0 || !this.feed.current) return compute()
    for (const table of tables) if (this.writing.has(table)) return compute()
    const key = keyOf(question, args)
    if (key === undefined) return compute()
    const known = this.entries.get(key)
    if (known !== undefined && this.valid(known)) {
      // Marked, not moved: a hit costs no reordering of the map (eviction gives marked entries a second chance).
      known.used = true
      return known.answer as Promise<T>
    }
    return this.remember(key, tables, compute, maxAgeMs)
  }

  /** Runs a write that changes `tables`; see the module's comment. */
  async write<T> (tables: readonly Table[], run: () => Promise<T>): Promise<T> {
    for (const table of tables) this.writing.set(table, (this.writing.get(table) ?? 0) + 1)
    let result: T
    try {
      result = await run()
    } catch (error) {
      // A refusal wrote nothing (its transaction rolled back); anything else may have.
      // A failed sync is a refusal that recorded itself on the server row.
      const refused = error instanceof DomainError && !(error instanceof PeerFailed)
      this.wrote(tables, !refused)
      if (error instanceof PeerFailed) await this.feed.caughtUp()
      throw error
    }
    this.wrote(tables, true)
    await this.feed.caughtUp()
    return result
  }

  private wrote (tables: readonly Table[], changed: boolean): void {
    for (const table of tables) {
      const writers = this.writing.get(table)! - 1
      if (writers === 0) this.writing.delete(table)
      else this.writing.set(table, writers)
      if (changed) this.changed(table)
    }
  }

  private changed (table: Table): void {
    this.versions.set(table, (this.versions.get(table) ?? 0) + 1)
  }

  private forgetAll (): void {
    this.epoch++
    this.entries.clear()
    this.values = 0
  }

  private valid (entry: Entry): boolean {
    if (entry.epoch !== this.epoch || (entry.expires !== Infinity && entry.expires < performance.now())) return false
    for (let i = 0; i < entry.tables.length; i++) {
      if ((this.versions.get(entry.tables[i]!) ?? 0) !== entry.versions[i]) return false
    }
    return true
  }

  private remember<T> (key: string, tables: readonly Table[], compute: () => Promise<T>, maxAgeMs: number): Promise<T> {
    const stale = this.entries.get(key)
    if (stale !== undefined) {
      this.entries.delete(key)
      this.values -= stale.values
    }
    // The versions before the read: a change while it runs leaves the answer stale at once.
    const entry: Entry = {
      answer: Promise.resolve(),
      tables,
      versions: tables.map((table) => this.versions.get(table) ?? 0),
      epoch: this.epoch,
      expires: performance.now() + maxAgeMs,
      values: 0,
      used: false
    }
    entry.answer = compute().then((value) => {
      const values = deepFreeze(value)
      if (typeof value === 'object' && value !== null) rememberedAnswers.add(value)
      if (this.entries.get(key) === entry) {
        entry.values = values
        this.values += values
        this.evict(entry)
      }
      return value
    })
    this.entries.set(key, entry)
    this.evict(entry)
    // A refusal or absence is an answer like any other; a failure of the database is not.
    entry.answer.catch((error: unknown) => {
      if (!(error instanceof DomainError) && this.entries.get(key) === entry) {
        this.entries.delete(key)
        this.values -= entry.values
      }
    })
    return entry.answer as Promise<T>
  }

  /**
   * Drops answers while there are too many, or they hold too much; `newest` stays. The
   * map is in order of arrival; the oldest goes unless it was asked for since it came
   * or was last spared, in which case it is spared once more and goes to the back:
   * least recently used first, near enough, with no bookkeeping on a hit.
   */
  private evict (newest: Entry): void {
    const maxValues = this.limits.maxValues ?? Infinity
    const { entries } = this
    while (entries.size > this.limits.maxEntries || (this.values > maxValues && entries.size > 1)) {
      const [oldestKey, oldest] = entries.entries().next().value as [string, Entry]
      entries.delete(oldestKey)
      if (oldest === newest || (oldest.used && this.valid(oldest))) {
        oldest.used = false
        entries.set(oldestKey, oldest)
        continue
      }
      this.values -= oldest.values
    }
  }
}

/** A domain service whose methods are declared with the decorators below. */
export interface Remembering {
  readonly memory: ReadModel
}

type Method<This, Args extends unknown[], R> = (this: This, ...args: Args) => Promise<R>
type Decorator = <This extends Remembering, Args extends unknown[], R>(
  method: Method<This, Args, R>, context: ClassMethodDecoratorContext<This, Method<This, Args, R>>) => Method<This, Args, R>

/** How each decorated method was declared: what a test reads to see that every public method is. */
export const declarations = new WeakMap<object, { kind: 'reads' | 'writes' | 'uncached' | 'bookkeeping', tables: readonly Table[] }>()

/** Every declared read gets its own key prefix: two classes may well have a `get`. */
let declared = 0

/** A read whose answer is remembered until one of `tables` changes. */
export function reads (...tables: Table[]): Decorator {
  return remembered(tables, Infinity)
}

/** A read whose answer also shows bookkeeping: remembered until one of `tables` changes, and no longer than a minute. */
export function readsBookkeeping (...tables: Table[]): Decorator {
  return remembered(tables, bookkeepingIntervalMs)
}

function remembered (tables: Table[], maxAgeMs: number): Decorator {
  return (method, context) => {
    const question = `${++declared}${String(context.name)}`
    const read: typeof method = function (...args) {
      return this.memory.read(tables, question, args, () => method.apply(this, args), maxAgeMs)
    }
    declarations.set(read, { kind: 'reads', tables })
    return read
  }
}

/** A write that changes `tables` (cascades included). */
export function writes (...tables: Table[]): Decorator {
  return (method) => {
    const write: typeof method = async function (...args) {
      return await this.memory.write(tables, async () => await method.apply(this, args))
    }
    declarations.set(write, { kind: 'writes', tables })
    return write
  }
}

/** A read that asks the database every time (what only the authenticator reads, never twice the same). */
export const uncached: Decorator = (method) => {
  declarations.set(method, { kind: 'uncached', tables: [] })
  return method
}

/** A write of what no remembered answer depends on: it forgets nothing and waits for nobody. */
export const bookkeeping: Decorator = (method) => {
  declarations.set(method, { kind: 'bookkeeping', tables: [] })
  return method
}

/**
 * What `make` makes of `answer` (`kind` says what: a face's body, tag, encoding),
 * made once while `answer` is a remembered one — every caller of the same question
 * gets the same frozen answer again while nothing it read has changed — and made
 * afresh for a fresh answer.
 */
export function representation<R> (answer: object, kind: object, make: () => R): R {
  if (!rememberedAnswers.has(answer)) return make()
  let byKind = representations.get(answer)
  if (byKind === undefined) representations.set(answer, byKind = new WeakMap())
  if (byKind.has(kind)) return byKind.get(kind) as R
  const made = make()
  byKind.set(kind, made)
  return made
}

const representations = new WeakMap<object, WeakMap<object, unknown>>()

/** The JSON of frozen parts of questions (the actors the authenticator remembers), written once each. */
const frozenKeys = new WeakMap<object, string>()

/** The question and its arguments as one key: the arguments as `JSON.stringify` writes them. */
function keyOf (question: string, args: readonly unknown[]): string | undefined {
  try {
    let key = question
    for (const arg of args) key += '\u0000' + partKey(arg)
    return key
  } catch {
    // A BigInt, a cycle: not a question asked twice.
    return undefined
  }
}

function partKey (part: unknown): string {
  if (typeof part !== 'object' || part === null) return JSON.stringify(part) ?? 'undefined'
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
