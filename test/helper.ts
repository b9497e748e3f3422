/**
 * Test fixtures: a fresh, migrated database per call (in-memory PGlite, or a new
 * database on the PostgreSQL server named by TEST_DATABASE_URL), and the app built
 * on it exactly as src/main.ts builds it.
 */
import { createHash, randomBytes } from 'node:crypto'
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { buildApp, type App } from '../src/app.ts'
import { loadConfig, type Config } from '../src/config.ts'
import { openDatabase, type Database } from '../src/db/client.ts'
import { applyMigrations } from '../src/db/migrate.ts'
import type { DataStorage } from '../src/domain/blobs.ts'
import type { Domain } from '../src/domain/index.ts'
import type { RunSpec } from '../src/jobs/executor.ts'
import { FileBlobStore } from '../src/storage/file-store.ts'
import { FileUploadStore } from '../src/storage/upload-store.ts'

interface Teardown { teardown: (fn: () => unknown) => void }

export const databaseKinds: Array<'pglite' | 'postgresql'> =
  process.env.TEST_DATABASE_URL === undefined || process.env.TEST_DATABASE_URL === '' ? ['pglite'] : ['pglite', 'postgresql']

/** A new directory under the system's temporary directory, removed with its contents when the test ends. */
export async function tempDir (t: Teardown, prefix = 'mobyle2-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true, maxRetries: 5 }) })
  return dir
}

/**
 * The URL of a new database on the PostgreSQL server named by TEST_DATABASE_URL,
 * empty or a copy of `template`, dropped (with its connections) when the test ends.
 */
export async function postgresDatabase (t: Teardown, template?: string): Promise<string> {
  const serverUrl = process.env.TEST_DATABASE_URL
  if (serverUrl === undefined) throw new Error('TEST_DATABASE_URL is not set')
  const name = `mobyle2_test_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: serverUrl })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}${template === undefined ? '' : ` TEMPLATE ${template}`}`)
  await admin.end()
  t.teardown(async () => {
    const dropper = new pg.Client({ connectionString: serverUrl })
    await dropper.connect()
    // A pool's end() resolves before its connections' backends have read their goodbye; FORCE
    // would then end them under a client still closing, which throws in the test. Only a
    // connection a test left open is still there after a few seconds.
    for (let i = 0; i < 50; i++) {
      const { rows } = await dropper.query<{ open: number }>('SELECT count(*)::int AS open FROM pg_stat_activity WHERE datname = $1', [name])
      if (rows[0]!.open === 0) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await dropper.end()
  })
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return url.toString()
}

/**
 * What the migrated database depends on: the migrations and the PGlite that ran
 * them. A copy made from other migrations is never used.
 */
const migratedFingerprint = (async () => {
  const hash = createHash('sha256')
  // How the copies are made, too: a copy made another way (with the template databases) is not used.
  hash.update('without template databases')
  hash.update(JSON.parse(await readFile(new URL('../node_modules/@electric-sql/pglite/package.json', import.meta.url), 'utf8')).version)
  const dir = new URL('../prisma/migrations/', import.meta.url)
  for (const entry of (await readdir(dir, { recursive: true })).sort()) {
    if (entry.endsWith('.sql')) hash.update(entry).update(await readFile(new URL(entry, dir)))
  }
  return hash.digest('hex').slice(0, 16)
})()

/**
 * A migrated embedded database as a tarball, made once and kept in the system's
 * temporary directory for every test process: initdb and the migrations cost
 * about 1.5 s per database, a copy a tenth of that.
 */
let migratedSnapshot: Promise<Blob> | undefined
export async function pgliteSnapshot (): Promise<Blob> {
  migratedSnapshot ??= (async () => {
    const file = join(tmpdir(), `mobyle2-test-database-${await migratedFingerprint}.tar`)
    try {
      return new Blob([await readFile(file)])
    } catch { /* not made yet: made below */ }
    const db = await openDatabase({ dataDir: 'memory://' })
    let snapshot: Blob
    try {
      await applyMigrations(db)
      // PGlite opens only `postgres`: without the two template databases nobody uses (a third of the
      // tarball: 26 MB instead of 40), a fresh database costs about a quarter less CPU to open.
      await db.prisma.$executeRawUnsafe("UPDATE pg_database SET datistemplate = false WHERE datname IN ('template0', 'template1')")
      await db.prisma.$executeRawUnsafe('DROP DATABASE template0')
      await db.prisma.$executeRawUnsafe('DROP DATABASE template1')
      await db.prisma.$executeRawUnsafe('CHECKPOINT')
      snapshot = await db.dumpSnapshot!()
    } finally {
      await db.close()
    }
    // Another test process may be writing the same file: each renames its own complete copy.
    const partial = `${file}.${process.pid}`
    await writeFile(partial, new Uint8Array(await snapshot.arrayBuffer()))
    await rename(partial, file)
    return snapshot
  })()
  return await migratedSnapshot
}

/**
 * A DATA_DIR holding a migrated embedded database, for a server process whose
 * test is not about creating one: a copy of a directory made once per migrations
 * in the system's temporary directory (initdb and the migrations take a new
 * server several seconds on this machine; the copy a fraction of one).
 */
let migratedDirectory: Promise<string> | undefined
export async function migratedDataDir (t: Teardown): Promise<string> {
  migratedDirectory ??= (async () => {
    const dir = join(tmpdir(), `mobyle2-test-data-dir-${await migratedFingerprint}`)
    try {
      await readFile(join(dir, 'PG_VERSION'))
      return dir
    } catch { /* not made yet: made below */ }
    const building = await mkdtemp(`${dir}-building-`)
    const db = await openDatabase({ dataDir: building, role: 'cli' })
    try {
      await applyMigrations(db)
    } finally {
      await db.close()
    }
    // Another test process may have finished the same directory meanwhile: either copy will do.
    await rename(building, dir).catch(async () => { await rm(building, { recursive: true, force: true }) })
    return dir
  })()
  const copy = await tempDir(t, 'mobyle2-data-')
  await cp(await migratedDirectory, copy, { recursive: true })
  return copy
}

