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
/**
 * The notices of the write handshake (PostgresFeed.caughtUp): a writer's `mark:<n>`,
 * and each other listener's `ack:<writer's backend pid>:<n>` once it has heard it.
 */
const markPrefix = 'mark:'
const ackPrefix = 'ack:'
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
   * Resolves once every other process sharing the database has heard the changes
   * this one committed before the call (or at once while deaf): a write waits for
   * it before it is answered, so that its client, asking any of them next, is never
   * answered from before the write.
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
  /** The longest a write's answer waits for the other processes' acknowledgements. */
  acknowledgementMs?: number
}

/**
 * How a mark ended: `done` once every listener acknowledged it (or the limit passed,
 * or the feed closed), `dropped` when this feed's connection was lost first.
 */
type MarkOutcome = 'done' | 'dropped'

/** A write's mark, waiting to be acknowledged by every other listener. */
interface Mark {
  readonly number: number
  readonly heard: (outcome: MarkOutcome) => void
  /** The other listeners' backend pids, once the mark is sent; until then, acknowledgements are kept in `acked`. */
  waitingFor?: Set<number>
  readonly acked: Set<number>
}

/**
 * PostgreSQL: one connection of its own (outside the pool, since LISTEN belongs to
 * a session), reconnected with a growing pause when lost, and pinged so that a
 * connection that died silently is noticed.
 *
 * A write is answered only once every other process listening on the database has
 * heard it (`caughtUp`): the writer sends a mark after its commits, which reaches
 * every listener after the write's own notices (PostgreSQL delivers notices in
 * commit order), and waits for each listener's acknowledgement, sent once the
 * notices before the mark have been handled. The listeners to wait for are the
 * connections named `feedApplicationName` in pg_stat_activity when the mark is
 * sent; a connection takes the name only once it listens, so every one named will
 * hear the mark, and one that takes it later has remembered nothing from before
 * the write. A listener that does not answer within `acknowledgementMs` (its process
 * stopped, say) holds writes back no longer than that.
 *
 * While this feed's own connection is down, the other processes still get the
 * write's notices at its commit, but nothing says they have handled them yet: the
 * write then waits, within the same limit, for the connection to be back and asks.
 */
export class PostgresFeed extends Feed {
  private client: pg.Client | undefined
  /** The backend pid of the listening connection: the sender of this feed's marks and acknowledgements. */
  private backendPid: number | undefined
  private connecting: Promise<void> | undefined
  private closed = false
  private retryMs: number
  private retryTimer: NodeJS.Timeout | undefined
  private pingTimer: NodeJS.Timeout | undefined
  private readonly marks = new Map<number, Mark>()
  private nextMark: Promise<MarkOutcome> | undefined
  /** Writes waiting for the connection to listen again. */
  private readonly hearingWaiters = new Set<() => void>()
  private marksSent = 0
  /** Per writer's backend pid, the latest of its marks heard and not yet acknowledged. */
  private readonly acksDue = new Map<number, number>()
  private queries: Promise<void> = Promise.resolve()

  constructor (private readonly connectionString: string, private readonly options: PostgresFeedOptions = {}) {
    super()
    this.retryMs = options.firstRetryMs ?? 50
  }

  protected started (): void {
    if (this.client === undefined && this.retryTimer === undefined && !this.closed) void this.connect()
  }

  private async connect (): Promise<void> {
    this.retryTimer = undefined
    const connecting = this.listen()
    this.connecting = connecting
    await connecting
    if (this.connecting === connecting) this.connecting = undefined
  }

