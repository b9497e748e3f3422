/**
 * Applies pending migrations from prisma/migrations with Prisma's schema engine,
 * recording them in `_prisma_migrations` as `prisma migrate deploy` does.
 */
import { migrationsDir, noFilters, openSchemaEngine, readMigrations } from './schema-engine.ts'
import type { Database } from './client.ts'

export class MigrationError extends Error {
  override name = 'MigrationError'
}

/**
 * Applies what is pending and returns the names applied. Each migration's script
 * runs as one statement batch, which PostgreSQL executes atomically; when one
 * fails, the engine's record of the attempt is removed too, so the database is
 * left exactly as it was and the next start tries again.
 */
export async function applyMigrations (db: Database, dir: URL = migrationsDir): Promise<string[]> {
  const migrationsList = await readMigrations(dir)
  const engine = await openSchemaEngine(db.adapterFactory, undefined)
  try {
    const { appliedMigrationNames } = await engine.applyMigrations({ migrationsList, filters: noFilters })
    return appliedMigrationNames
  } catch (error) {
    await forgetFailedAttempts(db)
    throw new MigrationError(`migration failed, database left unchanged: ${describe(error)}`)
  } finally {
    engine.free()
  }
}

async function forgetFailedAttempts (db: Database): Promise<void> {
  const table = await db.prisma.$queryRawUnsafe<Array<{ name: string | null }>>(
    "SELECT to_regclass('_prisma_migrations')::text AS name"
  )
  if (table[0]?.name == null) return
  await db.prisma.$executeRawUnsafe(
    'DELETE FROM "_prisma_migrations" WHERE finished_at IS NULL AND rolled_back_at IS NULL'
  )
}

function describe (error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  // The engine appends a Rust span trace; the first lines carry the reason.
  return message.split('\n').filter((line) => !/^\s+(\d+:|at )/.test(line)).join(' ').replace(/\s+/g, ' ').trim()
}

/** Names of the migrations in `dir` that the database has not applied yet. */
export async function pendingMigrations (db: Database, dir: URL = migrationsDir): Promise<string[]> {
  const { migrationDirectories } = await readMigrations(dir)
  const table = await db.prisma.$queryRawUnsafe<Array<{ name: string | null }>>(
    "SELECT to_regclass('_prisma_migrations')::text AS name"
  )
  if (table[0]?.name == null) return migrationDirectories.map((m) => m.path)
  const applied = await db.prisma.$queryRawUnsafe<Array<{ migration_name: string }>>(
    'SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL'
  )
  const done = new Set(applied.map((row) => row.migration_name))
  return migrationDirectories.map((m) => m.path).filter((name) => !done.has(name))
}

/**
 * Makes the database ready for the server: the embedded database is migrated on
 * the spot; a PostgreSQL server is migrated only when `migrate` is set (operators
 * usually run `npm run db:migrate`), and otherwise must have nothing pending.
 */
export async function prepareDatabase (db: Database, options: { migrate: boolean }): Promise<void> {
  // Reading the history is cheap; loading the schema engine is not.
  const pending = await pendingMigrations(db)
  if (pending.length > 0) {
    if (db.kind === 'pglite' || options.migrate) {
      await applyMigrations(db)
    } else {
      throw new MigrationError(`the database lacks migrations ${pending.join(', ')}: run \`npm run db:migrate\` (or set MIGRATE_ON_START=true)`)
    }
  }
  await db.analyze()
}
