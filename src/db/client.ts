/**
 * Opens the database: the embedded PGlite under DATA_DIR, or a PostgreSQL server
 * through a connection pool when DATABASE_URL is set. Both go through Prisma
 * driver adapters, so the rest of the code cannot tell them apart.
 */
import { mkdir } from 'node:fs/promises'
import { PGlite } from '@electric-sql/pglite'
import { PrismaPg } from '@prisma/adapter-pg'
import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils'
import pg from 'pg'
import { PrismaPGlite } from 'pglite-prisma-adapter'
import { PrismaClient } from '../generated/prisma/client.ts'
import { PGliteFeed, PostgresFeed, type ChangeFeed, type PostgresFeedOptions } from './changes.ts'
import { lockDataDir, type LockHolder, type LockRole } from './data-dir-lock.ts'
import { createDataDir, describeFailure, embeddedStartParams, holdsDatabase } from './embedded-init.ts'
import { oneTripClient } from './pglite-one-trip.ts'

export interface DatabaseOptions {
  /** postgres://… — a real server; otherwise the embedded database. */
  url?: string
  /** Directory of the embedded database; `memory://` keeps it in memory. */
  dataDir?: string
  /**
   * An in-memory database starts as a copy of this `dumpDataDir` tarball instead
   * of running initdb: the tests start each of their databases from one migrated copy.
   */
  snapshot?: Blob
  poolSize?: number
  /** Who takes the embedded database's directory lock: a server (the default) or the command line. */
  role?: LockRole
  /** How long to wait for a command-line process holding the directory. */
  lockWaitMs?: number
  /** How PostgreSQL's change notifications are listened to. */
  feed?: PostgresFeedOptions
  /** When the embedded database gathers a table's planner statistics again (`keepStatistics`). */
  statistics?: StatisticsOptions
}

export interface Database {
  kind: 'pglite' | 'postgresql'
  prisma: PrismaClient
  /** The adapter factory, for the schema engine (migrations). */
  adapterFactory: SqlMigrationAwareDriverAdapterFactory
  /** This process's lock on the embedded database's directory; null for PostgreSQL and memory://. */
  lock: LockHolder | null
  /** The committed changes of every process sharing the database, as they are announced. */
  changes: ChangeFeed
  /** Answers whether the database takes a query. */
  ping: () => Promise<void>
  /**
   * Gathers the query planner's statistics now (PGlite) or leaves them to the
   * server's autovacuum (PostgreSQL). See `keepStatistics`.
   */
  analyze: () => Promise<void>
  close: () => Promise<void>
  /** The embedded database as a tarball, which the `snapshot` option starts a new one from; PostgreSQL has none. */
  dumpSnapshot?: () => Promise<Blob>
}

/**
 * Prisma's other formats capture a stack trace at every query, to point at the
 * calling line in an error's message: a twentieth of a write's CPU. The domain
 * reads errors by their codes, and logs them with their own stacks.
 */
const errorFormat = 'minimal'

export async function openDatabase (options: DatabaseOptions): Promise<Database> {
  if (options.url !== undefined) {
    const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10 })
    const adapterFactory = new AtomicScriptPg(pool)
    const prisma = new PrismaClient({ adapter: adapterFactory, errorFormat })
    const changes = new PostgresFeed(options.url, options.feed)
    return {
      kind: 'postgresql',
      prisma,
      adapterFactory,
      lock: null,
      changes,
      ping: async () => { await pool.query('SELECT 1') },
      analyze: async () => {},
      close: async () => {
        await changes.close()
        await prisma.$disconnect()
        await pool.end()
      }
    }
  }
  const dataDir = options.dataDir ?? './data'
  const inMemory = dataDir.includes('://')
  if (!inMemory) await mkdir(dataDir, { recursive: true })
  const lock = inMemory ? null : await lockDataDir(dataDir, options.role ?? 'server', { waitMs: options.lockWaitMs })
  let client: PGlite
  try {
    if (!inMemory && !holdsDatabase(dataDir)) await createDataDir(dataDir)
    client = new PGlite(dataDir, { startParams: embeddedStartParams, loadDataDir: inMemory ? options.snapshot : undefined })
    await client.waitReady
  } catch (error) {
    lock?.release()
    throw error instanceof Error ? error : new Error(describeFailure(error))
  }
  const adapterFactory = new ScriptAwaitingPGlite(client)
  const prisma = new PrismaClient({ adapter: adapterFactory, errorFormat })
  const changes = new PGliteFeed(client)
  const statistics = keepStatistics(client, changes, options.statistics)
  return {
    kind: 'pglite',
    prisma,
    adapterFactory,
    lock: lock?.holder ?? null,
    changes,
    ping: async () => { await client.query('SELECT 1') },
    analyze: statistics.analyze,
    dumpSnapshot: async () => await client.dumpDataDir('none'),
    close: async () => {
      try {
        statistics.stop()
        await changes.close()
        await prisma.$disconnect()
        await client.close()
      } finally {
        lock?.release()
      }
    }
  }
}

