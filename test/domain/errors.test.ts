import t from 'tap'
import { systemActor } from '../../src/domain/actor.ts'
import { openDomain } from '../../src/domain/index.ts'
import { databaseKinds, freshDatabase } from '../helper.ts'

async function failure (work: () => Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await work()
  } catch (error) {
    return error as Record<string, unknown>
  }
  throw new Error('expected the call to fail')
}

for (const kind of databaseKinds) {
  t.test(`${kind}: bad input gives typed errors and writes nothing`, async (t) => {
    const db = await freshDatabase(t, kind)
    const { domain, logins } = openDomain(db)
    const admin = systemActor
    await domain.servers.create(admin, { name: 'pasteur', url: 'https://mobyle.pasteur.fr' })
    const alice = await domain.users.create(admin, { username: 'alice', email: 'alice@example.org', password: 'pw' })

    t.test('duplicate keys are conflicts', async (t) => {
      t.match(await failure(() => domain.servers.create(admin, { name: 'pasteur', url: 'http://x.example' })),
        { code: 'conflict', message: 'server with key "pasteur" exists' })
      t.match(await failure(() => domain.users.create(admin, { username: 'alice' })), { code: 'conflict', field: 'username' })
      t.match(await failure(() => domain.users.create(admin, { username: 'alice2', email: 'alice@example.org' })),
        { code: 'conflict', field: 'email' })
      await domain.services.create(admin, { name: 'blast', server: 'pasteur', type: 'program' })
      t.match(await failure(() => domain.services.create(admin, { name: 'blast', server: 'pasteur', type: 'widget' })),
        { code: 'conflict', message: 'service with key "blast::pasteur" exists' },
        'server-level services are unique although their project is NULL')
      await domain.groups.create(admin, { name: 'lab' })
      t.match(await failure(() => domain.groups.create(admin, { name: 'lab' })), { code: 'conflict' })
      await domain.projects.create(admin, { name: 'p1', owner: alice.username })
      t.match(await failure(() => domain.projects.create(admin, { name: 'p1', owner: 'alice' })), { code: 'conflict' })
    })

    t.test('unknown ids and keys are not found', async (t) => {
      t.match(await failure(() => domain.servers.get(admin, 'nope')), { code: 'not_found', message: 'no such server nope' })
      t.match(await failure(() => domain.users.get(admin, 999)), { code: 'not_found', message: 'no such user 999' })
      t.match(await failure(() => domain.projects.get(admin, 999)), { code: 'not_found' })
      t.match(await failure(() => domain.groups.addMember(admin, 'lab', 'nobody')), { code: 'not_found' })
      t.match(await failure(() => domain.services.get(admin, 'blast::nowhere')), { code: 'not_found' })
      t.match(await failure(() => domain.services.get(admin, 'not a full name')), { code: 'invalid', fields: [{ field: 'fullName' }] })
    })

    t.test('invalid values name the field', async (t) => {
      t.match(await failure(() => domain.services.create(admin, { name: 'x', server: 'pasteur', type: 'robot' })),
        { code: 'invalid', fields: [{ field: 'type', message: 'must be one of program, workflow, widget' }] })
      t.match(await failure(() => domain.servers.create(admin, { name: 'a'.repeat(101), url: 'http://x.example' })),
        { code: 'invalid', fields: [{ field: 'name' }] })
      t.match(await failure(() => domain.servers.create(admin, { name: '../etc', url: 'http://x.example' })),
        { code: 'invalid', fields: [{ field: 'name' }] })
      t.match(await failure(() => domain.servers.create(admin, { name: 'ok', url: 'ftp://x' })),
        { code: 'invalid', fields: [{ field: 'url' }] })
      t.match(await failure(() => domain.servers.create(admin, { name: 'ok', url: 'http://x.example', colour: 'red' })),
        { code: 'invalid', fields: [{ field: 'colour', message: 'is not a known property' }] })
      t.match(await failure(() => domain.servers.create(admin, { url: 'http://x.example' })),
        { code: 'invalid', fields: [{ field: 'name', message: 'is required' }] })
      t.match(await failure(() => domain.users.create(admin, { username: 'bob', status: 'asleep' })),
        { code: 'invalid', fields: [{ field: 'status' }] })
      t.match(await failure(() => domain.servers.update(admin, 'pasteur', { active: 'yes' })),
        { code: 'invalid', fields: [{ field: 'active' }] })
      t.match(await failure(() => domain.projects.setMember(admin, 'p1', 'alice', 'king' as never)),
        { code: 'invalid', fields: [{ field: 'role' }] })
      t.match(await failure(() => domain.projects.setMember(admin, 'p1', 'alice', 'watcher')), { code: 'conflict' },
        'the owner cannot also be a member')
    })

    t.test('a refused write leaves nothing behind', async (t) => {
      const groups = await db.prisma.group.count()
      t.match(await failure(() => domain.groups.create(admin, { name: 'new', members: ['alice', 'ghost'] })),
        { code: 'invalid', fields: [{ field: 'members', message: 'no such user ghost' }] })
      t.equal(await db.prisma.group.count(), groups)
      const services = await db.prisma.service.count()
      t.match(await failure(() => domain.services.create(admin, { name: 'y', server: 'pasteur', project: 'ghost', type: 'program' })),
        { code: 'invalid', fields: [{ field: 'project' }] })
      t.equal(await db.prisma.service.count(), services)
      const before = await domain.servers.get(admin, 'pasteur')
      await failure(() => domain.servers.update(admin, 'pasteur', { description: 'changed', url: 'not a url' }))
      t.equal((await domain.servers.get(admin, 'pasteur')).description, before.description, 'no field of a failed update is written')
    })

    t.test('the last administrator stays', async (t) => {
      const boss = await domain.users.create(admin, { username: 'boss', is_admin: true })
      t.match(await failure(() => domain.users.update(admin, boss.id, { is_admin: false })), { code: 'conflict' })
      t.match(await failure(() => domain.users.delete(admin, boss.id)), { code: 'conflict' })
      t.match(await failure(() => domain.users.update(admin, boss.id, { status: 'suspended' })), { code: 'conflict' })
    })

    t.test('changing credentials bumps the credential version', async (t) => {
      const version = async () => (await logins.byUsername('alice'))?.credentialVersion
      const start = await version()
      await domain.users.update(admin, 'alice', { firstname: 'Alice' })
      t.equal(await version(), start, 'a name is no credential')
      await domain.users.update(admin, 'alice', { password: 'new one' })
      t.equal(await version(), start! + 1)
      const { key } = await domain.apiKeys.create(admin, 'alice', { label: 'k' })
      t.equal(await version(), start! + 2)
      await domain.apiKeys.revoke(admin, 'alice', key.id)
      t.equal(await version(), start! + 3)
    })

    t.test('retired items leave lists and lookups and come back when restored', async (t) => {
      await domain.servers.create(admin, { name: 'old', url: 'http://old.example' })
      await domain.servers.setRetired(admin, 'old', true)
      t.notOk((await domain.servers.list(admin)).items.some((s) => s.name === 'old'))
      t.match(await failure(() => domain.servers.get(admin, 'old')), { code: 'not_found' })
      t.equal((await domain.servers.get(admin, 'old', { includeRetired: true })).retired, true)
      await domain.servers.setRetired(admin, 'old', false)
      t.ok((await domain.servers.list(admin)).items.some((s) => s.name === 'old'))
    })
  })
}