  private async listen (): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString, keepAlive: true, application_name: `${feedApplicationName} (starting)` })
    this.client = client
    let lost = false
    const lose = (error?: Error): void => {
      if (lost) return
      lost = true
      this.dropped(client, error ?? new Error('the listening connection ended'))
    }
    client.on('error', lose)
    client.on('end', () => { lose() })
    client.on('notification', (message) => { this.heard(client, message.processId, message.payload ?? '') })
    try {
      await client.connect()
      await client.query(`LISTEN ${changeChannel}`)
      // Marks and acknowledgements carry no data: their commits need not wait for the disk.
      const { rows } = await client.query<{ pid: number }>(`SELECT pg_backend_pid() AS pid,
        set_config('synchronous_commit', 'off', false), set_config('application_name', $1, false)`, [feedApplicationName])
      this.backendPid = rows[0]!.pid
    } catch (error) {
      lose(error as Error)
      return
    }
    if (this.closed || lost) return
    this.retryMs = this.options.firstRetryMs ?? 50
    this.setHearing(true)
    this.wakeHearingWaiters()
    this.pingTimer = setInterval(() => {
      this.query(client, 'SELECT 1').catch((error: Error) => { lose(error) })
    }, this.options.pingMs ?? 5_000)
    this.pingTimer.unref()
  }

  private heard (client: pg.Client, sender: number, payload: string): void {
    if (payload.startsWith(markPrefix)) {
      if (sender !== this.backendPid) this.acknowledge(client, sender, Number(payload.slice(markPrefix.length)))
    } else if (payload.startsWith(ackPrefix)) {
      const [writer, number] = payload.slice(ackPrefix.length).split(':').map(Number)
      if (writer === this.backendPid) this.acknowledged(sender, number!)
    } else {
      this.deliver(payload)
    }
  }

  /** The notices before the mark have been delivered (synchronously, in order): say so, with those of other marks heard meanwhile. */
  private acknowledge (client: pg.Client, writer: number, number: number): void {
    const sending = this.acksDue.size > 0
    this.acksDue.set(writer, Math.max(number, this.acksDue.get(writer) ?? -1))
    if (sending) return
    setImmediate(() => {
      const payloads = [...this.acksDue].map(([writer, number]) => `${ackPrefix}${writer}:${number}`)
      this.acksDue.clear()
      this.query(client, 'SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload', [changeChannel, payloads])
        .catch((error: Error) => { client.emit('error', error) })
    })
  }

  /** A listener has heard this feed's marks up to `number`, and so everything before them. */
  private acknowledged (listener: number, number: number): void {
    for (const mark of this.marks.values()) {
      if (mark.number > number) continue
      if (mark.waitingFor === undefined) mark.acked.add(listener)
      else mark.waitingFor.delete(listener)
      this.settle(mark)
    }
  }

  /**
   * Resolves once every other listener has heard what this process committed
   * before the call, or once `acknowledgementMs` have passed: while this feed
   * cannot listen, it waits for the connection to be back first. Writes that end
   * together share one mark. A process that does not listen (the command line)
   * connects for it.
   */
  override async caughtUp (): Promise<void> {
    const deadline = Date.now() + (this.options.acknowledgementMs ?? 1000)
    if (this.client === undefined && !this.closed && this.retryTimer === undefined) await this.connect()
    while (!this.closed && Date.now() < deadline) {
      if (this.connecting !== undefined) await this.connecting
      const client = this.client
      if (this.hearing && client !== undefined) {
        if (await this.markHeard(client, deadline) === 'done') return
      } else if (!await this.hearingAgain(deadline)) {
        return
      }
    }
  }

  /** Sends a mark after this turn's commits (one for all the writes ending in it) and waits for it, until `deadline`. */
  private async markHeard (client: pg.Client, deadline: number): Promise<MarkOutcome> {
    if (this.nextMark === undefined) {
      let heard: (outcome: MarkOutcome) => void = () => {}
      this.nextMark = new Promise<MarkOutcome>((resolve) => { heard = resolve })
      const mark: Mark = { number: this.marksSent++, heard, acked: new Set() }
      this.marks.set(mark.number, mark)
      setImmediate(() => {
        this.nextMark = undefined
        // A connection that fails a query is not trusted to listen either: it is dropped and reconnected.
        this.send(client, mark).catch((error: Error) => { client.emit('error', error) })
      })
      // Never hold a write's answer for long: its own cache is already empty.
      setTimeout(() => { this.forget(mark, 'done') }, this.options.acknowledgementMs ?? 1000).unref()
    }
    return await byDeadline(this.nextMark, deadline, 'done')
  }

  /** Whether the connection listens again before `deadline`. */
  private async hearingAgain (deadline: number): Promise<boolean> {
    let waiter = (): void => {}
    const back = new Promise<boolean>((resolve) => {
      waiter = () => { resolve(true) }
      this.hearingWaiters.add(waiter)
    })
    const heard = await byDeadline(back, deadline, false)
    this.hearingWaiters.delete(waiter)
    return heard && !this.closed
  }

  private wakeHearingWaiters (): void {
    for (const waiter of [...this.hearingWaiters]) waiter()
  }

  private async send (client: pg.Client, mark: Mark): Promise<void> {
    const [{ listeners }] = await this.query<{ listeners: number[] }>(client, `
      SELECT pg_notify($1, $2), array(
        SELECT pid FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = $3 AND pid <> pg_backend_pid()) AS listeners`,
    [changeChannel, `${markPrefix}${mark.number}`, feedApplicationName]) as [{ listeners: number[] }]
    mark.waitingFor = new Set(listeners.filter((pid) => !mark.acked.has(pid)))
    this.settle(mark)
  }

  private settle (mark: Mark): void {
    if (mark.waitingFor?.size === 0) this.forget(mark, 'done')
  }

  private forget (mark: Mark, outcome: MarkOutcome): void {
    if (this.marks.delete(mark.number)) mark.heard(outcome)
  }

  /** The listening connection's queries, one at a time: pg is to stop queueing a client's queries itself. */
  private async query<Row = unknown> (client: pg.Client, text: string, values?: unknown[]): Promise<Row[]> {
    const turn = this.queries.then(async () => (await client.query<Row & pg.QueryResultRow>(text, values)).rows)
    this.queries = turn.then(() => {}, () => {})
    return await turn
  }

  private dropped (client: pg.Client, error: Error): void {
    clearInterval(this.pingTimer)
    if (this.client !== client) return
    this.client = undefined
    this.backendPid = undefined
    this.acksDue.clear()
    for (const mark of [...this.marks.values()]) this.forget(mark, 'dropped')
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
    for (const mark of [...this.marks.values()]) this.forget(mark, 'done')
    this.wakeHearingWaiters()
    this.closing()
    const client = this.client
    this.client = undefined
    await client?.end().catch(() => {})
  }
}

/** `promise`'s value, or `fallback` once `deadline` (a Date.now() time) has passed. */
async function byDeadline<T> (promise: Promise<T>, deadline: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const limit = new Promise<T>((resolve) => { timer = setTimeout(() => { resolve(fallback) }, Math.max(0, deadline - Date.now())) })
  try {
    return await Promise.race([promise, limit])
  } finally {
    clearTimeout(timer)
  }
}