interface StatisticsOptions {
  /** Announced changes to a table (one per committing transaction) before it is analyzed again. */
  changesBetween?: number
  /** The least time between two analyses of one table. */
  minIntervalMs?: number
}

/**
 * PGlite runs no autovacuum, so nothing would ever gather the query planner's
 * statistics, and without them PostgreSQL guesses: an anonymous page of 100 out of
 * 100,000 services took 9 s instead of 30 ms. This does what autovacuum would:
 * `analyze()` of every table at start (src/db/migrate.ts), then of each table again
 * once `changesBetween` of its committed changes have been announced, at most once
 * per `minIntervalMs`. Per table, as autovacuum does: the whole database took about
 * 130 ms of the server's one thread with the bench's data (10,000 services), the
 * job table alone about a millisecond, and jobs are what changes most.
 */
function keepStatistics (pglite: PGlite, changes: ChangeFeed, { changesBetween = 200, minIntervalMs = 60_000 }: StatisticsOptions = {}):
{ analyze: () => Promise<void>, stop: () => void } {
  /** Per table, changes announced since its last analysis, and when that was; `everyTable` for a notice that named none. */
  const pending = new Map<string, number>()
  const analyzed = new Map<string, number>()
  let running: Promise<void> = Promise.resolve()
  const analyzeNow = async (table: string): Promise<void> => {
    const turn = running.then(async () => {
      // The whole database's analysis stands for every table's.
      if (table === everyTable) pending.clear()
      pending.set(table, 0)
      analyzed.set(table, Date.now())
      await pglite.exec(table === everyTable ? 'ANALYZE' : `ANALYZE "${table}"`)
    })
    // A failed analysis (a table dropped meanwhile) only leaves the planner its older statistics.
    running = turn.catch(() => {})
    await running
  }
  const stop = changes.subscribe({
    changed: (change) => {
      if (change.kind !== 'data') return
      const table = change.table === undefined ? everyTable : change.table
      if (table !== everyTable && !/^[a-z_][a-z0-9_]*$/.test(table)) return
      const count = (pending.get(table) ?? 0) + 1
      pending.set(table, count)
      const last = Math.max(analyzed.get(table) ?? 0, analyzed.get(everyTable) ?? 0)
      if (count < changesBetween || Date.now() - last < minIntervalMs) return
      pending.set(table, -Infinity)
      // After the write that crossed the line has been answered.
      setImmediate(() => { void analyzeNow(table) })
    },
    deaf: () => {},
    hearing: () => {}
  })
  return { analyze: async () => { await analyzeNow(everyTable) }, stop }
}

const everyTable = '*'

/**
 * pglite-prisma-adapter 0.7 starts `executeScript` without awaiting it, so a
 * failing migration script looks applied to the schema engine (and the error
 * surfaces later as an unhandled rejection). This factory hands out adapters whose
 * `executeScript` waits for the script and reports its failure, and whose
 * statements reach PGlite in one call each (src/db/pglite-one-trip.ts).
 */
class ScriptAwaitingPGlite extends PrismaPGlite {
  constructor (private readonly pglite: PGlite) {
    super(oneTripClient(pglite))
  }

  override async connect (): Promise<SqlDriverAdapter> {
    return runScriptsWith(await super.connect(), (script) => this.pglite.exec(script))
  }
}

/**
 * @prisma/adapter-pg 7 splits a migration script on every `;` and runs the pieces
 * one by one, so a failing migration leaves its first statements applied (and
 * breaks on a `;` inside a string). This factory sends the whole script as one
 * simple-protocol query, which PostgreSQL runs as a single implicit transaction.
 */
class AtomicScriptPg extends PrismaPg {
  constructor (private readonly pool: pg.Pool) {
    super(pool)
  }

  override async connect (): Promise<Awaited<ReturnType<PrismaPg['connect']>>> {
    return runScriptsWith(await super.connect(), (script) => this.pool.query(script))
  }
}

/**
 * Replaces the adapter's `executeScript` with `run`, keeping the adapter's own
 * translation of database errors (its `onError`) so the schema engine reads them.
 */
function runScriptsWith<T extends SqlDriverAdapter> (adapter: T, run: (script: string) => Promise<unknown>): T {
  const translate = (adapter as unknown as { onError: (error: unknown) => never }).onError.bind(adapter)
  adapter.executeScript = async (script: string) => {
    try {
      await run(script)
    } catch (error) {
      translate(error)
    }
  }
  return adapter
}
