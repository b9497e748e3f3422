/**
 * src/db/pglite-one-trip.ts: the embedded database's statements, sent in one call
 * each with their parameters untyped, answer as the PostgreSQL server's do through
 * node-postgres: every kind of value, errors, transactions and notifications.
 */
import t from 'tap'
import { Prisma } from '../../src/generated/prisma/client.ts'
import { databaseKinds, freshDatabase } from '../helper.ts'

for (const kind of databaseKinds) {
  t.test(`${kind}: every kind of parameter reaches the database as written, and comes back`, async (t) => {
    const { prisma } = await freshDatabase(t, kind)
    const awkward = ['plain', 'with "quotes"', 'back\\slash', 'comma, and {braces}', '', 'NULL', 'é ✓']
    const [row] = await prisma.$queryRaw<Array<Record<string, unknown>>>`
      SELECT ${'text'}::text AS text, ${42}::int AS int, ${2 ** 40}::bigint AS big, ${1.5}::float8 AS float,
        ${true}::boolean AS yes, ${false}::boolean AS no, ${null}::text AS nothing,
        ${awkward}::text[] AS texts, ${[1, 2, 3]}::int[] AS ints,
        ${JSON.stringify({ a: [1, 'two'], b: null })}::jsonb AS json,
        ${Buffer.from([0, 1, 254, 255])}::bytea AS bytes, ${new Date('2026-12-07T01:02:03.456Z')}::timestamp AS at,
        ${'x'} || 'y' AS inferred`
    t.same(row, {
      text: 'text',
      int: 42,
      big: BigInt(2 ** 40),
      float: 1.5,
      yes: true,
      no: false,
      nothing: null,
      texts: awkward,
      ints: [1, 2, 3],
      json: { a: [1, 'two'], b: null },
      bytes: new Uint8Array([0, 1, 254, 255]),
      at: new Date('2026-12-07T01:02:03.456Z'),
      inferred: 'xy'
    })
  })

  t.test(`${kind}: a statement the database refuses is Prisma's error, and the next one runs`, async (t) => {
    const { prisma } = await freshDatabase(t, kind)
    await prisma.server.create({ data: { name: 'twice', url: 'https://twice.example.org' } })
    await t.rejects(prisma.server.create({ data: { name: 'twice', url: 'https://twice.example.org' } }), { code: 'P2002' }, 'a unique violation')
    await t.rejects(prisma.$queryRaw`SELECT ${'not a number'}::int`, /invalid input syntax for type integer/)
    t.same(await prisma.$queryRaw`SELECT count(*)::int AS servers FROM "server" WHERE name = ${'twice'}`, [{ servers: 1 }])
  })

  t.test(`${kind}: a transaction's statements are one, kept or undone together`, async (t) => {
    const { prisma } = await freshDatabase(t, kind)
    await t.rejects(prisma.$transaction(async (tx) => {
      await tx.server.create({ data: { name: 'undone', url: 'https://undone.example.org' } })
      t.equal(await tx.server.count({ where: { name: 'undone' } }), 1, 'seen inside it')
      throw new Error('changed my mind')
    }), /changed my mind/)
    t.equal(await prisma.server.count({ where: { name: 'undone' } }), 0, 'undone')
    await prisma.$transaction([
      prisma.server.create({ data: { name: 'kept', url: 'https://kept.example.org' } }),
      prisma.$executeRaw(Prisma.sql`UPDATE "server" SET description = ${'both'} WHERE name = ${'kept'}`)
    ])
    t.match(await prisma.server.findUnique({ where: { name: 'kept' } }), { description: 'both' }, 'kept')
  })

  t.test(`${kind}: a write's change notice is heard`, async (t) => {
    const db = await freshDatabase(t, kind)
    const heard: string[] = []
    db.changes.subscribe({ changed: (change) => { if (change.kind === 'data' && change.table !== undefined) heard.push(change.table) }, deaf: () => {}, hearing: () => {} })
    // PostgreSQL's listening connection opens once someone listens.
    for (let i = 0; i < 250 && !db.changes.hearing; i++) await new Promise((resolve) => setTimeout(resolve, 20))
    await db.prisma.$executeRaw`INSERT INTO "server" (name, url, updated_at) VALUES (${'noticed'}, ${'https://noticed.example.org'}, now())`
    for (let i = 0; i < 100 && !heard.includes('server'); i++) await new Promise((resolve) => setTimeout(resolve, 20))
    t.ok(heard.includes('server'), 'the server table changed')
  })
}
