/**
 * The read model: what it remembers, and that no answer outlives a write. Two app
 * instances share one PostgreSQL database (on PGlite, which has a single owner,
 * the one instance plays both parts): a write through one is read through the
 * other at once, through every face, and a permission taken away is refused at
 * once. The notification connection killed: nothing is served from memory until
 * it is back.
 */
import t from 'tap'
import pg from 'pg'
import { buildApp, type App } from '../../src/app.ts'
import type { ChangeFeed, ChangeListener, PostgresFeedOptions } from '../../src/db/changes.ts'
import { changeChannel, feedApplicationName, parseChange } from '../../src/db/changes.ts'
import { openDatabase, type Database } from '../../src/db/client.ts'
import { applyMigrations } from '../../src/db/migrate.ts'
import { anonymous, NotFound, openDomain } from '../../src/domain/index.ts'
import { reads, ReadModel, remembering, writes, type Table } from '../../src/domain/read-model.ts'
import { formatId } from '../../src/rest/common.ts'
import { basic, seed, type Seed } from '../fixtures.ts'
import { databaseKinds, postgresDatabase, freshDatabase, tempDir, testConfig } from '../helper.ts'

interface Teardown { teardown: (fn: () => unknown) => void }

interface Pair extends Seed {
  kind: 'pglite' | 'postgresql'
  writer: App
  reader: App
  readerDb: Database
  writerDb: Database
  url?: string
}

