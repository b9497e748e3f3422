/**
 * The login throttle as clients meet it, through all three faces: a stranger's
 * guesses refuse only the stranger's own address, one member's typos do not refuse
 * the others behind a shared address, valid API keys are never refused, invalid
 * keys count, and failures spread over many addresses slow a username, never lock it.
 */
import t, { type Test } from 'tap'
import type { App } from '../../src/app.ts'
import { systemActor } from '../../src/domain/index.ts'
import { build, databaseKinds } from '../helper.ts'

type Outcome = 'ok' | 'unauthenticated' | 'throttled' | `REST ${number}` | `fault ${string}` | `error ${number}`
interface Credential { authorization?: string, apiKey?: string }

const basic = (username: string, password: string): Credential =>
  ({ authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` })
const key = (apiKey: string): Credential => ({ apiKey })
const listServers = '<?xml version="1.0"?><methodCall><methodName>list</methodName><params><param><value><string>server</string></value></param></params></methodCall>'

function headersOf (credential: Credential): Record<string, string> {
  return {
    ...(credential.authorization === undefined ? {} : { authorization: credential.authorization }),
    ...(credential.apiKey === undefined ? {} : { 'x-api-key': credential.apiKey })
  }
}

/** One call through REST; a refusal must carry Retry-After, which is returned. */
async function rest (t: Test, app: App, address: string, credential: Credential): Promise<{ outcome: Outcome, retryAfter?: number }> {
  const response = await app.inject({ url: '/servers', headers: headersOf(credential), remoteAddress: address })
  if (response.statusCode === 200) return { outcome: 'ok' }
  if (response.statusCode === 401) return { outcome: 'unauthenticated' }
  if (response.statusCode === 429) {
    const retryAfter = Number(response.headers['retry-after'])
    t.equal(response.json().retry_after, retryAfter, 'the problem document and the header agree')
    return { outcome: 'throttled', retryAfter }
  }
  return { outcome: `REST ${response.statusCode}` }
}

async function xmlrpc (app: App, address: string, credential: Credential): Promise<Outcome> {
  const response = await app.inject({
    method: 'POST', url: '/xmlrpc', payload: listServers, remoteAddress: address,
    headers: { 'content-type': 'text/xml', ...headersOf(credential) }
  })
  const fault = /<name>faultCode<\/name>\s*<value><int>(-?\d+)<\/int>/.exec(response.body)?.[1]
  return fault === undefined ? 'ok' : fault === '401' ? 'unauthenticated' : fault === '429' ? 'throttled' : `fault ${fault}`
}

/** A JSON-RPC 2.0 call: an API key goes in params.api_key, Basic in the header. */
async function jsonrpc (app: App, address: string, credential: Credential): Promise<Outcome> {
  const params = credential.apiKey === undefined ? {} : { api_key: credential.apiKey }
  const response = await app.inject({
    method: 'POST', url: '/_admin/api', remoteAddress: address,
    headers: { 'content-type': 'application/json', ...(credential.authorization === undefined ? {} : { authorization: credential.authorization }) },
    payload: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'get_servers', params })
  })
  const code = response.json().error?.code as number | undefined
  if (code === -32029) t.match(response.headers['retry-after'], /^\d+$/)
  return code === undefined ? 'ok' : code === -32001 ? 'unauthenticated' : code === -32029 ? 'throttled' : `error ${code}`
}

/** The same credential through every face: three attempts, so only for credentials that do not fail. */
async function everyFace (t: Test, app: App, address: string, credential: Credential): Promise<Outcome[]> {
  return [(await rest(t, app, address, credential)).outcome, await xmlrpc(app, address, credential), await jsonrpc(app, address, credential)]
}

for (const kind of databaseKinds) {
  t.test(`${kind}: the login throttle through every face`, async (t) => {
    const { app, domain } = await build(t, { kind })
    for (const username of ['admin', 'alice', 'bob', 'carol']) {
      await domain.users.create(systemActor, { username, password: `${username} password`, is_admin: username === 'admin' })
    }
    const adminKey = (await domain.apiKeys.create(systemActor, 'admin', { label: 'script' })).secret
    const aliceKey = (await domain.apiKeys.create(systemActor, 'alice', { label: 'script' })).secret

    await t.test("a stranger's guesses from another address cannot lock out the administrator", async (t) => {
      for (let i = 0; i < 4; i++) t.equal((await rest(t, app, '127.0.0.2', basic('admin', `guess ${i}`))).outcome, 'unauthenticated')
      const refused = await rest(t, app, '127.0.0.2', basic('admin', 'admin password'))
      t.equal(refused.outcome, 'throttled', "the guesser's address is refused for admin, even the right password")
      t.ok(refused.retryAfter! > 590 && refused.retryAfter! <= 600, `Retry-After ${refused.retryAfter}`)
      t.same(await everyFace(t, app, '127.0.0.2', basic('admin', 'admin password')), ['throttled', 'throttled', 'throttled'])
      t.same(await everyFace(t, app, '127.0.0.1', basic('admin', 'admin password')), ['ok', 'ok', 'ok'],
        "admin's right password from admin's own address is accepted by every face")
      t.same(await everyFace(t, app, '127.0.0.2', key(adminKey)), ['ok', 'ok', 'ok'], "admin's valid API key is accepted from the guesser's address")
      t.same(await everyFace(t, app, '127.0.0.2', basic('admin', adminKey)), ['ok', 'ok', 'ok'], 'also as the Basic password')
      for (let i = 0; i < 20; i++) t.equal((await rest(t, app, '127.0.0.2', basic('admin', `more ${i}`))).outcome, 'throttled')
      t.same(await everyFace(t, app, '127.0.0.2', basic('alice', 'alice password')), ['ok', 'ok', 'ok'],
        'refused attempts are not counted: the address stays below its limit and the refusal cannot be renewed by hammering')
    })

    await t.test("one member's typos behind a shared address do not refuse the others below the address limit", async (t) => {
      const lab = '127.0.0.3'
      for (let i = 0; i < 3; i++) t.equal((await rest(t, app, lab, basic('bob', 'typo'))).outcome, 'unauthenticated')
      t.equal((await rest(t, app, lab, basic('bob', 'bob password'))).outcome, 'ok', "bob's right password forgives bob's typos")
      for (let i = 0; i < 4; i++) t.equal((await rest(t, app, lab, basic('carol', 'typo'))).outcome, 'unauthenticated')
      t.equal((await rest(t, app, lab, basic('carol', 'carol password'))).outcome, 'throttled', 'carol is refused from there')
      t.same(await everyFace(t, app, lab, basic('alice', 'alice password')), ['ok', 'ok', 'ok'], "alice's right password is not")
      t.same(await everyFace(t, app, lab, basic('bob', 'bob password')), ['ok', 'ok', 'ok'])
      // 4 failures so far; 16 more reach the address limit (LOGIN_MAX_ADDRESS_FAILURES, 20 by default).
      for (const username of ['x1', 'x2', 'x3', 'x4']) {
        for (let i = 0; i < 4; i++) t.equal((await rest(t, app, lab, basic(username, 'guess'))).outcome, 'unauthenticated')
      }
      const refused = await rest(t, app, lab, basic('alice', 'alice password'))
      t.equal(refused.outcome, 'throttled', 'at the address limit, password attempts from the address are refused')
      t.ok(refused.retryAfter! > 0 && refused.retryAfter! <= 600)
      t.same(await everyFace(t, app, lab, basic('alice', 'alice password')), ['throttled', 'throttled', 'throttled'])
      t.same(await everyFace(t, app, lab, key(aliceKey)), ['ok', 'ok', 'ok'], 'valid API keys still work from there')
      t.same(await everyFace(t, app, lab, basic('alice', aliceKey)), ['ok', 'ok', 'ok'], 'also as the Basic password')
      t.equal((await rest(t, app, lab, key('m2_not-a-key-0000000000000'))).outcome, 'throttled', 'an invalid key is refused')
      t.equal(await jsonrpc(app, lab, key('m2_not-a-key-0000000000001')), 'throttled')
      t.same(await everyFace(t, app, '127.0.0.4', basic('alice', 'alice password')), ['ok', 'ok', 'ok'], 'other addresses are not affected')
    })

    await t.test('invalid API keys count against their address', async (t) => {
      const guesser = '127.0.0.5'
      for (let i = 0; i < 20; i++) {
        const outcome = i % 2 === 0
          ? (await rest(t, app, guesser, key(`m2_guess-${i}-000000000000000`))).outcome
          : await jsonrpc(app, guesser, key(`m2_guess-${i}-000000000000000`))
        t.equal(outcome, 'unauthenticated')
      }
      t.equal((await rest(t, app, guesser, key('m2_guess-20-000000000000000'))).outcome, 'throttled', 'key guessing is throttled')
      t.equal(await xmlrpc(app, guesser, key('m2_guess-21-000000000000000')), 'throttled')
      t.same(await everyFace(t, app, guesser, basic('alice', 'alice password')), ['throttled', 'throttled', 'throttled'],
        'and so are password attempts from that address')
      t.same(await everyFace(t, app, guesser, key(aliceKey)), ['ok', 'ok', 'ok'], 'a valid key is still accepted')
    })
  })

  t.test(`${kind}: failures for one username from many addresses slow it, never lock it`, async (t) => {
    const { app, domain } = await build(t, { kind, env: { LOGIN_USERNAME_SLOW_AFTER: '8', LOGIN_USERNAME_MAX_DELAY_SECONDS: '2' } })
    await domain.users.create(systemActor, { username: 'admin', password: 'admin password', is_admin: true })
    for (let i = 0; i < 8; i++) {
      t.equal((await rest(t, app, `127.0.1.${i}`, basic('admin', 'guess'))).outcome, 'unauthenticated', `2 guesses from each of 4 addresses ${i}`)
    }
    const slowed = await rest(t, app, '127.0.0.1', basic('admin', 'admin password'))
    t.same(slowed, { outcome: 'throttled', retryAfter: 1 }, 'a short wait, from any address')
    t.equal(await xmlrpc(app, '127.0.2.1', basic('admin', 'guess')), 'throttled')
    // The delay runs on the database's clock, which only real time moves.
    await new Promise((resolve) => setTimeout(resolve, 1100))
    t.same(await everyFace(t, app, '127.0.0.1', basic('admin', 'admin password')), ['ok', 'ok', 'ok'],
      'after the wait the right password is accepted (and, remembered, again at once)')
  })
}
