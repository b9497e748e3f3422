import t from 'tap'
import { Authenticator } from '../../src/auth/authenticator.ts'
import { readCredentials, type PresentedCredentials } from '../../src/auth/presented.ts'
import { systemActor } from '../../src/domain/actor.ts'
import { openDomain } from '../../src/domain/index.ts'
import { databaseKinds, freshDatabase } from '../helper.ts'

const basic = (username: string, password: string): PresentedCredentials => ({ kind: 'basic', username, password })
const options = { maxFailures: 4, windowSeconds: 600, cacheSeconds: 60 }
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

t.test('credentials are read from every supported place', async (t) => {
  const encoded = Buffer.from('alice:pa:ss').toString('base64')
  t.same(readCredentials({ headers: { authorization: `Basic ${encoded}` } }), { kind: 'basic', username: 'alice', password: 'pa:ss' })
  t.same(readCredentials({ headers: { authorization: 'Bearer k1' } }), { kind: 'apiKey', key: 'k1' })
  t.same(readCredentials({ headers: { 'x-api-key': 'k2' } }), { kind: 'apiKey', key: 'k2' })
  t.same(readCredentials({ headers: {}, query: { api_key: 'k3' } }), { kind: 'apiKey', key: 'k3' })
  t.same(readCredentials({ headers: {} }), { kind: 'none' })
  t.equal(readCredentials({ headers: { authorization: 'Digest abc' } }).kind, 'malformed')
  t.equal(readCredentials({ headers: { authorization: `Basic ${Buffer.from('nocolon').toString('base64')}` } }).kind, 'malformed')
})

