/**
 * Concurrent writers on one project, group or user (issue 10, part 4). Each race
 * must end as some serial order of the calls would: every answer is a success
 * (or, where a serial order gives one, a NotFound) or the retryable conflict —
 * never an internal error — and the state is that of one serial order.
 *
 * PostgreSQL runs the calls truly concurrently (one connection each); PGlite
 * interleaves them on its single connection.
 */
import t, { type Test } from 'tap'
import { systemActor, type Actor } from '../../src/domain/actor.ts'
import { Busy, isDomainError } from '../../src/domain/errors.ts'
import { transactionLimits } from '../../src/domain/transactions.ts'
import type { Domain } from '../../src/domain/index.ts'
import type { Database } from '../../src/db/client.ts'
import { build, databaseKinds } from '../helper.ts'
import { seed, seededDomain } from '../fixtures.ts'

if (!databaseKinds.includes('postgresql')) {
  t.comment('TEST_DATABASE_URL is not set: the races run on PGlite only (set it to run them on PostgreSQL, where they matter most)')
}

const writers = 24

type Settled<T> = { ok: true, value: T } | { ok: false, error: unknown }

async function race<T> (n: number, call: (i: number) => Promise<T>): Promise<Array<Settled<T>>> {
  return await Promise.all(Array.from({ length: n }, async (_, i) => {
    try {
      return { ok: true as const, value: await call(i) }
    } catch (error) {
      return { ok: false as const, error }
    }
  }))
}

/** Codes of the failures: a domain error's code, or `internal: <message>` for anything else. */
function failures<T> (outcomes: Array<Settled<T>>): string[] {
  return outcomes.filter((o) => !o.ok).map((o) => {
    const error = (o as { error: unknown }).error
    return isDomainError(error) ? error.code : `internal: ${String((error as Error).message).split('\n').slice(-1)[0]}`
  })
}

function successes<T> (outcomes: Array<Settled<T>>): T[] {
  return outcomes.filter((o): o is { ok: true, value: T } => o.ok).map((o) => o.value)
}

/** Every failure is the retryable conflict (or one of `allowed`). */
function onlyRetryable<T> (t: Test, outcomes: Array<Settled<T>>, allowed: string[] = []): void {
  const bad = failures(outcomes).filter((code) => code !== 'conflict' && !allowed.includes(code))
  t.same(bad, [], `every answer is a success or a retryable conflict${allowed.length > 0 ? ` (or ${allowed.join(', ')})` : ''}`)
  t.ok(successes(outcomes).length > 0, `some writers succeed (${successes(outcomes).length}/${outcomes.length})`)
}

async function manyUsers (domain: Domain, n: number, prefix = 'u'): Promise<number[]> {
  const ids: number[] = []
  for (let i = 0; i < n; i++) ids.push((await domain.users.create(systemActor, { username: `${prefix}${i}` })).id)
  return ids
}

function actorOf (user: { id: number, username: string }): Actor {
  return { kind: 'user', id: user.id, username: user.username, isAdmin: false, status: 'active', statusMessage: null }
}

async function credentialVersion (db: Database, userId: number): Promise<number> {
  return (await db.prisma.user.findUniqueOrThrow({ where: { id: userId }, select: { credentialVersion: true } })).credentialVersion
}

const sorted = (ids: number[]): number[] => [...ids].sort((a, b) => a - b)

