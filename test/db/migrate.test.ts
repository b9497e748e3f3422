import t from 'tap'
import { cp, mkdir, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { openDatabase } from '../../src/db/client.ts'
import { applyMigrations, pendingMigrations, prepareDatabase } from '../../src/db/migrate.ts'
import { migrationsDir } from '../../src/db/schema-engine.ts'
import { databaseKinds, freshDatabase, pgliteSnapshot, tempDir } from '../helper.ts'

for (const kind of databaseKinds) {
  t.test(`${kind}: migrations are applied once and recorded by Prisma's engine`, async (t) => {
    const db = await freshDatabase(t, kind)
    t.same(await pendingMigrations(db), [])
    t.same(await applyMigrations(db), [], 'a second run applies nothing')
    const rows = await db.prisma.$queryRawUnsafe<Array<{ migration_name: string, finished_at: Date | null }>>(
      'SELECT migration_name, finished_at FROM "_prisma_migrations"'
    )
    t.ok(rows.length >= 1)
    t.ok(rows.every((row) => row.finished_at !== null))
  })

  t.test(`${kind}: a failing migration leaves the database as it was`, async (t) => {
    const db = await freshDatabase(t, kind)
    const dir = await tempDir(t, 'migrations-')
    await cp(migrationsDir, dir, { recursive: true })
    await mkdir(join(dir, '29990101000000_broken'))
    await writeFile(join(dir, '29990101000000_broken', 'migration.sql'),
      'CREATE TABLE "half_done" (id INT);\nALTER TABLE "no_such_table" ADD COLUMN x INT;\n')
    const dirUrl = pathToFileURL(dir + '/')
    await t.rejects(applyMigrations(db, dirUrl), { name: 'MigrationError' })
    const table = await db.prisma.$queryRawUnsafe<Array<{ name: string | null }>>("SELECT to_regclass('half_done')::text AS name")
    t.equal(table[0]?.name, null, 'the first statement of the failed migration was rolled back')
    t.same(await pendingMigrations(db, dirUrl), ['29990101000000_broken'], 'the failed attempt is not recorded')
    await t.rejects(applyMigrations(db, dirUrl), { name: 'MigrationError' }, 'the next run tries again and fails the same way')
  })
}

t.test('the embedded database keeps its data across restarts', async (t) => {
  const dataDir = await tempDir(t, 'pglite-')
  const first = await openDatabase({ dataDir })
  t.ok((await applyMigrations(first)).length >= 1, 'first start creates the schema')
  await first.prisma.server.create({ data: { name: 'kept', url: 'http://kept.example' } })
  await first.close()
  const second = await openDatabase({ dataDir })
  t.teardown(() => second.close())
  t.same(await applyMigrations(second), [], 'second start applies nothing')
  t.equal((await second.prisma.server.findUnique({ where: { name: 'kept' } }))?.url, 'http://kept.example')
})

t.test('keys issued before hints were shortened keep only the short hint', async (t) => {
  const db = await openDatabase({ dataDir: 'memory://' })
  t.teardown(() => db.close())
  const before = await tempDir(t, 'migrations-')
  await cp(join(migrationsDir.pathname, '20261123083306_init'), join(before, '20261123083306_init'), { recursive: true })
  await applyMigrations(db, pathToFileURL(before + '/'))
  // Raw: the client knows the columns of the latest migration, not of the first.
  const [user] = await db.prisma.$queryRaw<Array<{ id: number }>>`INSERT INTO "user" (username, updated_at) VALUES ('old', now()) RETURNING id`
  await db.prisma.apiKey.createMany({
    data: [
      { userId: user!.id, digest: 'a'.repeat(64), hint: 'm2_abcdefg' },
      { userId: user!.id, digest: 'b'.repeat(64), hint: 'supplied' }
    ]
  })
  t.same((await applyMigrations(db))[0], '20261123140000_shorten_api_key_hints')
  const hints = (await db.prisma.apiKey.findMany({ orderBy: { id: 'asc' } })).map((key) => key.hint)
  t.same(hints, ['m2_abcd', 'su'])
})

t.test('the embedded database gathers the planner statistics autovacuum would', async (t) => {
  const db = await openDatabase({ dataDir: 'memory://', snapshot: await pgliteSnapshot() })
  t.teardown(() => db.close())
  await db.prisma.$executeRaw`INSERT INTO server (name, url, updated_at) SELECT 's' || n, 'http://s', now() FROM generate_series(1, 300) n`
  const estimate = async (): Promise<number> =>
    Number((await db.prisma.$queryRaw<Array<{ n: number }>>`SELECT reltuples::int AS n FROM pg_class WHERE relname = 'server'`)[0]!.n)
  t.equal(await estimate(), -1, 'PGlite by itself never analyzes a table')
  await prepareDatabase(db, { migrate: false })
  t.equal(await estimate(), 300, 'analyzed when the server starts')
})

t.test('the embedded database analyzes a table again once it has changed enough, and only that table', async (t) => {
  const db = await openDatabase({ dataDir: 'memory://', snapshot: await pgliteSnapshot(), statistics: { changesBetween: 3, minIntervalMs: 0 } })
  t.teardown(() => db.close())
  const estimate = async (table: string): Promise<number> =>
    Number((await db.prisma.$queryRaw<Array<{ n: number }>>`SELECT reltuples::int AS n FROM pg_class WHERE relname = ${table}`)[0]!.n)
  const addServers = async (from: number): Promise<void> => {
    await db.prisma.$executeRaw`INSERT INTO server (name, url, updated_at) SELECT 's' || n, 'http://s', now() FROM generate_series(${from}::int, ${from + 99}::int) n`
  }
  await addServers(1)
  await addServers(101)
  // An analysis is asked for in the turn after the change that crossed the line, and the
  // embedded database answers in order: a question asked after that turn comes after it.
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(await estimate('server'), -1, 'two changes: not yet')
  await addServers(201)
  const deadline = Date.now() + 10_000
  while (await estimate('server') === -1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(await estimate('server'), 300, 'the third change: analyzed')
  t.equal(await estimate('user'), -1, 'a table that did not change is left alone')
})

t.test('usernames and group names that differ only by case stop their migrations, named, and are one name after them', async (t) => {
  const db = await openDatabase({ dataDir: 'memory://' })
  t.teardown(() => db.close())
  const before = await tempDir(t, 'migrations-')
  for (const name of (await readdir(migrationsDir)).filter((name) => name < '20261206130000')) {
    await cp(join(migrationsDir.pathname, name), join(before, name), { recursive: true })
  }
  await applyMigrations(db, pathToFileURL(before + '/'))
  await db.prisma.$executeRaw`INSERT INTO "user" (username, updated_at) VALUES ('bob', now()), ('Bob', now()), ('BOB', now()), ('alice', now())`
  await db.prisma.$executeRaw`INSERT INTO "group" (name, updated_at) VALUES ('lab', now()), ('Lab', now()), ('team', now())`
  const pending = await pendingMigrations(db)
  t.same(pending.slice(0, 2), ['20261206130000_usernames_ignore_case', '20261206140000_group_names_ignore_case'])
  await t.rejects(applyMigrations(db), { name: 'MigrationError', message: /usernames that differ only by case.*bob, Bob, BOB/ }, 'the clashing usernames are listed')
  t.same(await pendingMigrations(db), pending, 'nothing of it was applied')
  await db.prisma.$executeRaw`DELETE FROM "user" WHERE username IN ('Bob', 'BOB')`
  await t.rejects(applyMigrations(db), { name: 'MigrationError', message: /group names that differ only by case.*lab, Lab/ }, 'then the clashing group names')
  await db.prisma.$executeRaw`UPDATE "group" SET name = 'lab2' WHERE name = 'Lab'`
  t.same(await applyMigrations(db), pending.slice(1), 'applied once they are renamed')
  t.same((await db.prisma.user.findMany({ orderBy: { id: 'asc' }, select: { usernameKey: true } })).map((u) => u.usernameKey), ['bob', 'alice'])
  t.same((await db.prisma.group.findMany({ orderBy: { id: 'asc' }, select: { nameKey: true } })).map((g) => g.nameKey), ['lab', 'lab2', 'team'])
})