for (const kind of databaseKinds) {
  t.test(`${kind}: authentication`, async (t) => {
    const db = await freshDatabase(t, kind)
    const { domain, logins } = openDomain(db)
    const auth = (): Authenticator => new Authenticator(logins, options)
    // Every subtest makes its own users, named apart from every other subtest's, and
    // uses addresses of its own: none meets another's login records or throttle
    // counts, so any one runs alone (--grep, t.only) and in any order.
    let made = 0
    const userNamed = async (name: string, extra: Record<string, unknown> = {}): Promise<string> => {
      const username = `${name}-${++made}`
      await domain.users.create(systemActor, { username, password: 'right password', ...extra })
      return username
    }
    /** A user with an API key, and a suspended user. */
    const people = async (): Promise<{ alice: string, sus: string, secret: string }> => {
      const alice = await userNamed('alice')
      const sus = await userNamed('sus', { status: 'suspended', status_message: 'why' })
      const { secret } = await domain.apiKeys.create(systemActor, alice, { label: 'script' })
      return { alice, sus, secret }
    }

    t.test('each form of credentials, good and bad', async (t) => {
      const { alice, sus, secret } = await people()
      const a = auth()
      t.match(await a.authenticate(basic(alice, 'right password'), '10.0.0.1'), { kind: 'user', username: alice })
      t.match(await a.authenticate({ kind: 'apiKey', key: secret }, '10.0.0.1'), { kind: 'user', username: alice })
      t.match(await a.authenticate(basic(alice, secret), '10.0.0.1'), { kind: 'user', username: alice }, 'a key as the Basic password')
      t.same(await a.authenticate({ kind: 'none' }, '10.0.0.1'), { kind: 'anonymous' })
      await t.rejects(a.authenticate(basic(alice, 'wrong'), '10.0.0.2'), { code: 'unauthenticated', message: 'Invalid login' })
      await t.rejects(a.authenticate(basic('nobody', 'wrong'), '10.0.0.3'), { code: 'unauthenticated', message: 'Invalid login' },
        'an unknown username fails exactly like a wrong password')
      await t.rejects(a.authenticate({ kind: 'apiKey', key: 'm2_forged' }, '10.0.0.4'), { code: 'unauthenticated' })
      await t.rejects(a.authenticate(basic(sus, secret), '10.0.0.5'), { code: 'unauthenticated' },
        "alice's key is no password of another user")
      await t.rejects(a.authenticate({ kind: 'malformed', reason: 'x' }, '10.0.0.6'), { code: 'unauthenticated' })
      t.match(await a.authenticate(basic(sus, 'right password'), '10.0.0.7'),
        { kind: 'user', status: 'suspended', statusMessage: 'why' }, 'refusing a suspended account is the domain\'s business')
    })

    t.test('a revoked key and a retired user are refused', async (t) => {
      const { alice } = await people()
      const { key, secret: other } = await domain.apiKeys.create(systemActor, alice, {})
      await domain.apiKeys.revoke(systemActor, alice, key.id)
      await t.rejects(auth().authenticate({ kind: 'apiKey', key: other }, '10.1.0.1'), { code: 'unauthenticated' })
      const gone = await userNamed('gone', { password: 'pw' })
      await domain.users.setRetired(systemActor, gone, true)
      await t.rejects(auth().authenticate(basic(gone, 'pw'), '10.1.0.2'), { code: 'unauthenticated' })
    })

    t.test('a username is refused from the address that failed, not from the others, in every process', async (t) => {
      const { alice, secret } = await people()
      const target = await userNamed('target')
      const first = auth()
      for (let i = 0; i < 4; i++) {
        await t.rejects(first.authenticate(basic(target, `guess ${i}`), '10.2.0.9'), { code: 'unauthenticated' })
      }
      const second = auth()
      const error = await second.authenticate(basic(target, 'right password'), '10.2.0.9').catch((e: unknown) => e) as
        { code: string, retryAfterSeconds: number, message: string }
      t.equal(error.code, 'too_many_attempts', 'another process sharing the database refuses the fifth attempt from that address')
      t.ok(error.retryAfterSeconds > 590 && error.retryAfterSeconds <= 600, `retry after ${error.retryAfterSeconds}s`)
      t.match(error.message, /^Logins occurring too fast\. Please wait: \d+ seconds\.$/)
      t.match(await second.authenticate(basic(target, 'right password'), '10.2.1.1'), { username: target },
        "the stranger's failures do not refuse the right password from another address")
      t.match(await second.authenticate(basic(alice, 'right password'), '10.2.0.9'), { username: alice },
        'other usernames from that address are not affected')
      t.match(await second.authenticate({ kind: 'apiKey', key: secret }, '10.2.0.9'), { username: alice })
    })

    t.test("the right password forgives that username's typos from that address", async (t) => {
      const typist = await userNamed('typist')
      const a = auth()
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < 3; i++) await t.rejects(a.authenticate(basic(typist, 'typo'), '10.2.2.1'), { code: 'unauthenticated' })
        t.match(await a.authenticate(basic(typist, 'right password'), '10.2.2.1'), { username: typist }, `round ${round}`)
      }
    })

    t.test('the throttle counts failures per address, all usernames and invalid keys together', async (t) => {
      const { alice, secret } = await people()
      const a = new Authenticator(logins, { ...options, maxAddressFailures: 8 })
      for (let i = 0; i < 7; i++) {
        await t.rejects(a.authenticate(basic(`${alice}-nobody${i % 2}`, 'x'), '10.3.0.1'), { code: 'unauthenticated' })
      }
      await t.rejects(a.authenticate(basic(`${alice}-nobody0`, 'x'), '10.3.0.1'), { code: 'too_many_attempts' }, 'the first unknown name has 4 failures from there')
      t.match(await a.authenticate(basic(alice, 'right password'), '10.3.0.1'), { username: alice },
        "below the address's limit, other users' right passwords are accepted")
      await t.rejects(a.authenticate({ kind: 'apiKey', key: 'm2_forged-key-000000000000' }, '10.3.0.1'), { code: 'unauthenticated' },
        'the eighth failure is an invalid key')
      await t.rejects(a.authenticate(basic(alice, 'right password'), '10.3.0.1'), { code: 'too_many_attempts' },
        'at the limit, password attempts from that address are refused')
      await t.rejects(a.authenticate({ kind: 'apiKey', key: 'm2_forged-key-000000000001' }, '10.3.0.1'), { code: 'too_many_attempts' },
        'and so are invalid keys')
      t.match(await a.authenticate({ kind: 'apiKey', key: secret }, '10.3.0.1'), { username: alice }, 'a valid key is accepted')
      t.match(await a.authenticate(basic(alice, secret), '10.3.0.1'), { username: alice }, 'also as the Basic password')
      t.match(await a.authenticate(basic(alice, 'right password'), '10.3.0.2'), { username: alice }, 'other addresses are not affected')
    })

    t.test('a valid key never meets the throttle; a key is no password of another user', async (t) => {
      const { alice, sus, secret } = await people()
      const a = auth()
      for (let i = 0; i < 4; i++) await t.rejects(a.authenticate(basic(alice, 'wrong'), '10.5.0.1'), { code: 'unauthenticated' })
      await t.rejects(a.authenticate(basic(alice, 'right password'), '10.5.0.1'), { code: 'too_many_attempts' })
      t.match(await a.authenticate(basic(alice, secret), '10.5.0.1'), { username: alice })
      await t.rejects(a.authenticate(basic(sus, secret), '10.5.0.2'), { code: 'unauthenticated' })
    })

    t.test('parallel guesses count against each other', async (t) => {
      const rushed = await userNamed('rushed')
      const a = auth()
      const b = auth()
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) =>
        (i % 2 === 0 ? a : b).authenticate(basic(rushed, `guess ${i}`), '10.6.0.1').catch((e: { code: string }) => e.code)))
      const checked = results.filter((code) => code === 'unauthenticated').length
      t.ok(checked <= 4, `${checked} of 12 parallel guesses had their password checked`)
      t.equal(results.filter((code) => code === 'too_many_attempts').length, 12 - checked)
    })

    t.test("a client's burst of parallel requests with the right password is one attempt, not a throttle", async (t) => {
      const burst = await userNamed('burst')
      const a = new Authenticator(logins, { ...options, cacheSeconds: 0 })
      const results = await Promise.all(Array.from({ length: 20 }, async () =>
        await a.authenticate(basic(burst, 'right password'), '10.6.1.1').then((actor) => actor.kind, (e: { code: string }) => e.code)))
      t.same(new Set(results), new Set(['user']), 'all twenty accepted')
    })

    t.test('failures for one username from many addresses slow its attempts but never lock it', async (t) => {
      const { alice } = await people()
      const famous = await userNamed('famous')
      const a = new Authenticator(logins, { ...options, usernameSlowAfter: 6, usernameMaxDelaySeconds: 2 })
      for (let i = 0; i < 6; i++) {
        await t.rejects(a.authenticate(basic(famous, 'guess'), `10.7.0.${i}`), { code: 'unauthenticated' })
      }
      const slowed = await a.authenticate(basic(famous, 'right password'), '10.7.1.1').catch((e: unknown) => e) as
        { code: string, retryAfterSeconds: number }
      t.match(slowed, { code: 'too_many_attempts', retryAfterSeconds: 1 }, 'one second after the sixth failure')
      // The delay runs on the database's clock, which only real time moves.
      await sleep(1100)
      await t.rejects(a.authenticate(basic(famous, 'guess'), '10.7.0.9'), { code: 'unauthenticated' }, 'a slot opens: one more guess')
      const longer = await a.authenticate(basic(famous, 'right password'), '10.7.1.1').catch((e: unknown) => e) as
        { code: string, retryAfterSeconds: number }
      t.match(longer, { code: 'too_many_attempts', retryAfterSeconds: 2 }, 'the wait doubles, up to the maximum')
      for (let i = 0; i < 5; i++) {
        await t.rejects(a.authenticate(basic(famous, 'guess'), `10.7.2.${i}`), { code: 'too_many_attempts' },
          'refused attempts are not counted')
      }
      // As above: the doubled delay passes on the database's clock.
      await sleep(2100)
      t.match(await a.authenticate(basic(famous, 'right password'), '10.7.1.1'), { username: famous },
        'the right password from a fresh address gets in after the short wait')
      t.match(await a.authenticate(basic(alice, 'right password'), '10.7.0.1'), { username: alice }, 'other usernames are not slowed')
    })

    t.test('a verified password is remembered until the credentials change', async (t) => {
      const cached = await userNamed('cached', { password: 'first' })
      const a = auth()
      await a.authenticate(basic(cached, 'first'), '10.4.0.1')
      // Change the stored hash behind the domain's back: the credential version stays,
      // so the remembered password is still accepted, which shows no hash was checked.
      await db.prisma.user.update({ where: { username: cached }, data: { passwordHash: 'scrypt$1$1$1$AA$AA' } })
      t.match(await a.authenticate(basic(cached, 'first'), '10.4.0.1'), { username: cached })
      await domain.users.update(systemActor, cached, { password: 'second' })
      await t.rejects(a.authenticate(basic(cached, 'first'), '10.4.0.2'), { code: 'unauthenticated' },
        'a password change is seen at once')
      t.match(await a.authenticate(basic(cached, 'second'), '10.4.0.2'), { username: cached })
      await domain.users.update(systemActor, cached, { status: 'suspended' })
      t.match(await a.authenticate(basic(cached, 'second'), '10.4.0.2'), { status: 'suspended' }, 'a status change is seen at once')
      const uncached = new Authenticator(logins, { ...options, cacheSeconds: 0 })
      await uncached.authenticate(basic(cached, 'second'), '10.4.0.3')
      await db.prisma.user.update({ where: { username: cached }, data: { passwordHash: 'scrypt$1$1$1$AA$AA' } })
      await t.rejects(uncached.authenticate(basic(cached, 'second'), '10.4.0.3'), { code: 'unauthenticated' },
        'with the cache off every request is verified')
    })

    t.test('last login and last use are recorded', async (t) => {
      const { alice, secret } = await people()
      t.equal((await domain.users.get(systemActor, alice)).lastLoginAt, null, 'no login yet')
      t.equal((await domain.apiKeys.list(systemActor, alice))[0]?.lastUsedAt, null, 'the key is unused yet')
      const a = auth()
      await a.authenticate(basic(alice, 'right password'), '10.8.0.1')
      await a.authenticate({ kind: 'apiKey', key: secret }, '10.8.0.1')
      await a.settled()
      // Bookkeeping forgets no remembered answer (src/domain/read-model.ts): asked afresh, it is there.
      const fresh = openDomain(db, { cacheEntries: 0 }).domain
      const user = await fresh.users.get(systemActor, alice)
      t.ok(user.lastLoginAt instanceof Date)
      const keys = await fresh.apiKeys.list(systemActor, alice)
      t.ok(keys[0]?.lastUsedAt instanceof Date)
      t.equal((await domain.users.get(systemActor, alice)).lastLoginAt, null, 'a remembered answer keeps showing the bookkeeping it was read with')
      t.notOk(JSON.stringify(keys).includes(secret), 'listings never hold the secret')
    })
  })
}