for (const kind of databaseKinds) {
  t.test(`${kind}: concurrent writers on one parent serialize`, async (t) => {
    const { db, domain, ...s } = await seededDomain(t, kind)
    const ids = await manyUsers(domain, writers + 2)
    const triple = (i: number): number[] => [ids[i]!, ids[i + 1]!, ids[i + 2]!]

    await t.test('replacing the managers: one caller\'s set wins', async (t) => {
      const outcomes = await race(writers, async (i) => await domain.projects.update(s.actors.owner, s.projectId, { managers: triple(i) }))
      onlyRetryable(t, outcomes)
      const after = await domain.projects.get(systemActor, s.projectId)
      t.equal(after.managers.length, 3, `exactly three managers (got ${after.managers.length})`)
      t.ok(outcomes.some((o, i) => o.ok && after.managers.join() === sorted(triple(i)).join()),
        'the managers are the set of one caller that succeeded')
      const last = successes(outcomes).at(-1)
      t.ok(last !== undefined && last.item.managers.length === 3, 'each answer shows the roster its call left')
    })

    await t.test('replacing the managers and the watchers at once, from several roles', async (t) => {
      const outcomes = await race(writers, async (i) => await domain.projects.update(s.actors.owner, s.projectId,
        i % 2 === 0 ? { managers: [ids[i]!], watchers: [ids[i + 1]!] } : { watchers: [ids[i]!, ids[i + 1]!] }))
      onlyRetryable(t, outcomes)
      const after = await domain.projects.get(systemActor, s.projectId)
      t.ok(after.watchers.length <= 2 && after.watchers.length >= 1, `one or two watchers (got ${after.watchers.length})`)
      t.ok(after.managers.length === 1 || after.managers.length === 3, `one manager, or the three of the previous race (got ${after.managers.length})`)
    })

    await t.test('giving one user a role: exactly one caller saw no previous role', async (t) => {
      const user = { id: ids[writers + 1]!, username: `u${writers + 1}` }
      await domain.projects.setMember(s.actors.owner, s.projectId, user.id, null)
      const outcomes = await race(writers, async (i) =>
        await domain.projects.setMember(s.actors.owner, s.projectId, user.id, i % 2 === 0 ? 'contributor' : 'watcher'))
      onlyRetryable(t, outcomes)
      const previous = successes(outcomes).map((o) => o.previous)
      t.equal(previous.filter((p) => p === null).length, 1, `one caller added the user (previous: ${previous.join()})`)
      const removed = await race(writers, async () => await domain.projects.setMember(s.actors.owner, s.projectId, user.id, null))
      onlyRetryable(t, removed)
      t.equal(successes(removed).filter((o) => o.previous !== null).length, 1, 'one caller removed the user')
      t.notOk((await domain.projects.get(systemActor, s.projectId)).members.some((m) => m.id === user.id))
    })

    await t.test('granting one group a role: exactly one caller saw no previous grant', async (t) => {
      await domain.groups.create(systemActor, { name: 'racers' })
      const outcomes = await race(writers, async (i) =>
        await domain.projects.setGroupGrant(s.actors.owner, s.projectId, 'racers', i % 2 === 0 ? 'watcher' : 'manager'))
      onlyRetryable(t, outcomes)
      t.equal(successes(outcomes).filter((o) => o.previous === null).length, 1, 'one caller granted it')
      const revoked = await race(writers, async () => await domain.projects.setGroupGrant(s.actors.owner, s.projectId, 'racers', null))
      onlyRetryable(t, revoked)
      t.equal(successes(revoked).filter((o) => o.previous !== null).length, 1, 'one caller revoked it')
    })

    await t.test('favorites: one caller adds, one removes, the others are told', async (t) => {
      await domain.projects.removeFavorite(s.actors.owner, s.projectId, 'blast::pasteur')
      const added = await race(writers, async () => await domain.projects.addFavorite(s.actors.owner, s.projectId, 'blast::pasteur'))
      onlyRetryable(t, added)
      t.equal(successes(added).filter((o) => o.added).length, 1, 'one caller added the favorite; the others found it there')
      const removed = await race(writers, async () => await domain.projects.removeFavorite(s.actors.owner, s.projectId, 'blast::pasteur'))
      onlyRetryable(t, removed)
      t.equal(successes(removed).filter((o) => o.removed).length, 1, 'one caller removed it; the others were told it was not there')
      t.same((await domain.projects.get(systemActor, s.projectId)).favorites, [])
    })

    await t.test('creating one service name at once: one caller creates it, the others are told the name is taken', async (t) => {
      const same = await race(writers, async () => await domain.services.create(systemActor, { name: 'raced', server: 'pasteur', type: 'program' }))
      t.equal(successes(same).length, 1, 'one service')
      t.same(new Set(failures(same)), new Set(['conflict']), 'the others: the name is taken, never an internal error')
      t.ok(same.every((o) => o.ok || (o.error as { field?: string }).field === 'name'))
      const different = await race(writers, async (i) => await domain.services.create(systemActor, { name: `raced${i}`, server: 'pasteur', type: 'program' }))
      t.equal(successes(different).length, writers, 'different names are all created')
      t.equal(await db.prisma.service.count({ where: { name: { startsWith: 'raced' } } }), writers + 1, 'and each once')
    })

    await t.test('replacing a group\'s members: one caller\'s set wins', async (t) => {
      const usernames = (i: number): string[] => [`u${i}`, `u${i + 1}`, `u${i + 2}`]
      const outcomes = await race(writers, async (i) => await domain.groups.update(systemActor, 'lab', { members: usernames(i) }))
      onlyRetryable(t, outcomes)
      const after = await domain.groups.get(systemActor, 'lab')
      t.equal(after.members.length, 3, `exactly three members (got ${after.members.length})`)
      t.ok(outcomes.some((o, i) => o.ok && after.members.map((m) => m.username).sort().join() === usernames(i).sort().join()),
        'the members are the set of one caller that succeeded')
    })

    await t.test('adding and removing one group member: one caller does it, the others are told', async (t) => {
      const added = await race(writers, async () => await domain.groups.addMember(systemActor, 'lab', 'outsider'))
      onlyRetryable(t, added)
      t.equal(successes(added).filter((o) => o.added).length, 1, 'one caller added the member')
      const removed = await race(writers, async () => await domain.groups.removeMember(systemActor, 'lab', 'outsider'))
      onlyRetryable(t, removed)
      t.equal(successes(removed).filter((o) => o.removed).length, 1, 'one caller removed the member')
    })

    await t.test('API keys: concurrent issues are all kept; concurrent revokes revoke once', async (t) => {
      const user = s.users.contributor
      const before = await credentialVersion(db, user.id)
      const issued = await race(writers, async (i) => await domain.apiKeys.create(actorOf(user), user.id, { label: `k${i}` }))
      onlyRetryable(t, issued)
      const keys = await domain.apiKeys.list(systemActor, user.id)
      t.same(sorted(keys.map((k) => k.id)), sorted(successes(issued).map((o) => o.key.id)), 'every key issued is listed, none lost')
      t.equal(await credentialVersion(db, user.id), before + successes(issued).length, 'each issue bumped the credential version once')

      const key = keys[0]!
      const middle = await credentialVersion(db, user.id)
      const revoked = await race(writers, async () => await domain.apiKeys.revoke(actorOf(user), user.id, key.id))
      onlyRetryable(t, revoked)
      const times = new Set(successes(revoked).map((o) => o.revokedAt?.toISOString()))
      t.equal(times.size, 1, `every caller saw the one revocation (${times.size} different times)`)
      t.equal(await credentialVersion(db, user.id), middle + 1, 'the key was revoked once')

      // Issues and revokes mixed: nothing lost, nothing revoked twice.
      const live = keys.slice(1)
      const mixed = await race(writers, async (i) => i < live.length
        ? await domain.apiKeys.revoke(actorOf(user), user.id, live[i]!.id)
        : await domain.apiKeys.create(actorOf(user), user.id, { label: `m${i}` }))
      onlyRetryable(t, mixed)
      const all = await domain.apiKeys.list(systemActor, user.id)
      t.equal(all.length, keys.length + writers - live.length, 'all keys are there')
      t.equal(all.filter((k) => k.revokedAt === null).length, writers - live.length, 'only the new keys are live')
    })

    await t.test('demoting administrators at once never leaves none', async (t) => {
      const second = await domain.users.create(systemActor, { username: 'admin2', is_admin: true })
      for (let round = 0; round < 8; round++) {
        await domain.users.update(systemActor, s.users.admin.id, { is_admin: true, status: 'active' })
        await domain.users.update(systemActor, second.id, { is_admin: true, status: 'active' })
        await domain.users.setRetired(systemActor, second.id, false)
        const changes = [
          async () => await domain.users.update(systemActor, s.users.admin.id, round % 2 === 0 ? { is_admin: false } : { status: 'suspended' }),
          async () => round % 4 === 3
            ? await domain.users.setRetired(systemActor, second.id, true)
            : await domain.users.update(systemActor, second.id, { is_admin: false })
        ]
        const outcomes = await race(2, async (i) => await changes[i]!())
        t.same(failures(outcomes), ['conflict'], `round ${round}: one change is refused as the last administrator's`)
        const admins = await domain.users.list(systemActor, { is_admin: true, status: 'active' })
        t.equal(admins.total, 1, `round ${round}: one active administrator remains`)
      }
    })

    await t.test('a project deleted under its writers: each is served before, or told it is gone', async (t) => {
      const doomed = await domain.projects.create(s.actors.owner, { name: 'doomed' })
      const outcomes = await race(writers, async (i) => i === writers / 2
        ? await domain.projects.delete(s.actors.owner, doomed.id)
        : i % 2 === 0
          ? await domain.projects.setMember(s.actors.owner, doomed.id, ids[i]!, 'watcher')
          : await domain.projects.update(s.actors.owner, doomed.id, { managers: [ids[i]!] }))
      onlyRetryable(t, outcomes, ['not_found'])
    })
  })

  t.test(`${kind}: 50 concurrent XML-RPC set(managers) over HTTP`, async (t) => {
    const { app, domain } = await build(t, { kind })
    const s = await seed(domain)
    const ids = await manyUsers(domain, 52)
    // An API key: fifty first password logins at once would meet the login throttle, which counts attempts in flight.
    const { secret } = await domain.apiKeys.create(systemActor, s.users.owner.id, { label: 'race' })
    const base = await app.listen({ host: '127.0.0.1', port: 0 })
    const call = async (value: string): Promise<{ fault?: number, body: string }> => {
      const body = '<?xml version="1.0"?><methodCall><methodName>set</methodName><params>' +
        `<param><value><string>project${s.projectId}</string></value></param>` +
        `<param><value><string>${value}</string></value></param></params></methodCall>`
      const response = await fetch(new URL('/xmlrpc', base), { method: 'POST', headers: { 'content-type': 'text/xml', 'x-api-key': secret }, body })
      const text = await response.text()
      const fault = /<name>faultCode<\/name>\s*<value>\s*<int>(-?\d+)<\/int>/.exec(text)
      return { fault: fault === null ? undefined : Number(fault[1]), body: text }
    }
    const triple = (i: number): number[] => [ids[i]!, ids[i + 1]!, ids[i + 2]!]
    const answers = await Promise.all(Array.from({ length: 50 }, async (_, i) => await call(`managers=${triple(i).join(',')}`)))
    const faults = answers.flatMap((a) => a.fault === undefined ? [] : [a.fault])
    t.comment(`${answers.length - faults.length} calls succeeded, ${faults.length} answered a fault`)
    t.same(faults.filter((code) => code !== 409), [], `no fault but the retryable 409 (faults: ${faults.join(',') || 'none'})`)
    const after = await domain.projects.get(systemActor, s.projectId)
    t.equal(after.managers.length, 3, `exactly three managers (got ${after.managers.length})`)
    t.ok(answers.some((a, i) => a.fault === undefined && after.managers.join() === sorted(triple(i)).join()),
      'the managers are the set of one call that succeeded')
  })
}

