/**
 * Federation between real servers: two and three app instances listening on
 * 127.0.0.1, each on its own database, sync each other's exported services
 * through REST, JSON-RPC pull and XML-RPC action("sync"); a peer that goes away
 * keeps its last good copy; peers registered on each other do not grow.
 */
import t from 'tap'
import { systemActor } from '../../src/domain/index.ts'
import { basic, password } from '../fixtures.ts'
import { databaseKinds } from '../helper.ts'
import { startServer, type Peer } from './servers.ts'

async function anonymousServices (peer: Peer): Promise<Record<string, any>> {
  const response = await peer.app.inject({ method: 'GET', url: '/services/?limit=1000' })
  return response.json()
}

for (const kind of databaseKinds) {
  t.test(`two servers (${kind})`, async (t) => {
    const a = await startServer(t, 'alpha', kind)
    const b = await startServer(t, 'beta', kind)

    // alpha's own catalogue: exported, private, disabled, and a project's exported service.
    t.equal((await a.call('POST', '/services', { name: 'blast', type: 'program', exported: true, description: 'v1' })).status, 201)
    t.equal((await a.call('POST', '/services', { name: 'secret', type: 'program' })).status, 201)
    t.equal((await a.call('POST', '/services', { name: 'clustal', type: 'program', exported: true, disabled: true })).status, 201)
    t.equal((await a.call('POST', '/projects', { name: 'genomes' })).status, 201)
    t.equal((await a.call('POST', '/services', { name: 'assemble', project: 'genomes', type: 'workflow', exported: true })).status, 201)

    t.test('this server is in its own /servers/, and is no peer of itself', async (t) => {
      const servers = (await a.app.inject({ method: 'GET', url: '/servers/' })).json()
      t.match(servers.alpha, { url: a.url, active: true, services: ['assemble', 'blast', 'clustal', 'secret'] })
      const self = await a.call('POST', '/servers/alpha/sync')
      t.equal(self.status, 400)
      t.match(self.body.detail, /alpha is this server/)
    })

    t.equal((await b.call('POST', '/servers', { name: 'alpha', url: a.url })).status, 201)

    t.test('only administrators sync; an unknown server is 404', async (t) => {
      t.equal((await b.app.inject({ method: 'POST', url: '/servers/alpha/sync' })).statusCode, 401)
      await b.app.domain.users.create(systemActor, { username: 'user', password })
      t.equal((await b.app.inject({ method: 'POST', url: '/servers/alpha/sync', headers: basic('user') })).statusCode, 403)
      t.equal((await b.call('POST', '/servers/gamma/sync')).status, 404)
    })

    await t.test('a sync copies the peer\'s own exported services', async (t) => {
      const sync = await b.call('POST', '/servers/alpha/sync')
      t.equal(sync.status, 200, JSON.stringify(sync.body))
      t.match(sync.body, { name: 'alpha', added: 3, changed: 0, removed: 0, unchanged: 0, ignored: 0, shadowed: 0 }, 'alpha is asked for its exported services only')
      t.match(sync.body.server, { url: a.url, active: true, last_sync_at: String })
      t.notOk('last_sync_error' in sync.body.server)
      const services = await anonymousServices(b)
      t.same(Object.keys(services).sort(), ['assemble::genomes::alpha', 'blast::alpha', 'clustal::alpha'])
      t.same(services['blast::alpha'], {
        name: 'blast', server: 'alpha', type: 'program', exported: true, disabled: false, authorized: true, description: 'v1'
      })
      t.match(services['clustal::alpha'], { disabled: true, authorized: false })
      t.match(services['assemble::genomes::alpha'], { project: 'genomes', type: 'workflow', authorized: true })
      const read = await b.app.inject({ method: 'GET', url: '/services/assemble::genomes::alpha' })
      t.equal(read.statusCode, 200)
      const filtered = await b.app.inject({ method: 'GET', url: '/services/?project=genomes' })
      t.same(Object.keys(filtered.json()), ['assemble::genomes::alpha'])
      const serverLevel = await b.app.inject({ method: 'GET', url: '/services/?server_level=true' })
      t.same(Object.keys(serverLevel.json()).sort(), ['blast::alpha', 'clustal::alpha'])
    })

    await t.test('the RPC faces show the copies and the outcome too', async (t) => {
      const rpc = await b.app.inject({
        method: 'POST', url: '/_admin/api', payload: { id: 1, api_key: b.key, method: 'get_service', args: { serviceid: 'assemble::genomes::alpha' } }
      })
      t.same(rpc.json().result, {
        name: 'assemble', server: 'alpha', project: 'genomes', type: 'workflow', exported: true, disabled: false, authorized: true, description: ''
      })
      const server = await b.app.inject({
        method: 'POST', url: '/_admin/api', payload: { id: 2, api_key: b.key, method: 'get_server', args: { serverid: 'alpha' } }
      })
      t.match(server.json().result, { name: 'alpha', services: ['assemble', 'blast', 'clustal'], active: true, last_sync_at: String })
      const xml = (method: string, ...strings: string[]): string => `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${
        strings.map((s) => `<param><value><string>${s}</string></value></param>`).join('')}</params></methodCall>`
      const post = async (body: string): Promise<string> =>
        (await b.app.inject({ method: 'POST', url: '/xmlrpc', headers: { ...b.admin, 'content-type': 'text/xml' }, payload: body })).body
      t.match(await post(xml('lookup', 'service', 'blast::alpha')), /<string>\d+<\/string>/)
      const serverId = (await b.app.domain.servers.get(systemActor, 'alpha')).id
      const display = await post(xml('display', `server${serverId}`, 'lastsync', 'syncerror'))
      t.match(display, /<name>lastsync<\/name>\s*<value><dateTime\.iso8601>/)
      t.match(display, /<name>syncerror<\/name>\s*<value><nil\/><\/value>/)
    })

    await t.test('a copy is changed only by syncing', async (t) => {
      const patch = await b.call('PATCH', '/services/blast::alpha', { description: 'mine' })
      t.equal(patch.status, 409)
      t.match(patch.body.detail, /copy of one exported by server alpha/)
      t.equal((await b.call('DELETE', '/services/blast::alpha')).status, 409)
      t.equal((await b.call('POST', '/services', { name: 'blast', server: 'alpha', type: 'program' })).status, 409)
    })

    await t.test('changes on the peer arrive with the next sync, through each face', async (t) => {
      t.equal((await a.call('PATCH', '/services/blast::alpha', { description: 'v2' })).status, 200)
      t.equal((await a.call('DELETE', '/services/clustal::alpha')).status, 204)
      t.equal((await a.call('POST', '/services', { name: 'muscle', type: 'program', exported: true })).status, 201)
      const pull = await b.app.inject({
        method: 'POST', url: '/_admin/api', payload: { id: 7, api_key: b.key, method: 'pull', args: { serverid: 'alpha' } }
      })
      t.same(pull.json(), { id: 7, result: 'Pulled from alpha', error: null })
      const services = await anonymousServices(b)
      t.same(Object.keys(services).sort(), ['assemble::genomes::alpha', 'blast::alpha', 'muscle::alpha'])
      t.equal(services['blast::alpha'].description, 'v2')

      t.equal((await a.call('POST', '/services', { name: 'mafft', type: 'program', exported: true })).status, 201)
      const serverId = (await b.app.domain.servers.get(systemActor, 'alpha')).id
      const xml = `<?xml version="1.0"?><methodCall><methodName>action</methodName><params>
        <param><value><string>sync</string></value></param><param><value><string>server${serverId}</string></value></param>
        </params></methodCall>`
      const action = await b.app.inject({ method: 'POST', url: '/xmlrpc', headers: { ...b.admin, 'content-type': 'text/xml' }, payload: xml })
      t.equal(action.statusCode, 200)
      t.match(action.body, /<name>added<\/name>\s*<value><int>1<\/int><\/value>/)
      t.match(action.body, /<name>unchanged<\/name>\s*<value><int>3<\/int><\/value>/)
      t.ok('mafft::alpha' in await anonymousServices(b))
    })

    await t.test('a local service of the same name is never overwritten', async (t) => {
      t.equal((await b.call('POST', '/services', { name: 'local-tool', server: 'alpha', type: 'program', description: 'b\'s own' })).status, 201)
      t.equal((await a.call('POST', '/services', { name: 'local-tool', type: 'program', exported: true, description: 'alpha\'s' })).status, 201)
      const sync = await b.call('POST', '/servers/alpha/sync')
      t.match(sync.body, { added: 0, shadowed: 1 })
      t.equal((await anonymousServices(b))['local-tool::alpha'].description, 'b\'s own')
    })

    await t.test('a peer that is down is marked inactive and its copy is kept', async (t) => {
      await a.app.close()
      const sync = await b.call('POST', '/servers/alpha/sync')
      t.equal(sync.status, 502)
      t.match(sync.body, { server: 'alpha', detail: /could not sync server alpha: connecting to 127\.0\.0\.1:\d+ was refused/ })
      const server = (await b.app.inject({ method: 'GET', url: '/servers/alpha' })).json()
      t.match(server, { active: false, last_sync_at: String, last_sync_error: /was refused/ })
      const services = await anonymousServices(b)
      t.same(Object.keys(services).sort(), ['assemble::genomes::alpha', 'blast::alpha', 'local-tool::alpha', 'mafft::alpha', 'muscle::alpha'])
      t.equal(services['blast::alpha'].authorized, false, 'a service on an inactive server is not callable')
      const pull = await b.app.inject({
        method: 'POST', url: '/_admin/api', payload: { id: 8, api_key: b.key, method: 'pull', args: { repoid: 'alpha' } }
      })
      t.match(pull.json(), { id: 8, result: null, error: /^could not sync server alpha: connecting to/ })
      const pull2 = await b.app.inject({
        method: 'POST', url: '/_admin/api', headers: { authorization: `Bearer ${b.key}` }, payload: { jsonrpc: '2.0', id: 9, method: 'pull', params: ['alpha'] }
      })
      t.match(pull2.json(), {
        jsonrpc: '2.0', id: 9, error: { code: -32052, message: /^could not sync server alpha: /, data: { reason: 'peer_failed', server: 'alpha' } }
      })
    })
  })

  t.test(`peers registered on each other do not grow, and do not pass on third parties (${kind})`, async (t) => {
    const a = await startServer(t, 'alpha', kind)
    const b = await startServer(t, 'beta', kind)
    const c = await startServer(t, 'gamma', kind)
    await a.call('POST', '/services', { name: 'blast', type: 'program', exported: true })
    await b.call('POST', '/services', { name: 'bowtie', type: 'program', exported: true })
    await a.call('POST', '/servers', { name: 'beta', url: b.url })
    await b.call('POST', '/servers', { name: 'alpha', url: a.url })
    await c.call('POST', '/servers', { name: 'alpha', url: a.url })
    for (let round = 0; round < 3; round++) {
      t.equal((await a.call('POST', '/servers/beta/sync')).status, 200)
      t.equal((await b.call('POST', '/servers/alpha/sync')).status, 200)
    }
    t.same(Object.keys(await anonymousServices(a)).sort(), ['blast::alpha', 'bowtie::beta'])
    t.same(Object.keys(await anonymousServices(b)).sort(), ['blast::alpha', 'bowtie::beta'])
    const third = await c.call('POST', '/servers/alpha/sync')
    t.match(third.body, { added: 1, ignored: 1 }, 'alpha\'s copy of beta\'s service is not passed on')
    t.same(Object.keys(await anonymousServices(c)).sort(), ['blast::alpha'])
  })
}
