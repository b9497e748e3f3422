/**
 * Test fixtures: a fresh, migrated database per call (in-memory PGlite, or a new
 * database on the PostgreSQL server named by TEST_DATABASE_URL), and the app built
 * on it exactly as src/main.ts builds it.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { buildApp, type App } from '../src/app.ts'
import { loadConfig, type Config } from '../src/config.ts'
import { openDatabase, type Database } from '../src/db/client.ts'
import { applyMigrations } from '../src/db/migrate.ts'
import type { Domain } from '../src/domain/index.ts'

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
 * The URL of a new, empty database on the PostgreSQL server named by
 * TEST_DATABASE_URL, dropped (with its connections) when the test ends.
 */
export async function emptyPostgresDatabase (t: Teardown): Promise<string> {
  const serverUrl = process.env.TEST_DATABASE_URL
  if (serverUrl === undefined) throw new Error('TEST_DATABASE_URL is not set')
  const name = `mobyle2_test_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: serverUrl })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  t.teardown(async () => {
    const dropper = new pg.Client({ connectionString: serverUrl })
    await dropper.connect()
    await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await dropper.end()
  })
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return url.toString()
}

/** Opens an empty, migrated database of the given kind, dropped when the test ends. */
export async function freshDatabase (t: Teardown, kind: 'pglite' | 'postgresql' = 'pglite'): Promise<Database> {
  // Teardowns run last-registered first: the pool closes before its database is dropped.
  const db = kind === 'postgresql'
    ? await openDatabase({ url: await emptyPostgresDatabase(t), poolSize: 5 })
    : await openDatabase({ dataDir: 'memory://' })
  t.teardown(() => db.close())
  await applyMigrations(db)
  return db
}

export function testConfig (overrides: Record<string, string> = {}): Config {
  // A sync in a test contacts this machine only, never the seeded worlds' example servers.
  return loadConfig({ LOG_LEVEL: 'silent', CREDENTIAL_CACHE_SECONDS: '60', PEER_ALLOWLIST: '127.0.0.1', ...overrides })
}

export interface TestContext {
  db: Database
  domain: Domain
  app: App
}

/** A ready app on a fresh database; `inject` it, or `listen` for real clients. */
export async function build (t: Teardown, options: { kind?: 'pglite' | 'postgresql', env?: Record<string, string> } = {}): Promise<TestContext> {
  const db = await freshDatabase(t, options.kind)
  const app = await buildApp({ config: testConfig(options.env), db })
  await app.ready()
  t.teardown(() => app.close())
  return { db, domain: app.domain, app }
}