async function until (what: string, condition: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!await condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

async function appOn (t: Teardown, db: Database): Promise<App> {
  const app = await buildApp({ config: testConfig({ STORAGE_DIR: await tempDir(t, 'mobyle2-storage-') }), db })
  await app.ready()
  t.teardown(() => app.close())
  await until('the app hears the database', () => db.changes.current)
  return app
}

async function pair (t: Teardown, kind: 'pglite' | 'postgresql', readerFeed?: PostgresFeedOptions, writerFeed?: PostgresFeedOptions): Promise<Pair> {
  if (kind === 'pglite') {
    const db = await freshDatabase(t, kind)
    const app = await appOn(t, db)
    return { kind, writer: app, reader: app, readerDb: db, writerDb: db, ...await seed(app.domain, { apiKeys: true }) }
  }
  const url = await postgresDatabase(t)
  const open = async (feed?: PostgresFeedOptions): Promise<Database> => {
    const db = await openDatabase({ url, poolSize: 5, feed })
    t.teardown(() => db.close())
    return db
  }
  const writerDb = await open(writerFeed)
  await applyMigrations(writerDb)
  const writer = await appOn(t, writerDb)
  const readerDb = await open(readerFeed)
  const reader = await appOn(t, readerDb)
  return { kind, writer, reader, readerDb, writerDb, url, ...await seed(writer.domain, { apiKeys: true }) }
}

/**
 * A third process's listening connection, named as the servers' are, which
 * acknowledges the marks it hears only once told to (`ackFromNowOn`).
 */
async function silentListener (t: Teardown, url: string) {
  const client = new pg.Client({ connectionString: url, application_name: feedApplicationName })
  await client.connect()
  t.teardown(() => client.end())
  const unacknowledged: string[] = []
  const acknowledge = async (): Promise<void> => {
    await client.query('SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload', [changeChannel, unacknowledged.splice(0)])
  }
  const listener = {
    pid: 0,
    unacknowledged,
    acking: false,
    ackFromNowOn: async (): Promise<void> => {
      listener.acking = true
      await acknowledge()
    },
    /** A query of its own, as a live process's pings: it counts as listening. */
    stir: async (): Promise<void> => { await client.query('SELECT 1') }
  }
  client.on('notification', ({ processId, payload }) => {
    if (payload?.startsWith('mark:') !== true) return
    unacknowledged.push(`ack:${processId}:${payload.slice('mark:'.length)}`)
    if (listener.acking) void acknowledge()
  })
  await client.query(`LISTEN ${changeChannel}`)
  listener.pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid
  return listener
}

/** A request whose answer the test can look for before awaiting it. */
function watched<T> (request: Promise<T>): { answered: () => boolean, answer: Promise<T> } {
  let answered = false
  const answer = request.then((value) => { answered = true; return value })
  return { answered: () => answered, answer }
}

async function rest (app: App, method: string, url: string, headers: Record<string, string> = {}, payload?: unknown) {
  return await app.inject({ method: method as 'GET', url, headers, ...(payload === undefined ? {} : { payload: payload as object }) })
}

async function xmlrpc (app: App, headers: Record<string, string>, method: string, ...params: string[]): Promise<string> {
  const body = `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${
    params.map((p) => `<param><value><string>${p}</string></value></param>`).join('')}</params></methodCall>`
  const response = await app.inject({ method: 'POST', url: '/xmlrpc', headers: { ...headers, 'content-type': 'text/xml' }, payload: body })
  if (response.body.includes('<fault>')) throw new Error(`XML-RPC fault: ${response.body}`)
  return response.body
}

async function jsonrpc (app: App, key: string, method: string, args: Record<string, unknown> = {}): Promise<any> {
  const response = await app.inject({ method: 'POST', url: '/_admin/api', payload: { id: 1, api_key: key, method, args } })
  const { result, error } = response.json()
  if (error !== null) throw new Error(`JSON-RPC error: ${String(error)}`)
  return result
}

/** The reader's answers through the three faces, as text, to look for a value in. */
async function everyFace (w: Pair, rest: () => Promise<string>, xml: () => Promise<string>, json: () => Promise<unknown>): Promise<string[]> {
  return [await rest(), await xml(), JSON.stringify(await json())]
}

for (const kind of databaseKinds) {
  t.test(`${kind}: a write through one instance is read through the other at once`, async (t) => {
    const w = await pair(t, kind)
    const admin = basic('admin')
    const { reader, writer } = w

    const servers = async (): Promise<string[]> => await everyFace(w,
      async () => (await rest(reader, 'GET', '/servers/')).body,
      async () => await xmlrpc(reader, admin, 'list', 'server'),
      async () => await jsonrpc(reader, w.keys.admin, 'get_servers'))
    t.notOk((await servers()).some((answer) => answer.includes('newcomer')), 'remembered before the write')
    t.equal((await rest(writer, 'POST', '/servers/', admin, { name: 'newcomer', url: 'https://newcomer.example.org' })).statusCode, 201)
    t.same((await servers()).map((answer) => answer.includes('newcomer')), [true, true, true], 'a new server, through REST, XML-RPC and JSON-RPC')

    const listed = async (): Promise<string> => (await rest(reader, 'GET', '/services/?limit=100')).body
    t.notOk((await listed()).includes('fresh::pasteur'))
    t.equal((await rest(writer, 'POST', '/services/', admin, { name: 'fresh', server: 'pasteur', type: 'program' })).statusCode, 201)
    t.ok((await listed()).includes('fresh::pasteur'), 'a new service')
    t.match(JSON.parse(await listed())['fresh::pasteur'], { authorized: true })
    await rest(writer, 'PATCH', '/services/fresh::pasteur', admin, { disabled: true })
    t.match(JSON.parse(await listed())['fresh::pasteur'], { authorized: false, disabled: true }, 'a service disabled')

    const contributor = w.ids.contributor
    const user = async (): Promise<string[]> => await everyFace(w,
      async () => (await rest(reader, 'GET', `/users/${contributor}`, admin)).body,
      async () => await xmlrpc(reader, admin, 'display', `user${contributor}`),
      async () => await jsonrpc(reader, w.keys.admin, 'get_user', { userid: contributor }))
    t.notOk((await user()).some((answer) => answer.includes('Renamed')))
    t.equal((await rest(writer, 'PATCH', `/users/${contributor}`, admin, { firstname: 'Renamed' })).statusCode, 200)
    t.same((await user()).map((answer) => answer.includes('Renamed')), [true, true, true], 'a user changed, through every face')

    const project = async (): Promise<string[]> => await everyFace(w,
      async () => (await rest(reader, 'GET', `/projects/${w.projectId}`, basic('owner'))).body,
      async () => await xmlrpc(reader, basic('owner'), 'display', `project${w.projectId}`),
      async () => await jsonrpc(reader, w.keys.owner, 'get_repo', { repoid: 'genomics' }))
    t.notOk((await project()).some((answer) => answer.includes('rewritten')))
    t.equal((await rest(writer, 'PATCH', `/projects/${w.projectId}`, basic('owner'), { description: 'rewritten' })).statusCode, 200)
    t.same((await project()).map((answer) => answer.includes('rewritten')), [true, true, true], 'a project changed, through every face')

    // Writes through the RPC faces are announced as well.
    await xmlrpc(writer, admin, 'set', `user${contributor}`, 'lastname=ByXmlRpc')
    t.ok((await rest(reader, 'GET', `/users/${contributor}`, admin)).body.includes('ByXmlRpc'), 'a write through XML-RPC')
    await jsonrpc(writer, w.keys.admin, 'update_user', { userid: contributor, lastname: 'ByJsonRpc' })
    t.ok((await rest(reader, 'GET', `/users/${contributor}`, admin)).body.includes('ByJsonRpc'), 'a write through JSON-RPC')
  })

  t.test(`${kind}: a permission taken away through one instance is refused through the other at once`, async (t) => {
    const w = await pair(t, kind)
    const { reader, writer } = w
    const admin = basic('admin')
    const project = `/projects/${w.projectId}`

    t.equal((await rest(reader, 'GET', project, basic('watcher'))).statusCode, 200)
    t.equal((await rest(writer, 'DELETE', `${project}/members/${w.ids.watcher}`, basic('owner'))).statusCode, 204)
    t.equal((await rest(reader, 'GET', project, basic('watcher'))).statusCode, 404, 'a member removed')

    t.equal((await rest(reader, 'GET', project, basic('groupie'))).statusCode, 200)
    t.equal((await rest(writer, 'PATCH', '/groups/lab', admin, { active: false })).statusCode, 200)
    t.equal((await rest(reader, 'GET', project, basic('groupie'))).statusCode, 404, 'the granting group deactivated')

    // A write into a project checks the caller's role against the project's remembered roster.
    t.equal((await rest(reader, 'POST', `${project}/jobs`, basic('manager'), { name: 'allowed', service: 'blast::pasteur', inputs: {} })).statusCode, 201)
    t.equal((await rest(writer, 'PUT', `${project}/members/${w.ids.manager}`, basic('owner'), { role: 'watcher' })).statusCode, 200)
    t.equal((await rest(reader, 'POST', `${project}/jobs`, basic('manager'), { name: 'refused', service: 'blast::pasteur', inputs: {} })).statusCode, 403, 'a role lowered')

    t.equal((await rest(reader, 'GET', project, basic('contributor'))).statusCode, 200)
    t.equal((await rest(writer, 'PATCH', `/users/${w.ids.contributor}`, admin, { status: 'suspended' })).statusCode, 200)
    t.equal((await rest(reader, 'GET', project, basic('contributor'))).statusCode, 403, 'a user suspended')

    const byKey = { 'x-api-key': w.keys.manager }
    t.equal((await rest(reader, 'GET', project, byKey)).statusCode, 200)
    const [keyId] = Object.keys((await rest(writer, 'GET', `/users/${w.ids.manager}/api-keys`, admin)).json())
    t.equal((await rest(writer, 'DELETE', `/users/${w.ids.manager}/api-keys/${keyId!}`, admin)).statusCode, 204)
    t.equal((await rest(reader, 'GET', project, byKey)).statusCode, 401, 'an API key revoked')
    t.equal((await jsonrpc(reader, w.keys.admin, 'get_user', { userid: w.ids.manager }).then(() => 'ok')), 'ok')
    const revoked = await reader.inject({ method: 'POST', url: '/_admin/api', payload: { id: 1, api_key: w.keys.manager, method: 'get_repo', args: { repoid: 'genomics' } } })
    t.not(revoked.json().error, null, 'the revoked key is refused by JSON-RPC too')

    t.equal((await rest(reader, 'GET', project, basic('manager'))).statusCode, 200, 'a remembered password')
    t.equal((await rest(writer, 'PATCH', `/users/${w.ids.manager}`, admin, { password: 'a new password' })).statusCode, 200)
    t.equal((await rest(reader, 'GET', project, basic('manager'))).statusCode, 401, 'a password changed')
    t.equal((await rest(reader, 'GET', project, basic('manager', 'a new password'))).statusCode, 200)
  })

  t.test(`${kind}: failed logins through one instance count at once through the other`, async (t) => {
    const w = await pair(t, kind)
    const { reader, writer } = w
    const own = `/users/${w.ids.watcher}`
    t.equal((await rest(reader, 'GET', own, basic('watcher'))).statusCode, 200, 'a password the reader now remembers')
    t.equal((await rest(reader, 'GET', own, basic('watcher'))).statusCode, 200)
    for (let i = 0; i < 4; i++) t.equal((await rest(writer, 'GET', own, basic('watcher', `guess ${i}`))).statusCode, 401)
    t.equal((await rest(reader, 'GET', own, basic('watcher'))).statusCode, 429, "the writer's four failures refuse the remembered password too")
    t.equal((await rest(reader, 'GET', `/users/${w.ids.contributor}`, basic('contributor'))).statusCode, 200, 'other usernames are not concerned')
  })

  t.test(`${kind}: answers are remembered per question and caller, and a change made outside the server is seen`, async (t) => {
    const db = await freshDatabase(t, kind)
    const app = await appOn(t, db)
    const w = await seed(app.domain)
    const { domain } = app
    const first = await domain.servers.list(anonymous)
    t.equal(await domain.servers.list(anonymous), first, 'the same question: the same answer, from memory')
    t.ok(Object.isFrozen(first) && Object.isFrozen(first.items[0]), 'shared answers are frozen')
    t.not(await domain.servers.list(anonymous, { name: 'pasteur' }), first, 'another question')

    const hidden = 'hidden::private::pasteur'
    t.notOk((await domain.services.list(anonymous)).items.some((s) => s.fullName === hidden))
    t.ok((await domain.services.list(w.actors.outsider)).items.some((s) => s.fullName === hidden), "the outsider's own service")
    t.notOk((await domain.services.list(w.actors.watcher)).items.some((s) => s.fullName === hidden), 'never handed to another caller')
    await t.rejects(domain.projects.get(w.actors.watcher, w.otherProjectId), { code: 'not_found' })
    t.equal((await domain.projects.get(w.actors.outsider, w.otherProjectId)).name, 'private')
    await t.rejects(domain.projects.get(w.actors.watcher, w.otherProjectId), { code: 'not_found' }, 'a remembered absence stays an absence')

    // As psql would: the database announces the change itself.
    await db.prisma.$executeRaw`UPDATE "server" SET description = 'edited by hand' WHERE name = 'pasteur'`
    await until('the hand edit is read', async () =>
      (await domain.servers.get(anonymous, 'pasteur')).description === 'edited by hand')
    t.pass('a change made in the database directly is seen')
    t.equal((await app.inject({ url: `/users/${formatId(w.ids.watcher)}`, headers: basic('watcher') })).statusCode, 200)
  })
}

t.test('postgresql: with the notification connection down nothing is served from memory', {
  skip: databaseKinds.includes('postgresql') ? false : 'TEST_DATABASE_URL is not set'
}, async (t) => {
  // The reader waits a second and a half before it reconnects: long enough to write and read meanwhile.
  const w = await pair(t, 'postgresql', { firstRetryMs: 1500, maxRetryMs: 1500 })
  const { reader, writer, readerDb } = w
  const admin = basic('admin')
  const names = async (): Promise<string[]> => Object.keys((await rest(reader, 'GET', '/servers/')).json())
  const heard: string[] = []
  readerDb.changes.subscribe({ changed: () => {}, deaf: () => heard.push('deaf'), hearing: () => heard.push('hearing') })
  await names()

  const killer = new pg.Client({ connectionString: w.url })
  await killer.connect()
  t.teardown(() => killer.end())
  const { rows } = await killer.query<{ killed: boolean }>(
    'SELECT pg_terminate_backend(pid, 5000) AS killed FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1',
    [feedApplicationName])
  t.equal(rows.length, 2, "both instances' listening connections")
  await until('the reader notices', () => heard.includes('deaf'))
  t.notOk(readerDb.changes.hearing)

  await rest(writer, 'POST', '/servers/', admin, { name: 'during', url: 'https://during.example.org' })
  t.ok((await names()).includes('during'), 'a write while the reader cannot hear is read at once')
  await rest(writer, 'PATCH', '/servers/during', admin, { description: 'changed while deaf' })
  t.equal((await rest(reader, 'GET', '/servers/during')).json().description, 'changed while deaf', 'and every write after it')
  t.same(heard, ['deaf'], 'still deaf: the answers above came from the database')

  await until('the reader hears again', () => heard.includes('hearing'))
  t.ok((await names()).includes('during'), 'and after it hears again')
  await rest(writer, 'POST', '/servers/', admin, { name: 'after', url: 'https://after.example.org' })
  t.ok((await names()).includes('after'), 'the next write is heard')
})

t.test('postgresql: a write is answered once every other listening process has heard it', {
  skip: databaseKinds.includes('postgresql') ? false : 'TEST_DATABASE_URL is not set'
}, async (t) => {
  // Without every acknowledgement the writer would wait a minute, past the test's patience.
  const w = await pair(t, 'postgresql', undefined, { boundMs: 60_000 })
  const admin = basic('admin')
  const listener = await silentListener(t, w.url!)
  const { unacknowledged } = listener

  const write = watched(rest(w.writer, 'PATCH', '/servers/pasteur', admin, { description: 'acknowledged' }))
  await until("the listener hears the write's mark", () => unacknowledged.length > 0)
  // The mark is out; nothing the writer does next can answer the write but the listener's acknowledgement.
  await new Promise((resolve) => setImmediate(resolve))
  t.notOk(write.answered(), 'not answered while a listening process has not acknowledged it')
  await listener.ackFromNowOn()
  t.equal((await write.answer).statusCode, 200, 'answered once every listener has, the other server included')
  t.equal((await rest(w.reader, 'GET', '/servers/pasteur')).json().description, 'acknowledged')

  // As the command line writes: a process that does not listen, with no cache of its own.
  const cliDb = await openDatabase({ url: w.url, poolSize: 1, feed: { boundMs: 60_000 } })
  t.teardown(() => cliDb.close())
  await rest(w.reader, 'GET', '/servers/pasteur')
  await openDomain(cliDb, { cacheEntries: 0 }).domain.servers.update(w.actors.admin, 'pasteur', { description: 'from the command line' })
  t.equal((await rest(w.reader, 'GET', '/servers/pasteur')).json().description, 'from the command line',
    "the command line's write is read through a server at once")
  t.ok(cliDb.changes.hearing, 'the command line listened to be acknowledged')

  // A listening process that never answers holds a write back for no longer than the bound. Writers
  // wait only for listeners that ran a query within the bound (one still for longer serves nothing
  // from memory): the silent one runs one just before the write.
  listener.acking = false
  const boundMs = 1000
  const impatient = await openDatabase({ url: w.url, poolSize: 1, feed: { boundMs } })
  t.teardown(() => impatient.close())
  const domain = openDomain(impatient, { cacheEntries: 0 }).domain
  await listener.stir()
  const started = performance.now()
  await domain.servers.update(w.actors.admin, 'pasteur', { description: 'unacknowledged' })
  t.ok(performance.now() - started >= boundMs, 'answered once the bound passed')
  t.ok(unacknowledged.length > 0, 'the silent listener heard the mark and did not answer')
  t.equal((await rest(w.reader, 'GET', '/servers/pasteur')).json().description, 'unacknowledged')

  // A dispatcher's own writes answer no client: the writer (whose bound is a minute) waits for nobody.
  await listener.stir()
  const marks = unacknowledged.length
  const queue = w.writer.domain.jobQueue
  const dispatching = performance.now()
  const [claimed] = await queue.claim('test-worker', 'local', 1)
  t.equal(claimed?.id, w.jobId, 'the queued job is claimed')
  t.ok(await queue.finish(claimed!, { state: 'ok', exitCode: 0 }), 'and ended')
  t.ok(performance.now() - dispatching < 30_000, 'without waiting for the silent listener')
  t.equal(unacknowledged.length, marks, 'no mark sent for them')
  const job = `/projects/${formatId(w.projectId)}/jobs/${formatId(w.jobId)}`
  await until('the other server reads the job ended', async () => (await rest(w.reader, 'GET', job, admin)).json().state === 'ok')
})

t.test('postgresql: a write made while the writer cannot listen is answered once the bound has passed', {
  skip: databaseKinds.includes('postgresql') ? false : 'TEST_DATABASE_URL is not set'
}, async (t) => {
  // The writer listens again only after ten seconds; its bound is a second and a half.
  const w = await pair(t, 'postgresql', undefined, { boundMs: 1500, firstRetryMs: 10_000, maxRetryMs: 10_000 })
  const admin = basic('admin')
  await rest(w.writer, 'GET', '/servers/', admin) // the password is checked (and remembered) before the test
  await rest(w.reader, 'GET', '/servers/pasteur')
  const killer = new pg.Client({ connectionString: w.url })
  await killer.connect()
  t.teardown(() => killer.end())
  await killer.query(`SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity
     WHERE datname = current_database() AND application_name = $1`, [feedApplicationName])
  await until('the writer notices', () => !w.writerDb.changes.hearing)

  const started = performance.now()
  const write = await rest(w.writer, 'PATCH', '/servers/pasteur', admin, { description: 'written while deaf' })
  const waited = performance.now() - started
  t.equal(write.statusCode, 200)
  t.ok(waited >= 1500 && waited < 8000, `answered once the bound passed, before the writer listens again (${Math.round(waited)} ms)`)
  t.equal((await rest(w.reader, 'GET', '/servers/pasteur')).json().description, 'written while deaf')
})

/** A feed the test switches by hand, to look at the read model alone. */
class ManualFeed implements ChangeFeed {
  hearing = true
  get current () { return this.hearing }
  private readonly listeners = new Set<ChangeListener>()
  subscribe (listener: ChangeListener) { this.listeners.add(listener); return () => { this.listeners.delete(listener) } }
  async close () {}
  async caughtUp () {}
  change (table?: string) { for (const l of this.listeners) l.changed({ kind: 'data', table }) }
  deafen () { this.hearing = false; for (const l of this.listeners) l.deaf() }
  hear () { this.hearing = true; for (const l of this.listeners) l.hearing() }
}

/** Reads of `model` under one question, reading `tables`. */
function asker (model: ReadModel, tables: Table[] = ['server']) {
  return async <T>(question: string, compute: () => Promise<T>, ...args: unknown[]) => await model.read(tables, question, args, compute)
}

t.test('the read model on its own', async (t) => {
  const feed = new ManualFeed()
  const model = new ReadModel(feed, { maxEntries: 2 })
  const read = asker(model)
  let computed = 0
  const answer = async (value: string) => { computed++; return { value } }

  t.equal(await read('a', async () => await answer('a')), await read('a', async () => await answer('other')))
  t.equal(computed, 1, 'asked twice, computed once')

  let release: () => void = () => {}
  const slow = read('b', async () => { await new Promise<void>((resolve) => { release = resolve }); return await answer('old') })
  feed.change('server')
  release()
  t.same(await slow, { value: 'old' }, 'a read under way when something changed still answers its caller')
  t.same(await read('b', async () => await answer('new')), { value: 'new' }, 'but is not given again')

  await t.rejects(read('missing', async () => { computed++; throw new NotFound('server', 'x') }), { code: 'not_found' })
  await t.rejects(read('missing', async () => await answer('found')), { code: 'not_found' }, 'an absence is remembered')
  await t.rejects(read('broken', async () => { throw new Error('connection lost') }), { message: 'connection lost' })
  t.same(await read('broken', async () => await answer('fine')), { value: 'fine' }, 'a failure is not')

  await read('c', async () => await answer('c'))
  await read('d', async () => await answer('d'))
  t.ok(model.size <= 2, `at most maxEntries answers (${model.size})`)

  const recent = asker(new ReadModel(feed, { maxEntries: 2 }))
  await recent('x', async () => await answer('x'))
  await recent('y', async () => await answer('y'))
  await recent('x', async () => await answer('x again'))
  await recent('z', async () => await answer('z'))
  t.same(await recent('x', async () => await answer('x, a third time')), { value: 'x' }, 'the answer asked for again stays')
  t.same(await recent('z', async () => await answer('z again')), { value: 'z' }, 'and so does the newest')
  t.same(await recent('y', async () => await answer('y again')), { value: 'y again' }, 'the one not asked for again went')

  const boundedModel = new ReadModel(feed, { maxEntries: 100, maxValues: 50 })
  const bounded = asker(boundedModel)
  const list = async (n: number) => Array.from({ length: n }, (_, i) => ({ i }))
  await bounded('small', async () => await list(5))
  await bounded('large', async () => await list(20))
  t.equal(boundedModel.size, 1, 'holding too many values, the least recently used answer goes')
  const huge = await bounded('huge', async () => await list(100))
  t.equal(huge.length, 100)
  t.equal(boundedModel.size, 1, 'an answer larger than the bound alone is kept, alone')

  feed.deafen()
  t.equal(model.size, 0, 'deaf: everything forgotten')
  const before = computed
  await read('e', async () => await answer('e'))
  await read('e', async () => await answer('e'))
  t.equal(computed, before + 2, 'and nothing given again while deaf')
  feed.hear()

  const off = asker(new ReadModel(feed, { maxEntries: 0 }))
  await off('f', async () => await answer('f'))
  await off('f', async () => await answer('f'))
  t.equal(computed, before + 4, 'maxEntries 0: nothing remembered')
})

t.test('a question is the same question only while its parts say the same', async (t) => {
  const read = asker(new ReadModel(new ManualFeed(), { maxEntries: 100 }))
  const ask = async (question: string, value: string, ...args: unknown[]) => await read(question, async () => ({ value }), ...args)

  const actor = Object.freeze({ kind: 'user', id: 1 })
  t.same(await ask('get', 'first', actor, 1), { value: 'first' })
  t.same(await ask('get', 'second', Object.freeze({ kind: 'user', id: 1 }), 1), { value: 'first' },
    'an equal actor asks the same question (its JSON is the key, written once per frozen actor)')
  t.same(await ask('get', 'other', Object.freeze({ kind: 'user', id: 2 }), 1), { value: 'other' }, 'another actor does not')
  t.same(await ask('get', 'one argument more', actor, 1, 2), { value: 'one argument more' }, 'nor do other arguments')

  const filter = { name: 'a' }
  t.same(await ask('list', 'a', filter), { value: 'a' })
  filter.name = 'b'
  t.same(await ask('list', 'b', filter), { value: 'b' }, 'an argument changed in place is another question')

  const shallow = Object.freeze({ filter: { name: 'a' } })
  t.same(await ask('list', 'shallow a', shallow), { value: 'shallow a' })
  shallow.filter.name = 'b'
  t.same(await ask('list', 'shallow b', shallow), { value: 'shallow b' }, 'so is one inside a frozen object that is not frozen itself')

  const date = Object.freeze(new Date(0))
  t.same(await ask('since', 'epoch', date), { value: 'epoch' })
  date.setTime(1000)
  t.same(await ask('since', 'a second later', date), { value: 'a second later' }, 'a frozen Date can still be set')
})

t.test('a change forgets only the answers that read its table', async (t) => {
  const feed = new ManualFeed()
  const model = new ReadModel(feed, { maxEntries: 10 })
  let computed = 0
  const logins = { read: asker(model, ['user', 'api_key']), question: 'byApiKeyDigest' }
  const services = { read: asker(model, ['service', 'server', 'project']), question: 'services' }
  const remembered = async ({ read, question }: typeof logins) => {
    const before = computed
    await read(question, async () => ({ computed: ++computed }))
    return computed === before
  }

  await remembered(logins); await remembered(services)
  feed.change('job')
  t.ok(await remembered(logins) && await remembered(services), 'a job changed: neither reads jobs, both stay')
  feed.change('service')
  t.ok(await remembered(logins), 'a service changed: the login records stay')
  t.notOk(await remembered(services), 'the services answer is read again')
  feed.change('api_key')
  t.notOk(await remembered(logins), 'a key changed: read again')
  t.ok(await remembered(services))
  feed.change()
  t.notOk(await remembered(logins), "a change that names no table (an older server's notice): everything read again")
  t.notOk(await remembered(services))

  await model.write(['project'], async () => {})
  t.notOk(await remembered(services), 'once this process has written a table, the answers that read it are stale')
  t.ok(await remembered(logins), 'reads of other tables stay')
  t.ok(await remembered(services))
  await t.rejects(model.write(['service'], async () => { throw new NotFound('service', 'x') }))
  t.ok(await remembered(services), 'a refused write wrote nothing: nothing is forgotten')
  await t.rejects(model.write(['service'], async () => { throw new Error('connection lost') }))
  t.notOk(await remembered(services), 'a write that failed otherwise may have written')

  t.same(parseChange('data'), { kind: 'data' })
  t.same(parseChange('data:api_key'), { kind: 'data', table: 'api_key' }, 'the triggers name the table')
})

/** A service as the domain's are written: declared reads and writes, and a write that reads what it wrote. */
class Counter {
  value = 0
  @reads('server')
  async get (): Promise<{ value: number }> { return { value: this.value } }

  @writes('server')
  async increment (): Promise<{ value: number }> {
    this.value++
    return await this.get()
  }
}

t.test('a service wrapped by the read model: callers get remembered reads, the service itself reads afresh', async (t) => {
  const counter = remembering(new ReadModel(new ManualFeed(), { maxEntries: 10 }), new Counter())
  t.same(await counter.get(), { value: 0 })
  counter.value = 5
  t.same(await counter.get(), { value: 0 }, 'a declared read is remembered for its callers')
  t.same(await counter.increment(), { value: 6 }, 'inside the write, its own read reaches the service, not the memory')
  t.same(await counter.get(), { value: 6 }, 'and after it, the table it declared is changed for everyone')
})
