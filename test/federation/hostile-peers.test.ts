/**
 * Broken and hostile peers: a fake peer (a tiny HTTP server in the test) first
 * answers well, then each kind of bad answer. Every bad answer is refused with an
 * error recorded on the server record, the peer is marked inactive, and the last
 * good copy is kept. Then: the allow-list (names, and the addresses they resolve
 * to), concurrent syncs of one peer (on PostgreSQL from two processes), and the
 * periodic sync.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { systemActor } from '../../src/domain/index.ts'
import { databaseKinds, postgresDatabase } from '../helper.ts'
import { openDatabase } from '../../src/db/client.ts'
import { applyMigrations } from '../../src/db/migrate.ts'
import { startServer, type Peer } from './servers.ts'

interface Teardown { teardown: (fn: () => unknown) => void }

type Handler = (req: IncomingMessage, res: ServerResponse) => void

interface FakePeer {
  url: string
  port: number
  /** What it answers now. */
  answer: Handler
  requests: number
  /** The most requests it was answering at once. */
  mostAtOnce: number
}

async function fakePeer (t: Teardown, answer: Handler): Promise<FakePeer> {
  let atOnce = 0
  const fake: FakePeer = { url: '', port: 0, answer, requests: 0, mostAtOnce: 0 }
  const server: Server = createServer((req, res) => {
    fake.requests++
    fake.mostAtOnce = Math.max(fake.mostAtOnce, ++atOnce)
    res.on('close', () => { atOnce-- })
    fake.answer(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  fake.port = (server.address() as AddressInfo).port
  fake.url = `http://127.0.0.1:${fake.port}`
  return fake
}

function service (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, server: 'fake', type: 'program', exported: true, disabled: false, authorized: true, description: '', ...extra }
}

const good = { 'blast::fake': service('blast'), 'clustal::fake': service('clustal'), 'private::fake': service('private', { exported: false }) }

function json (value: unknown, delayMs = 0): Handler {
  return (_req, res) => {
    setTimeout(() => {
      if (res.destroyed) return
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(typeof value === 'string' ? value : JSON.stringify(value))
    }, delayMs)
  }
}

function raw (status: number, headers: Record<string, string>, body = ''): Handler {
  return (_req, res) => { res.writeHead(status, headers).end(body) }
}

async function copies (peer: Peer): Promise<string[]> {
  const response = await peer.app.inject({ method: 'GET', url: '/services/?server=fake' })
  return Object.keys(response.json()).sort()
}

/** Bad answers, each with what the recorded error must say. */
const deep = `{"blast::fake":{"name":"blast","server":"fake","type":"program","exported":true,"disabled":false,"extra":${'['.repeat(20000)}${']'.repeat(20000)}}}`
const badAnswers: Array<{ what: string, answer: Handler, error: RegExp }> = [
  { what: 'not JSON', answer: raw(200, { 'content-type': 'text/html' }, '<html>oops</html>'), error: /did not answer JSON \(content-type text\/html\)/ },
  { what: 'an HTTP error', answer: raw(500, {}, 'down'), error: /answered HTTP 500/ },
  { what: 'a list instead of an object', answer: json([service('blast')]), error: /answered no services object/ },
  { what: 'JSON null', answer: json('null'), error: /answered no services object/ },
  { what: 'an entry without a type', answer: json({ 'x::fake': { name: 'x', server: 'fake', exported: true, disabled: false } }), error: /cannot use: "x::fake": type/ },
  { what: 'an unknown type', answer: json({ 'x::fake': service('x', { type: 'virus' }) }), error: /cannot use: "x::fake": type/ },
  { what: 'a name with ::', answer: json({ 'a::b::c::fake': service('a::b', { project: 'c' }) }), error: /cannot use: "a::b::c::fake": name/ },
  { what: 'a name with a control character', answer: json({ 'bad\u0007name::fake': service('bad\u0007name') }), error: /cannot use: "bad\\u0007name::fake": name/ },
  { what: 'a description with NUL', answer: json({ 'x::fake': service('x', { description: 'a\u0000b' }) }), error: /cannot use: "x::fake": description/ },
  { what: 'a key that is not the full name', answer: json({ 'other::fake': service('x') }), error: /under the key "other::fake" but named x::fake/ },
  { what: 'more services than SYNC_MAX_SERVICES', answer: json(Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`s${i}::fake`, service(`s${i}`)]))), error: /answered 21 services, more than SYNC_MAX_SERVICES \(20\)/ },
  { what: 'only another server\'s services', answer: json({ 'blast::elsewhere': service('blast', { server: 'elsewhere' }) }), error: /only services of other servers \(elsewhere\), none of fake's own/ },
  { what: 'a body over SYNC_MAX_BYTES', answer: json({ 'blast::fake': service('blast', { description: 'x'.repeat(3000) }), padding: 'y'.repeat(70_000) }), error: /more than the 65536/ },
  { what: 'no answer within SYNC_TIMEOUT_SECONDS', answer: json(good, 2500), error: /did not answer within 1 s/ },
  { what: 'a redirect loop', answer: raw(302, { location: '/services/' }), error: /redirected more than 3 times/ },
  { what: 'a redirect to another scheme', answer: raw(302, { location: 'file:///etc/passwd' }), error: /redirect target file:\/\/\/etc\/passwd is not an http or https URL/ }
]

