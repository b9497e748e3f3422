/**
 * The database's own announcements of committed changes, heard by this process,
 * and the proof that nothing committed was missed.
 *
 * Triggers (prisma/migrations/…_change_notifications and later) send a notice on
 * the channel `mobyle2_changes` with each commit that changed data, naming its
 * table, and one per recorded or forgotten login failure; a cancellation asked of a
 * running job sends one naming the job (src/domain/job-queue.ts). PostgreSQL delivers them
 * to every process LISTENing, in commit order, so each server sharing the database
 * hears every other's writes, the command line's and psql's. PGlite has one process
 * by construction (src/db/data-dir-lock.ts) and delivers the notices of its own
 * commits before the commit's promise resolves.
 *
 * The guarantee remembered answers rest on (`current`): on PostgreSQL the listening
 * connection sends itself a ping every `boundMs / 4`; hearing a ping that was sent at
 * time c proves that every change committed before c has been heard (notices arrive
 * in commit order). A process serves remembered answers only while it has such a
 * proof younger than `boundMs`, so a remembered answer never misses a change
 * committed more than `boundMs` before it is given, whatever hangs or pauses. A
 * write's answer waits (`caughtUp`) until every other listening process has
 * acknowledged it, or `boundMs` have passed: so its client, asking any process next,
 * reads it.
 */
import type { PGlite } from '@electric-sql/pglite'
import pg from 'pg'

export const changeChannel = 'mobyle2_changes'

/** What the change triggers send: `data:` and the table's name. */
const dataPrefix = 'data:'
/**
 * The notices of the write handshake (PostgresFeed.caughtUp): a writer's `mark:<n>`,
 * and each other listener's `ack:<writer's backend pid>:<n>` once it has heard it.
 * A `ping:<n>` is a listener's own proof of hearing; the others pass over it.
 */
const markPrefix = 'mark:'
const ackPrefix = 'ack:'
const pingPrefix = 'ping:'
/** How the listening connection names itself in pg_stat_activity. */
export const feedApplicationName = 'mobyle2 change feed'

export type Change =
  /** A table's rows changed; without `table`, anything may have. */
  | { kind: 'data', table?: string }
  | { kind: 'failure', id: string, username: string | null, address: string | null }
  | { kind: 'forgotten', id: string }
  /** A user asked that a running job be stopped: the dispatcher running it hears it without asking the database after every job change. */
  | { kind: 'cancel', job: number }

export interface ChangeListener {
  changed: (change: Change) => void
  /** Changes may go unheard from now on; `error` says why, when something failed. */
  deaf: (error?: Error) => void
  /** Listening again: what was committed meanwhile is unknown. */
  hearing: () => void
}

export interface ChangeFeed {
  /** Whether the listening connection is up. */
  readonly hearing: boolean
  /**
   * Whether every change committed more than the feed's bound ago is known to have
   * been heard: only then may an answer remembered earlier be given again.
   */
  readonly current: boolean
  subscribe: (listener: ChangeListener) => () => void
  /**
   * Resolves once every other process sharing the database has heard the changes
   * this one committed before the call, or the bound has passed: a write waits for
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
    const { failure, forgotten, cancel } = JSON.parse(payload) as {
      failure?: { id?: unknown, username?: unknown, address?: unknown }
      forgotten?: string | number | null
      cancel?: unknown
    }
    const text = (value: unknown): string | null => typeof value === 'string' ? value : null
    if (forgotten !== undefined && forgotten !== null) return { kind: 'forgotten', id: String(forgotten) }
    if (typeof cancel === 'number') return { kind: 'cancel', job: cancel }
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

  get current (): boolean {
    return this.hearing
  }

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
  /**
   * How old the proof of having heard every commit may be while remembered answers
   * are given, and the longest a write's answer waits for the other processes.
   */
  boundMs?: number
  /** How long the connection may go without hearing its own pings before it is taken for dead and replaced. */
  silenceMs?: number
  /** The wait before the first reconnection attempt; it doubles after each failure. */
  firstRetryMs?: number
  /** Longest wait between reconnection attempts. */
  maxRetryMs?: number
}

