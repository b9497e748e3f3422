/**
 * Test fixtures: a fresh, migrated database per call (in-memory PGlite, or a new
 * database on the PostgreSQL server named by TEST_DATABASE_URL), and the app built
 * on it exactly as src/main.ts builds it.
 */
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { buildApp, type App } from '../src/app.ts'
import { loadConfig, type Config } from '../src/config.ts'
import { openDatabase, type Database } from '../src/db/client.ts'
import { applyMigrations } from '../src/db/migrate.ts'
import { createDomain, type Domain } from '../src/domain/index.ts'

interface Teardown { teardown: (fn: () => unknown) => void }

export const databaseKinds: Array<'pglite' | 'postgresql'> =
  process.env.TEST_DATABASE_URL === undefined || process.env.TEST_DATABASE_URL === '' ? ['pglite'] : ['pglite', 'postgresql']

/** Opens an empty, migrated database of the given kind, dropped when the test ends. */
export async function freshDatabase (t: Teardown, kind: 'pglite' | 'postgresql' = 'pglite'): Promise<Database> {
  let db: Database
  if (kind === 'postgresql') {
    const serverUrl = process.env.TEST_DATABASE_URL
    if (serverUrl === undefined) throw new Error('TEST_DATABASE_URL is not set')
    const name = `mobyle2_test_${randomBytes(6).toString('hex')}`
    const admin = new pg.Client({ connectionString: serverUrl })
    await admin.connect()
    await admin.query(`CREATE DATABASE ${name}`)
    await admin.end()
    const url = new URL(serverUrl)
    url.pathname = `/${name}`
    db = await openDatabase({ url: url.toString(), poolSize: 5 })
    t.teardown(async () => {
      await db.close()
      const dropper = new pg.Client({ connectionString: serverUrl })
      await dropper.connect()
      await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await dropper.end()
    })
  } else {
    db = await openDatabase({ dataDir: 'memory://' })
    t.teardown(() => db.close())
  }
  await applyMigrations(db)
  return db
}

export function testConfig (overrides: Record<string, string> = {}): Config {
  return loadConfig({ LOG_LEVEL: 'silent', CREDENTIAL_CACHE_SECONDS: '60', ...overrides })
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
  return { db, domain: createDomain(db.prisma), app }
}
