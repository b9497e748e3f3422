/**
 * The read model: what the domain's reads answered, given again while nothing they
 * read has changed.
 *
 * Each domain method says what it is where it is written, and `remembering` wraps
 * a service accordingly for its callers (the faces); calls inside a service go to
 * the database:
 * - `@reads(...tables)`: its answer is remembered under the whole question (the
 *   method, the actor as it was resolved and every argument), so an answer is only
 *   ever given again to the same question from the same caller, and only while none
 *   of the tables it read has changed;
 * - `@writes(...tables)`: the tables it changes (cascades included). Once it
 *   returns they count as changed here, and its answer waits until every other
 *   process has heard its changes (src/db/changes.ts), so that its client, asking
 *   any process next, reads them;
 * - `@systemWrites(...tables)`: as `@writes`, for a write of the system's own whose
 *   answer goes to no client (a dispatcher claiming or ending jobs): its tables
 *   count as changed here, and it waits for nobody, since there is no next read of
 *   its client to see it. Other processes hear it as they hear any commit;
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
export type Table = 'server' | 'service' | 'favorite' | 'user' | 'api_key' | 'group' | 'group_member'
  | 'project' | 'project_member' | 'project_group_grant' | 'job' | 'job_event' | 'data_item' | 'blob'

interface ReadModelLimits {
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

  /** Runs a write that changes `tables`, waiting for the other processes to hear it if `waits`; see the module's comment. */
  async write<T> (tables: readonly Table[], run: () => Promise<T>, waits = true): Promise<T> {
    let result: T
    try {
      result = await run()
    } catch (error) {
      // A refusal wrote nothing (its transaction rolled back); anything else may have.
      // A failed sync is a refusal that recorded itself on the server row.
      if (!(error instanceof DomainError) || error instanceof PeerFailed) for (const table of tables) this.changed(table)
      if (error instanceof PeerFailed && waits) await this.feed.caughtUp()
      throw error
    }
    for (const table of tables) this.changed(table)
    if (waits) await this.feed.caughtUp()
    return result
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

type Method = (...args: never[]) => Promise<unknown>
type Decorator = <M extends Method>(method: M, context: ClassMethodDecoratorContext) => M

interface Declaration {
  kind: 'reads' | 'writes' | 'systemWrites' | 'uncached' | 'bookkeeping'
  tables: readonly Table[]
  /** How long a read's answer may be given again, whatever changes. */
  maxAgeMs: number
}

/** How each method was declared, read by `remembering`. */
const declarations = new WeakMap<Method, Declaration>()

function declare (kind: Declaration['kind'], tables: Table[], maxAgeMs = Infinity): Decorator {
  return (method) => {
    declarations.set(method, { kind, tables, maxAgeMs })
    return method
  }
}

/** A read whose answer is remembered until one of `tables` changes. */
export const reads = (...tables: Table[]): Decorator => declare('reads', tables)

/** A read whose answer also shows bookkeeping: remembered until one of `tables` changes, and no longer than bookkeeping is written. */
export const readsBookkeeping = (...tables: Table[]): Decorator => declare('reads', tables, bookkeepingIntervalMs)

/** A write that changes `tables` (cascades included). */
export const writes = (...tables: Table[]): Decorator => declare('writes', tables)

/** A write that changes `tables`, answered to no client: it waits for no other process. */
export const systemWrites = (...tables: Table[]): Decorator => declare('systemWrites', tables)

/** A read that asks the database every time (what only the authenticator reads, never twice the same). */
export const uncached: Decorator = declare('uncached', [])

/** A write of what no remembered answer depends on: it forgets nothing and waits for nobody. */
export const bookkeeping: Decorator = declare('bookkeeping', [])

/** Every service gets its own prefix for its questions: two services may well have a `get`. */
let services = 0

/**
 * `service` as its callers see it: its declared reads answered through `model`, its
 * declared writes run through it. Calls inside the service (a write reading what it
 * has just written, one service calling another it holds) reach the service itself
 * and so the database.
 */
export function remembering<T extends object> (model: ReadModel, service: T): T {
  const prefix = `${++services}.`
  const methods = new Map<string | symbol, unknown>()
  return new Proxy(service, {
    get (target, property) {
      const value: unknown = Reflect.get(target, property, target)
      if (typeof value !== 'function') return value
      let method = methods.get(property)
      if (method === undefined) {
        const call = (value as (...args: unknown[]) => Promise<unknown>).bind(target)
        const declaration = declarations.get(value as Method)
        const question = prefix + String(property)
        method = declaration?.kind === 'reads'
          // No async wrapper of its own: a remembered answer is handed out as the very promise kept (reads are asked on every request).
          ? (...args: unknown[]) => model.read(declaration.tables, question, args, () => call(...args), declaration.maxAgeMs)
          : declaration?.kind === 'writes' || declaration?.kind === 'systemWrites'
            ? async (...args: unknown[]) => await model.write(declaration.tables, async () => await call(...args), declaration.kind === 'writes')
            : call
        methods.set(property, method)
      }
      return method
    }
  })
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

/**
 * Freezes `value` and everything in it, each part known as remembered (a login
 * record inside a key's answer keeps its actor too); returns how many values that was.
 */
function deepFreeze (value: unknown): number {
  // A typed array's items cannot be frozen; no domain answer holds one.
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return 1
  rememberedAnswers.add(value)
  // A frozen object is counted once.
  if (Object.isFrozen(value)) return 1
  Object.freeze(value)
  let values = 1
  for (const item of Object.values(value)) values += deepFreeze(item)
  return values
}