/** A write's mark: heard back by this feed, and acknowledged by every other listener named when it was sent. */
interface Mark {
  readonly number: number
  readonly done: (heard: boolean) => void
  /** The other listeners' backend pids, once the mark is sent; until then, acknowledgements are kept in `acked`. */
  waitingFor?: Set<number>
  readonly acked: Set<number>
  heardBack: boolean
}

/**
 * PostgreSQL: one connection of its own (outside the pool, since LISTEN belongs to
 * a session), reconnected with a growing pause when lost, replaced when it stops
 * hearing its own pings for `silenceMs` (a half-open link, a stopped backend).
 *
 * A write's mark (`caughtUp`) is sent after its commits and reaches every listener
 * after the write's own notices; each acknowledges it once the notices before it
 * are handled. The listeners waited for are the connections named
 * `feedApplicationName` in pg_stat_activity that ran a query within the bound: a
 * listener whose backend has been still for longer (its process paused or gone, its
 * link dead) has not heard its own ping for that long either, so it gives no
 * remembered answer until it has heard everything up to a newer ping, this write
 * included. Waiting for acknowledgements is what makes a write quick; the bound
 * alone is what makes it safe.
 */
export class PostgresFeed extends Feed {
  private client: pg.Client | undefined
  /** The backend pid of the listening connection: the sender of this feed's marks, pings and acknowledgements. */
  private backendPid: number | undefined
  /** The backend of the latest connection: the next one ends it, in case it lingers. */
  private lastBackend: { pid: number, started: string } | undefined
  private closed = false
  private retryMs: number
  private retryTimer: NodeJS.Timeout | undefined
  private heartbeat: NodeJS.Timeout | undefined
  private readonly boundMs: number
  private readonly silenceMs: number
  /** When (performance.now()) the latest signal heard back was sent: every commit before it has been heard. */
  private provenAt = -Infinity
  /** When the latest signal was heard back, or the connection started to be trusted to hear one. */
  private lastHeard = 0
  /** Pings and marks sent and not yet heard back, by number: when each was sent. */
  private readonly signals = new Map<number, number>()
  private signalsSent = 0
  private pinging = false
  private readonly marks = new Map<number, Mark>()
  private nextMark: Promise<boolean> | undefined
  /** Per writer's backend pid, the latest of its marks heard and not yet acknowledged. */
  private readonly acksDue = new Map<number, number>()
  private queries: Promise<void> = Promise.resolve()

  constructor (private readonly connectionString: string, private readonly options: PostgresFeedOptions = {}) {
    super()
    this.retryMs = options.firstRetryMs ?? 50
    this.boundMs = options.boundMs ?? 1000
    this.silenceMs = options.silenceMs ?? Math.max(3 * this.boundMs, 2000)
  }

  override get current (): boolean {
    return this.hearing && performance.now() - this.provenAt <= this.boundMs
  }

  protected started (): void {
    if (this.client === undefined && this.retryTimer === undefined && !this.closed) void this.connect()
  }