const limits = { SYNC_TIMEOUT_SECONDS: '1', SYNC_MAX_SERVICES: '20', SYNC_MAX_BYTES: '65536' }

for (const kind of databaseKinds) {
  t.test(`a bad answer is refused, recorded, and loses nothing (${kind})`, async (t) => {
    const fake = await fakePeer(t, json(good))
    const b = await startServer(t, 'beta', kind, { env: limits })
    t.equal((await b.call('POST', '/servers', { name: 'fake', url: fake.url })).status, 201)
    const first = await b.call('POST', '/servers/fake/sync')
    t.match(first, { status: 200, body: { added: 2, ignored: 1 } })
    t.same(await copies(b), ['blast::fake', 'clustal::fake'])

    for (const bad of badAnswers) {
      await t.test(bad.what, async (t) => {
        fake.answer = bad.answer
        const sync = await b.call('POST', '/servers/fake/sync')
        t.equal(sync.status, 502, JSON.stringify(sync.body))
        t.match(sync.body, { server: 'fake', detail: bad.error })
        const server = (await b.app.inject({ method: 'GET', url: '/servers/fake' })).json()
        t.match(server, { active: false, last_sync_error: bad.error })
        // eslint-disable-next-line no-control-regex -- the control characters a hostile peer sent must not be kept
        t.notMatch(server.last_sync_error, /[\u0000-\u001f]/, 'the recorded error holds no control characters')
        t.same(await copies(b), ['blast::fake', 'clustal::fake'], 'the last good copy is kept')
      })
    }

    await t.test('an entry nested deep in a member nobody reads is no trouble', async (t) => {
      fake.answer = json(deep)
      const sync = await b.call('POST', '/servers/fake/sync')
      t.match(sync, { status: 200, body: { added: 0, changed: 0, removed: 1, unchanged: 1 } })
    })

    await t.test('a good answer again: active, no error, the copy replaced', async (t) => {
      fake.answer = json({ 'blast::fake': service('blast', { disabled: true }), 'mafft::fake': service('mafft') })
      const sync = await b.call('POST', '/servers/fake/sync')
      t.match(sync, { status: 200, body: { added: 1, changed: 1, removed: 0 } })
      const server = (await b.app.inject({ method: 'GET', url: '/servers/fake' })).json()
      t.match(server, { active: true, services: ['blast', 'mafft'] })
      t.notOk('last_sync_error' in server)
      t.same(await copies(b), ['blast::fake', 'mafft::fake'])
    })
  })

  t.test(`PEER_ALLOWLIST keeps syncs to the hosts it names (${kind})`, async (t) => {
    const fake = await fakePeer(t, json(good))
    const elsewhere = await fakePeer(t, json(good))
    const b = await startServer(t, 'beta', kind, { env: { PEER_ALLOWLIST: `127.0.0.1:${fake.port}` } })
    await b.call('POST', '/servers', { name: 'fake', url: fake.url })
    await b.call('POST', '/servers', { name: 'other', url: `http://localhost:${fake.port}` })
    t.equal((await b.call('POST', '/servers/fake/sync')).status, 200)
    const other = await b.call('POST', '/servers/other/sync')
    t.equal(other.status, 502)
    t.match(other.body.detail, /host localhost:\d+ is not in PEER_ALLOWLIST/)
    fake.answer = raw(302, { location: `${elsewhere.url}/services/` })
    const redirected = await b.call('POST', '/servers/fake/sync')
    t.match(redirected.body.detail, /redirect target http:\/\/127\.0\.0\.1:\d+\/services\/: host 127\.0\.0\.1:\d+ is not in PEER_ALLOWLIST/)
    t.equal(elsewhere.requests, 0, 'nothing outside the list was contacted')
  })

  t.test(`PEER_ALLOWLIST keeps a listed name from leading to a loopback address it does not list (${kind})`, async (t) => {
    const fake = await fakePeer(t, json(good))
    const url = `http://localhost:${fake.port}`
    const refusing = await startServer(t, 'beta', kind, { env: { PEER_ALLOWLIST: 'localhost' } })
    await refusing.call('POST', '/servers', { name: 'fake', url })
    const why = new RegExp(`^could not sync server fake: ${url}/services/: host localhost:${fake.port} resolves to .*127\\.0\\.0\\.1 \\(a loopback address\\).*, not in PEER_ALLOWLIST$`)
    const sync = await refusing.call('POST', '/servers/fake/sync')
    t.equal(sync.status, 502)
    t.match(sync.body, { server: 'fake', detail: why })
    t.match((await refusing.app.inject({ method: 'GET', url: '/servers/fake' })).json(), { active: false, last_sync_error: /resolves to .*127\.0\.0\.1 \(a loopback address\)/ })
    const pull = await refusing.app.inject({
      method: 'POST', url: '/_admin/api', headers: { authorization: `Bearer ${refusing.key}` }, payload: { jsonrpc: '2.0', id: 1, method: 'pull', params: ['fake'] }
    })
    t.match(pull.json(), { error: { code: -32052, message: why, data: { server: 'fake' } } })
    t.equal(fake.requests, 0, 'nothing was contacted')

    const allowing = await startServer(t, 'gamma', kind, { env: { PEER_ALLOWLIST: 'localhost, 127.0.0.1' } })
    await allowing.call('POST', '/servers', { name: 'fake', url })
    t.match(await allowing.call('POST', '/servers/fake/sync'), { status: 200, body: { added: 2 } })
    t.equal(fake.requests, 1)
  })

  t.test(`syncs of one peer never overlap (${kind})`, async (t) => {
    const fake = await fakePeer(t, json(good, 300))
    const url = kind === 'postgresql' ? await postgresDatabase(t) : undefined
    const shared = url === undefined
      ? undefined
      : await openDatabase({ url, poolSize: 5 }).then(async (db) => {
          t.teardown(() => db.close())
          await applyMigrations(db)
          return db
        })
    const b1 = await startServer(t, 'beta', kind, { db: shared })
    // On PostgreSQL a second process on the same database; PGlite has one owner, whose two requests race.
    const b2 = url === undefined
      ? b1
      : await startServer(t, 'beta', kind, { db: await openDatabase({ url, poolSize: 5 }).then((db) => { t.teardown(() => db.close()); return db }) })
    await b1.call('POST', '/servers', { name: 'fake', url: fake.url })
    const [one, two] = await Promise.all([b1.call('POST', '/servers/fake/sync'), b2.call('POST', '/servers/fake/sync')])
    t.equal(one.status, 200)
    t.equal(two.status, 200)
    t.equal(fake.requests, 2)
    t.equal(fake.mostAtOnce, 1, 'the second sync waited for the first')
    t.same([one.body.added + two.body.added, one.body.unchanged + two.body.unchanged], [2, 2])
    t.same(await copies(b2), ['blast::fake', 'clustal::fake'], 'the other process reads the copy at once, without duplicates')
    t.equal((await b1.app.domain.services.list(systemActor, { server: 'fake' })).total, 2)

    // A sync is a write like any other: the other process's remembered answers go with it.
    fake.answer = json({ ...good, 'mafft::fake': service('mafft') })
    t.same(await copies(b2), ['blast::fake', 'clustal::fake'])
    t.equal((await b1.call('POST', '/servers/fake/sync')).status, 200)
    t.same(await copies(b2), ['blast::fake', 'clustal::fake', 'mafft::fake'], 'read through the other process at once')
  })

  t.test(`the periodic sync keeps peers up to date (${kind})`, async (t) => {
    const fake = await fakePeer(t, json(good))
    const b = await startServer(t, 'beta', kind, { env: { SYNC_INTERVAL_SECONDS: '1' } })
    await b.call('POST', '/servers', { name: 'fake', url: fake.url })
    const deadline = Date.now() + 15_000
    while ((await copies(b)).length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
    t.same(await copies(b), ['blast::fake', 'clustal::fake'])
    fake.answer = raw(500, {})
    while ((await b.app.inject({ method: 'GET', url: '/servers/fake' })).json().active === true && Date.now() < deadline + 15_000) {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    t.match((await b.app.inject({ method: 'GET', url: '/servers/fake' })).json(), { active: false, last_sync_error: /HTTP 500/ })
    t.same(await copies(b), ['blast::fake', 'clustal::fake'])
  })
}
