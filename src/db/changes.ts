/**
 * The database's own announcements of committed changes, heard by this process.
 *
 * Triggers on every table (prisma/migrations/…_change_notifications) send a notice
 * on the channel `mobyle2_changes` with each commit that changed data, and one per
 * recorded login failure. PostgreSQL delivers them to every process LISTENing, so
 * each server sharing the database hears every other's writes, the command line's
 * and psql's. PGlite has one process by construction (src/db/data-dir-lock.ts) and
 * delivers the notices of its own commits before the commit's promise resolves.
 *
 * While the listening connection is down, changes may go unheard: `hearing` is
 * false and listeners are told `deaf`, so that nothing is served from memory; once
 * it is back, they are told `hearing`, and since what was missed is unknown they
 * forget everything.
 */
import type { PGlite } from '@electric-sql/pglite'
import pg from 'pg'

export const changeChannel = 'mobyle2_changes'

/** What the change triggers send: `data:` and the table's name. */
const dataPrefix = 'data:'
/** Notices a process sends itself (PostgresFeed.caughtUp); others ignore them. */
const markPrefix = 'mark:'
const markTimeoutMs = 1000
/**
 * After its mark, how long a writer still waits: the other listening backends were
 * signalled with this one, but on a loaded machine one may be scheduled a little
 * later (seen once in CI, on 2 busy cores).
 */
const markCushionMs = 2

/** How the listening connection names itself in pg_stat_activity. */
export const feedApplicationName = 'mobyle2 change feed'

export type Change =
  /** A table's rows changed; without `table`, anything may have. */
  | { kind: 'data', table?: string }
  | { kind: 'failure', id: string, username: string | null, address: string | null }
  | { kind: 'forgotten', id: string }

export interface ChangeListener {
  changed: (change: Change) => void
  /** Changes may go unheard from now on; `error` says why, when something failed. */
  deaf: (error?: Error) => void
  hearing: () => void
}

export interface ChangeFeed {
  /** Whether every committed change is being heard right now. */
  readonly hearing: boolean
  subscribe: (listener: ChangeListener) => () => void
  /**
   * Resolves once this process has heard every change it committed before the call
   * (or at once while deaf): a write waits for it before it is answered, so that the
   * other processes, which PostgreSQL notifies at the same moment, have heard it too
   * before its client can ask them.
   */
  caughtUp: () => Promise<void>
  close: () => Promise<void>
}

export function parseChange (payload: string): Change | undefined {
  if (payload === 'data') return { kind: 'data' }
  if (payload.startsWith(dataPrefix)) return { kind: 'data', table: payload.slice(dataPrefix.length) }
  try {
    const { failure, forgotten } = JSON.parse(payload) as { failure?: { id?: unknown, username?: unknown, address?: unknown }, forgotten?: unknown }
    const text = (value: unknown): string | null => typeof value === 'string' ? value : null
    if (forgotten !== undefined && forgotten !== null) return { kind: 'forgotten', id: String(forgotten) }
    if (typeof failure !== 'object' || failure === null) return undefined
    return { kind: 'failure', id: String(failure.id), username: text(failure.username), address: text(failure.address) }
  } catch {
    return undefined
  }
}

/** Listeners and the hearing state both feeds share. */
abstract class Feed implements ChangeFeed {
  protected readonly listeners = new Set<ChangeListener>()
  hearing = false

  subscribe (listener: ChangeListener): () => void {
    this.listeners.add(listener)
    this.started()
    return () => { this.listeners.delete(listener) }
  }

  abstract close (): Promise<void>

  async caughtUp (): Promise<void> {}

  /** Called on each subscription; starts listening the first time. */
  protected abstract started (): void

  protected deliver (payload: string): void {
    if (payload.startsWith(markPrefix)) return
    const change = parseChange(payload)
    // A notice this version does not know (a newer process's) may be a change: treat it as one.
    for (const listener of this.listeners) listener.changed(change ?? { kind: 'data' })
  }

  /** Closed on purpose: nothing is heard any more, and nobody needs telling. */
  protected closing (): void {
    this.hearing = false
    this.listeners.clear()
  }

  protected setHearing (hearing: boolean, error?: Error): void {
    if (this.hearing === hearing) return
    this.hearing = hearing
    for (const listener of this.listeners) {
      if (hearing) listener.hearing()
      else listener.deaf(error)
    }
  }
}

/** PGlite: one process, notices delivered in it before the commit's promise resolves, so nothing to catch up. */
export class PGliteFeed extends Feed {
  private unlisten: Promise<() => Promise<void>> | undefined

  constructor (private readonly pglite: PGlite) {
    super()
  }

  protected started (): void {
    this.unlisten ??= this.pglite.listen(changeChannel, (payload) => { this.deliver(payload) }).then((unlisten) => {
      this.setHearing(true)
      return unlisten
    })
  }

  async close (): Promise<void> {
    this.closing()
    const unlisten = this.unlisten
    this.unlisten = undefined
    if (unlisten !== undefined) await (await unlisten)().catch(() => {})
  }
}