  private async connect (): Promise<void> {
    this.retryTimer = undefined
    const client = new pg.Client({
      connectionString: this.connectionString,
      keepAlive: true,
      connectionTimeoutMillis: this.silenceMs,
      application_name: `${feedApplicationName} (starting)`
    })
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
      // Marks, pings and acknowledgements carry no data: their commits need not wait for the disk.
      const { rows } = await client.query<{ pid: number, started: string }>(`SELECT pg_backend_pid() AS pid, backend_start::text AS started,
        set_config('synchronous_commit', 'off', false), set_config('application_name', $1, false)
        FROM pg_stat_activity WHERE pid = pg_backend_pid()`, [feedApplicationName])
      this.backendPid = rows[0]!.pid
      // The backend of a connection given up on as silent (a half-open link) may linger for hours,
      // named as a listener: ended, so that writers stop asking it and its notices stop piling up.
      const abandoned = this.lastBackend
      this.lastBackend = { pid: rows[0]!.pid, started: rows[0]!.started }
      if (abandoned !== undefined) {
        await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = $1 AND backend_start::text = $2',
          [abandoned.pid, abandoned.started])
      }
    } catch (error) {
      lose(error as Error)
      return
    }
    if (this.closed || lost) return
    this.retryMs = this.options.firstRetryMs ?? 50
    this.setHearing(true)
    this.lastHeard = performance.now()
    this.ping(client)
    const interval = Math.max(10, Math.floor(this.boundMs / 4))
    let tick = performance.now()
    this.heartbeat = setInterval(() => {
      const now = performance.now()
      // Late by far more than an interval: this process was not running (paused, starved). The
      // connection gets a fresh chance to be heard before it is judged, its notices being still unread.
      if (now - tick > 2 * interval + 100) this.lastHeard = now
      tick = now
      if (now - this.lastHeard > this.silenceMs) {
        lose(new Error(`the listening connection heard nothing of its own for ${Math.round(now - this.lastHeard)} ms`))
      } else {
        this.ping(client)
      }
    }, interval)
    this.heartbeat.unref()
  }

  /** Sends a ping unless one is still on its way to the database. */
  private ping (client: pg.Client): void {
    if (this.pinging) return
    this.pinging = true
    this.query(client, 'SELECT pg_notify($1, $2)', [changeChannel, `${pingPrefix}${this.nextSignal()}`])
      .then(() => { this.pinging = false }, (error: Error) => { client.emit('error', error) })
  }

  /** The number of this feed's next ping or mark, noting when it is sent. */
  private nextSignal (): number {
    const number = this.signalsSent++
    this.signals.set(number, performance.now())
    return number
  }

  private heard (client: pg.Client, sender: number, payload: string): void {
    if (sender === this.backendPid && (payload.startsWith(pingPrefix) || payload.startsWith(markPrefix))) {
      this.heardBack(Number(payload.slice(payload.indexOf(':') + 1)))
    } else if (payload.startsWith(markPrefix)) {
      this.acknowledge(client, sender, Number(payload.slice(markPrefix.length)))
    } else if (payload.startsWith(ackPrefix)) {
      const [writer, number] = payload.slice(ackPrefix.length).split(':').map(Number)
      if (writer === this.backendPid) this.acknowledged(sender, number!)
    } else if (!payload.startsWith(pingPrefix)) {
      this.deliver(payload)
    }
  }

  /** This feed's signal `number` came back: every commit before it was sent has been heard. */
  private heardBack (number: number): void {
    const sentAt = this.signals.get(number)
    if (sentAt === undefined) return
    for (const earlier of this.signals.keys()) {
      if (earlier > number) break
      this.signals.delete(earlier)
    }
    this.provenAt = Math.max(this.provenAt, sentAt)
    this.lastHeard = performance.now()
    const mark = this.marks.get(number)
    if (mark !== undefined) {
      mark.heardBack = true
      this.settle(mark)
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
   * before the call, or once the bound has passed. Writes that end together share
   * one mark. A process that does not listen (the command line) connects for it.
   */
  override async caughtUp (): Promise<void> {
    const deadline = performance.now() + this.boundMs
    if (this.client === undefined && !this.closed && this.retryTimer === undefined) await this.connect()
    const client = this.client
    const heard = this.hearing && client !== undefined && await byDeadline(this.markHeard(client), deadline, false)
    // Not heard by everyone: the bound, which every process's remembered answers keep, makes it safe.
    const left = deadline - performance.now()
    if (!heard && left > 0 && !this.closed) await new Promise((resolve) => setTimeout(resolve, left))
  }

  /** Sends a mark after this turn's commits (one for all the writes ending in it); resolves with whether all have heard it. */
  private async markHeard (client: pg.Client): Promise<boolean> {
    if (this.nextMark === undefined) {
      let done: (heard: boolean) => void = () => {}
      this.nextMark = new Promise<boolean>((resolve) => { done = resolve })
      setImmediate(() => {
        this.nextMark = undefined
        this.sendMark(client, done).catch((error: Error) => { client.emit('error', error) })
      })
    }
    return await this.nextMark
  }

  private async sendMark (client: pg.Client, done: (heard: boolean) => void): Promise<void> {
    const number = this.nextSignal()
    const mark: Mark = { number, done, acked: new Set(), heardBack: false }
    this.marks.set(number, mark)
    // Never kept past the bound: the writer stops waiting then.
    setTimeout(() => { this.finish(mark, false) }, this.boundMs).unref()
    const [{ listeners }] = await this.query<{ listeners: number[] }>(client, `
      SELECT pg_notify($1, $2), array(
        SELECT pid FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = $3 AND pid <> pg_backend_pid()
          AND state_change > clock_timestamp() - make_interval(secs => $4::float8)) AS listeners`,
    [changeChannel, `${markPrefix}${number}`, feedApplicationName, this.boundMs / 1000]) as [{ listeners: number[] }]
    mark.waitingFor = new Set(listeners.filter((pid) => !mark.acked.has(pid)))
    this.settle(mark)
  }

  private settle (mark: Mark): void {
    if (mark.heardBack && mark.waitingFor?.size === 0) this.finish(mark, true)
  }

  private finish (mark: Mark, heard: boolean): void {
    if (this.marks.delete(mark.number)) mark.done(heard)
  }

  /** The listening connection's queries, one at a time: pg is to stop queueing a client's queries itself. */
  private async query<Row = unknown> (client: pg.Client, text: string, values?: unknown[]): Promise<Row[]> {
    const turn = this.queries.then(async () => (await client.query<Row & pg.QueryResultRow>(text, values)).rows)
    this.queries = turn.then(() => {}, () => {})
    return await turn
  }

  private dropped (client: pg.Client, error: Error): void {
    if (this.client !== client) return
    clearInterval(this.heartbeat)
    this.client = undefined
    this.backendPid = undefined
    this.acksDue.clear()
    this.signals.clear()
    this.pinging = false
    this.queries = Promise.resolve()
    for (const mark of [...this.marks.values()]) this.finish(mark, false)
    this.setHearing(false, error)
    // Not end(): a connection that stopped answering would never say goodbye.
    client.connection.stream.destroy()
    if (this.closed) return
    this.retryTimer = setTimeout(() => { void this.connect() }, this.retryMs)
    this.retryTimer.unref()
    this.retryMs = Math.min(this.retryMs * 2, this.options.maxRetryMs ?? 2_000)
  }

  async close (): Promise<void> {
    this.closed = true
    clearTimeout(this.retryTimer)
    clearInterval(this.heartbeat)
    for (const mark of [...this.marks.values()]) this.finish(mark, true)
    this.closing()
    const client = this.client
    this.client = undefined
    if (client === undefined) return
    // A connection that stopped answering would never confirm its end.
    const ended = await byDeadline(client.end().then(() => true, () => true), performance.now() + this.boundMs, false)
    if (!ended) client.connection.stream.destroy()
  }
}

/** `promise`'s value, or `fallback` once `deadline` (a performance.now() time) has passed. */
async function byDeadline<T> (promise: Promise<T>, deadline: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const limit = new Promise<T>((resolve) => { timer = setTimeout(() => { resolve(fallback) }, Math.max(0, deadline - performance.now())) })
  try {
    return await Promise.race([promise, limit])
  } finally {
    clearTimeout(timer)
  }
}