/**
 * A migrated database on the PostgreSQL server, the template of every fresh one
 * (CREATE DATABASE … TEMPLATE copies it in a few milliseconds). Made once per
 * migrations; concurrent test processes take turns through an advisory lock.
 */
let migratedTemplate: Promise<string> | undefined
export async function postgresTemplate (serverUrl: string): Promise<string> {
  migratedTemplate ??= (async () => {
    const name = `mobyle2_test_template_${await migratedFingerprint}`
    const admin = new pg.Client({ connectionString: serverUrl })
    await admin.connect()
    try {
      await admin.query('SELECT pg_advisory_lock(2026120601)')
      const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])
      if (found.rowCount === 0) {
        const building = `${name}_building`
        await admin.query(`DROP DATABASE IF EXISTS ${building} WITH (FORCE)`)
        await admin.query(`CREATE DATABASE ${building}`)
        const url = new URL(serverUrl)
        url.pathname = `/${building}`
        const db = await openDatabase({ url: url.toString(), poolSize: 1 })
        try {
          await applyMigrations(db)
        } finally {
          await db.close()
        }
        // Renamed only when complete: a run interrupted while migrating leaves no template behind.
        await admin.query(`ALTER DATABASE ${building} RENAME TO ${name}`)
      }
    } finally {
      await admin.end()
    }
    return name
  })()
  return await migratedTemplate
}

/** Opens an empty, migrated database of the given kind, dropped when the test ends. */
export async function freshDatabase (t: Teardown, kind: 'pglite' | 'postgresql' = 'pglite'): Promise<Database> {
  // Teardowns run last-registered first: the pool closes before its database is dropped.
  const db = kind === 'postgresql'
    ? await openDatabase({ url: await postgresDatabase(t, await postgresTemplate(process.env.TEST_DATABASE_URL!)), poolSize: 5 })
    : await openDatabase({ dataDir: 'memory://', snapshot: await pgliteSnapshot() })
  t.teardown(() => db.close())
  return db
}

export function testConfig (overrides: Record<string, string> = {}): Config {
  // A sync in a test contacts this machine only, never the seeded worlds' example servers.
  // Jobs run only where a test asks for them (JOB_CONCURRENCY): the seeded world's job would otherwise run beside every test.
  return loadConfig({ LOG_LEVEL: 'silent', CREDENTIAL_CACHE_SECONDS: '60', PEER_ALLOWLIST: '127.0.0.1', JOB_CONCURRENCY: '0', ...overrides })
}

/** A blob store in a directory of the test's own, with the configuration's default limits. */
export async function testStorage (t: Teardown, overrides: Partial<DataStorage> = {}): Promise<DataStorage> {
  const config = testConfig()
  const root = await tempDir(t, 'mobyle2-storage-')
  return {
    store: new FileBlobStore(root, { staleAfterMs: 60_000 }),
    uploads: new FileUploadStore(root, { expirySeconds: config.UPLOAD_EXPIRY_SECONDS }),
    maxBytes: config.DATA_MAX_BYTES,
    quotaBytes: config.DATA_PROJECT_QUOTA_BYTES,
    onReclaimError: (error) => { throw error },
    ...overrides
  }
}

export interface TestContext {
  db: Database
  domain: Domain
  app: App
}

/** A ready app on a fresh database; `inject` it, or `listen` for real clients. */
export async function build (t: Teardown, options: { kind?: 'pglite' | 'postgresql', env?: Record<string, string> } = {}): Promise<TestContext> {
  const db = await freshDatabase(t, options.kind)
  // Data content goes to a directory of the test's own, not to ./data.
  const app = await buildApp({ config: testConfig({ STORAGE_DIR: await tempDir(t, 'mobyle2-storage-'), ...options.env }), db })
  await app.ready()
  t.teardown(() => app.close())
  return { db, domain: app.domain, app }
}

/** A port nothing listens on now; another process may take it before the caller listens, so callers try again. */
export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** What `probe` answers once it answers something (polled every 50 ms, for a state another process reaches), or an error naming `what` after `seconds`. */
export async function until<T> (what: string, probe: () => Promise<T | undefined>, seconds = 30): Promise<T> {
  const deadline = performance.now() + seconds * 1000
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (performance.now() > deadline) throw new Error(`waited ${seconds} s for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Waits until process `pid` (a group, when negative) is gone: an error naming `what` after `seconds`. */
export async function gone (what: string, pid: number, seconds = 10): Promise<void> {
  await until(what, async () => {
    try {
      process.kill(pid, 0)
      return undefined
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ESRCH' ? true : undefined
    }
  }, seconds)
}

/** A job's directory of the test's own (work/, tmp/, and the two logs beside them), and the spec of a run of `argv` there. */
export async function runSpec (t: Teardown, argv: string[], overrides: Partial<RunSpec> = {}): Promise<RunSpec> {
  const dir = await tempDir(t, 'mobyle2-job-')
  await mkdir(join(dir, 'work'))
  await mkdir(join(dir, 'tmp'))
  return {
    jobId: 1, attempt: 1, argv, workDir: join(dir, 'work'), tmpDir: join(dir, 'tmp'),
    stdoutPath: join(dir, 'stdout'), stderrPath: join(dir, 'stderr'),
    env: {}, timeoutSeconds: 60, maxOutputBytes: 1 << 20, ...overrides
  }
}
