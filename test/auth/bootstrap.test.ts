/** The first administrator, created at start-up only while nobody can administer the server. */
import t from 'tap'
import { bootstrapAdmin } from '../../src/auth/bootstrap.ts'
import { openDomain, systemActor } from '../../src/domain/index.ts'
import { apiKeyDigest } from '../../src/domain/secrets.ts'
import { databaseKinds, freshDatabase } from '../helper.ts'

for (const kind of databaseKinds) {
  t.test(kind, async (t) => {
    const db = await freshDatabase(t, kind)
    const { domain, logins } = openDomain(db)

    t.equal(await domain.users.hasActiveAdmin(), false, 'an empty database has no administrator')
    t.equal(await bootstrapAdmin(domain, {}), null, 'nothing configured, nothing created')
    t.equal(await bootstrapAdmin(domain, { username: 'root', password: 'first-password', apiKey: 'm2_bootstrap-key-of-the-operator' }), 'root')
    t.equal(await domain.users.hasActiveAdmin(), true)
    t.match(await logins.byApiKeyDigest(apiKeyDigest('m2_bootstrap-key-of-the-operator')),
      { user: { username: 'root', isAdmin: true } }, 'the configured key is registered for it')
    t.equal(await bootstrapAdmin(domain, { username: 'second', password: 'second-password' }), null, 'not while an administrator is active')

    // A state the domain never produces (it keeps the last administrator active), reached behind its back.
    await db.prisma.user.update({ where: { username: 'root' }, data: { status: 'suspended' } })
    await db.changes.caughtUp()
    t.equal(await domain.users.hasActiveAdmin(), false, 'a suspended administrator administers nothing')
    t.equal(await bootstrapAdmin(domain, { username: 'root', password: 'first-password' }), null,
      'the configured name is taken by a user that is no active administrator: nothing is created, nothing thrown')
    t.equal(await bootstrapAdmin(domain, { username: 'rescuer', password: 'rescue-password' }), 'rescuer')
    t.match(await domain.users.get(systemActor, 'rescuer'), { is_admin: true, status: 'active' })
  })
}