if (databaseKinds.includes('postgresql')) {
  /**
   * Server `doomed`, deleted by another transaction that holds on before committing
   * while `create` runs: the creates still find it (the delete is not committed) and
   * wait for its row to insert; then the delete commits. Returns the creates' outcomes.
   */
  async function createWhileDeleting (db: Database, domain: Domain, create: () => Array<Promise<unknown>>): Promise<unknown[]> {
    await domain.servers.create(systemActor, { name: 'doomed', url: 'https://doomed.example.org' })
    let release!: () => void
    const released = new Promise<void>((resolve) => { release = resolve })
    let deleted!: () => void
    const deleting = new Promise<void>((resolve) => { deleted = resolve })
    const remover = db.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`DELETE FROM "server" WHERE name = 'doomed'`
      deleted()
      await released
    }, { timeout: 60_000 })
    await deleting
    const creating = create().map(async (outcome) => await outcome.catch((e: unknown) => e))
    const lockWaits = async (): Promise<number> => Number((await db.prisma.$queryRaw<Array<{ n: bigint }>>`
      SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)[0]!.n)
    for (let tries = 0; await lockWaits() === 0; tries++) {
      if (tries > 500) throw new Error('the creates never waited for the server row')
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    release()
    await remover
    return await Promise.all(creating)
  }

  t.test('postgresql: a service created while its server is being deleted is told the server is gone', async (t) => {
    const { db, domain } = await build(t, { kind: 'postgresql' })
    const [error] = await createWhileDeleting(db, domain, () => [domain.services.create(systemActor, { name: 'orphan', server: 'doomed', type: 'program' })])
    t.ok(isDomainError(error), `a domain error, not an internal one: ${String(error)}`)
    t.match(error, { code: 'conflict', message: /removed meanwhile/ })
    t.equal(await db.prisma.service.count({ where: { name: 'orphan' } }), 0, 'no service outlives its server')
  })

  t.test('postgresql: creates inserted together, one of them at a server being deleted: the others are created', async (t) => {
    const { db, domain } = await build(t, { kind: 'postgresql' })
    await seed(domain)
    // Both in one turn of the event loop, so in one statement.
    const [refused, sibling] = await createWhileDeleting(db, domain, () => [
      domain.services.create(systemActor, { name: 'orphan', server: 'doomed', type: 'program' }),
      domain.services.create(systemActor, { name: 'sibling', server: 'pasteur', type: 'program' })
    ])
    t.ok(isDomainError(refused) && ['conflict', 'invalid'].includes(refused.code), `the orphan is refused with a domain error: ${String(refused)}`)
    t.match(sibling, { name: 'sibling', server: 'pasteur' }, 'its sibling in the statement is created')
    t.same((await db.prisma.service.findMany({ where: { name: { in: ['orphan', 'sibling'] } }, select: { name: true } })).map((s) => s.name), ['sibling'])
  })

  t.test('postgresql: a writer that cannot get its turn in time gets the retryable conflict on every face', async (t) => {
    const { app, db, domain } = await build(t, { kind: 'postgresql' })
    const s = await seed(domain)
    const { secret } = await domain.apiKeys.create(systemActor, s.users.owner.id, { label: 'busy' })
    const saved = { ...transactionLimits }
    transactionLimits.lockTimeoutMs = 300
    t.teardown(() => { Object.assign(transactionLimits, saved) })

    // Another transaction holds the project's row.
    let release!: () => void
    const released = new Promise<void>((resolve) => { release = resolve })
    let locked!: () => void
    const lockTaken = new Promise<void>((resolve) => { locked = resolve })
    const holder = db.prisma.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT id FROM "project" WHERE id = ${s.projectId} FOR UPDATE`
      locked()
      await released
    }, { timeout: 60_000 })
    await lockTaken

    const error = await domain.projects.setMember(s.actors.owner, s.projectId, 'outsider', 'watcher').catch((e: unknown) => e)
    t.ok(error instanceof Busy, 'the domain throws Busy')
    t.match(error, { code: 'conflict', retryable: true, message: /being changed by other requests.*retry/ })

    const rest = await app.inject({
      method: 'PUT', url: `/projects/${s.projectId}/members/${s.users.outsider.id}`,
      headers: { 'x-api-key': secret, 'content-type': 'application/json' }, payload: { role: 'watcher' }
    })
    t.equal(rest.statusCode, 409, 'REST answers 409')
    t.match(rest.json(), { status: 409, detail: /retry/, retry_after: 1 })
    t.equal(rest.headers['retry-after'], '1', 'with Retry-After, as the login throttle sends it')

    const base = await app.listen({ host: '127.0.0.1', port: 0 })
    const body = '<?xml version="1.0"?><methodCall><methodName>set</methodName><params>' +
      `<param><value><string>project${s.projectId}</string></value></param>` +
      '<param><value><string>watchers=outsider</string></value></param></params></methodCall>'
    const xml = await (await fetch(new URL('/xmlrpc', base), { method: 'POST', headers: { 'content-type': 'text/xml', 'x-api-key': secret }, body })).text()
    t.match(xml, /<name>faultCode<\/name>\s*<value>\s*<int>409<\/int>/, 'XML-RPC answers fault 409')

    release()
    await holder
    const after = await domain.projects.setMember(s.actors.owner, s.projectId, 'outsider', 'watcher')
    t.equal(after.previous, null, 'nothing was written; once the row is free the same call succeeds')
  })
}
