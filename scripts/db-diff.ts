/**
 * Creates a migration from the difference between prisma/migrations and
 * prisma/schema.prisma, with Prisma's schema engine (on an in-memory PGlite
 * shadow database): `npm run db:diff -- <name>`.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { PGlite } from '@electric-sql/pglite'
import { PrismaPGlite } from 'pglite-prisma-adapter'
import { migrationsDir, noFilters, openSchemaEngine, readMigrations, schemaFile } from '../src/db/schema-engine.ts'

const name = process.argv[2]
if (name === undefined || !/^[a-z0-9_]+$/.test(name)) {
  process.stderr.write('usage: npm run db:diff -- <name>   (lower-case letters, digits and _)\n')
  process.exit(2)
}

const shadow = new PGlite('memory://')
const engine = await openSchemaEngine(new PrismaPGlite(shadow), undefined)
const result = await engine.diff({
  from: { tag: 'migrations', ...(await readMigrations()) },
  to: { tag: 'schemaDatamodel', files: [{ path: schemaFile.pathname, content: await readFile(schemaFile, 'utf8') }] },
  script: true,
  exitCode: null,
  filters: noFilters
})
engine.free()
await shadow.close()

const script = result.stdout ?? ''
if (script.trim() === '' || script.includes('This is an empty migration.')) {
  process.stdout.write('schema.prisma and prisma/migrations agree: no migration needed\n')
  process.exit(0)
}
const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14)
const dir = new URL(`${stamp}_${name}/`, migrationsDir)
await mkdir(dir, { recursive: true })
await writeFile(new URL('migration.sql', dir), script)
process.stdout.write(`created prisma/migrations/${stamp}_${name}/migration.sql\n`)