export interface PostgresFeedOptions {
  /** How often the listening connection is asked whether it is alive. */
  pingMs?: number
  /** The wait before the first reconnection attempt; it doubles after each failure. */
  firstRetryMs?: number
  /** Longest wait between reconnection attempts. */
  maxRetryMs?: number
}

/**
 * PostgreSQL: one connection of its own (outside the pool, since LISTEN belongs to
 * a session), reconnected with a growing pause when lost, and pinged so that a
 * connection that died silently is noticed.
 */
export class PostgresFeed extends Feed {
  private client: pg.Client | undefined
  private closed = false
  private retryMs: number
  private retryTimer: NodeJS.Timeout | undefined
  private pingTimer: NodeJS.Timeout | undefined
  private readonly marks = new Map<string, () => void>()
  private nextMark: Promise<void> | undefined
  private marksSent = 0
  private queries: Promise<void> = Promise.resolve()
  /** Tells this feed's marks from those of another feed in the same process. */
  private readonly markSalt = Math.random().toString(36).slice(2)

  constructor (private readonly connectionString: string, private readonly options: PostgresFeedOptions = {}) {
    super()
    this.retryMs = options.firstRetryMs ?? 50
  }

  protected started (): void {
    if (this.client === undefined && this.retryTimer === undefined && !this.closed) void this.connect()
  }

  private async connect (): Promise<void> {
    this.retryTimer = undefined
    const client = new pg.Client({ connectionString: this.connectionString, keepAlive: true, application_name: feedApplicationName })
    this.client = client
    let lost = false
    const lose = (error?: Error): void => {
      if (lost) return
      lost = true
      this.dropped(client, error ?? new Error('the listening connection ended'))
    }
    client.on('error', lose)
    client.on('end', () => { lose() })
    client.on('notification', (message) => {
      const payload = message.payload ?? ''
      if (payload.startsWith(markPrefix)) this.markHeard(payload)
      else this.deliver(payload)
    })
    try {
      await client.connect()
      await client.query(`LISTEN ${changeChannel}`)
    } catch (error) {
      lose(error as Error)
      return
    }
    if (this.closed || lost) return
    this.retryMs = this.options.firstRetryMs ?? 50
    this.setHearing(true)
    this.pingTimer = setInterval(() => {
      this.query(client, 'SELECT 1').catch((error: Error) => { lose(error) })
    }, this.options.pingMs ?? 5_000)
    this.pingTimer.unref()
  }

  /**
   * A mark is a notice this process sends after its commits: notices reach each
   * listener in commit order, so hearing the mark means having heard them. Writes
   * that end together share one mark.
   */
  override async caughtUp (): Promise<void> {
    const client = this.client
    if (!this.hearing || client === undefined) return
    if (this.nextMark === undefined) {
      const payload = `${markPrefix}${process.pid}:${this.markSalt}:${this.marksSent++}`
      let resolve = (): void => {}
      const heard = new Promise<void>((done) => { resolve = done })
      this.nextMark = heard
      this.marks.set(payload, resolve)
      setImmediate(() => {
        this.nextMark = undefined
        this.query(client, 'SELECT pg_notify($1, $2)', [changeChannel, payload]).catch(() => { this.markHeard(payload) })
      })
      // Never hold a write's answer for long: its own cache is already empty.
      setTimeout(() => { this.markHeard(payload) }, markTimeoutMs).unref()
    }
    await this.nextMark
  }

  /** The listening connection's pings and marks, one at a time: pg is to stop queueing a client's queries itself. */
  private async query (client: pg.Client, text: string, values?: unknown[]): Promise<void> {
    const turn = this.queries.then(async () => { await client.query(text, values) })
    this.queries = turn.catch(() => {})
    await turn
  }

  private markHeard (payload: string): void {
    const resolve = this.marks.get(payload)
    if (resolve === undefined) return
    this.marks.delete(payload)
    // After the other listeners, signalled at the same moment, have had their turn.
    setTimeout(resolve, markCushionMs)
  }

  private dropped (client: pg.Client, error: Error): void {
    clearInterval(this.pingTimer)
    if (this.client !== client) return
    this.client = undefined
    for (const payload of [...this.marks.keys()]) this.markHeard(payload)
    this.setHearing(false, error)
    client.end().catch(() => {})
    if (this.closed) return
    this.retryTimer = setTimeout(() => { void this.connect() }, this.retryMs)
    this.retryTimer.unref()
    this.retryMs = Math.min(this.retryMs * 2, this.options.maxRetryMs ?? 2_000)
  }

  async close (): Promise<void> {
    this.closed = true
    clearTimeout(this.retryTimer)
    clearInterval(this.pingTimer)
    for (const payload of [...this.marks.keys()]) this.markHeard(payload)
    this.closing()
    const client = this.client
    this.client = undefined
    await client?.end().catch(() => {})
  }
}
