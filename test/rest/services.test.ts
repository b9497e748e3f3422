import t from 'tap'
import { systemActor } from '../../src/domain/index.ts'
import { databaseKinds } from '../helper.ts'
import { seededApp, suspensionReason } from '../fixtures.ts'
import { basic, problemOf } from './fixtures.ts'

for (const kind of databaseKinds) {
  t.test(`${kind}: /services`, async (t) => {
    const { app, domain } = await seededApp(t, kind)
    // The services below live on a server of their own, apart from the world's on `pasteur` and `inactive`.
    await domain.servers.create(systemActor, { name: 'main', url: 'http://main.example' })
    const admin = basic('admin')

    t.test('administrators manage server-level services', async (t) => {
      const created = await app.inject({
        method: 'POST', url: '/services', headers: admin, payload: { name: 'blast', server: 'main', type: 'program', exported: true }
      })
      t.equal(created.statusCode, 201)
      t.equal(created.headers.location, '/services/blast::main')
      t.same(created.json(), {
        name: 'blast', server: 'main', type: 'program', exported: true, disabled: false, authorized: true, description: ''
      }, 'a server-level service has no project member')
      const taken = problemOf(await app.inject({ method: 'POST', url: '/services', headers: admin, payload: { name: 'blast', server: 'main', type: 'program' } }), 409)
      t.same(taken.errors, [{ field: 'name', message: 'is taken' }], 'a second service of that name at that server: the name is taken')
      t.match(taken.detail, /blast::main/)
      problemOf(await app.inject({ method: 'POST', url: '/services', headers: basic('owner'), payload: { name: 'x', server: 'main', type: 'program' } }), 403)
      problemOf(await app.inject({ method: 'POST', url: '/services', payload: { name: 'x', server: 'main', type: 'program' } }), 401)

      const disabled = await app.inject({ method: 'PATCH', url: '/services/blast::main', headers: admin, payload: { disabled: true } })
      t.equal(disabled.statusCode, 200)
      t.equal(disabled.json().disabled, true)
      t.equal(disabled.json().authorized, false, 'a disabled service cannot be called')
      problemOf(await app.inject({ method: 'PATCH', url: '/services/blast::main', headers: basic('manager'), payload: { disabled: false } }), 403)
    })

    t.test("a project's owner and managers manage its services", async (t) => {
      const created = await app.inject({
        method: 'POST', url: '/services', headers: basic('manager'), payload: { name: 'flow', server: 'main', project: 'genomics', type: 'workflow' }
      })
      t.equal(created.statusCode, 201)
      t.equal(created.headers.location, '/services/flow::genomics::main')
      t.same(created.json(), {
        name: 'flow', server: 'main', project: 'genomics', type: 'workflow', exported: false, disabled: false, authorized: true, description: ''
      })
      problemOf(await app.inject({
        method: 'POST', url: '/services', headers: basic('contributor'), payload: { name: 'other', server: 'main', project: 'genomics', type: 'widget' }
      }), 403)
      t.equal((await app.inject({ method: 'PATCH', url: '/services/flow::genomics::main', headers: basic('owner'), payload: { exported: true } })).statusCode, 200)
      t.equal((await app.inject({ method: 'PATCH', url: '/services/flow::genomics::main', headers: basic('owner'), payload: { exported: false } })).statusCode, 200)
      problemOf(await app.inject({ method: 'DELETE', url: '/services/flow::genomics::main', headers: basic('watcher') }), 403)
      t.equal((await app.inject({ url: '/services/flow::genomics::main', headers: basic('watcher') })).json().authorized, true)
      problemOf(await app.inject({ url: '/services/flow::genomics::main', headers: basic('outsider') }), 404) // an unexported project service is hidden from outsiders
    })

    t.test('the collection is keyed by full name and says what the caller may call', async (t) => {
      await domain.services.create(systemActor, { name: 'clustal', server: 'main', type: 'program' })
      const asWatcher = (await app.inject({ url: '/services/?server=main', headers: basic('watcher') })).json()
      t.same(Object.keys(asWatcher), ['blast::main', 'clustal::main', 'flow::genomics::main'])
      t.equal(asWatcher['clustal::main'].authorized, true)
      t.equal(asWatcher['blast::main'].authorized, false)

      const asOutsider = (await app.inject({ url: '/services?server=main', headers: basic('outsider') })).json()
      t.same(Object.keys(asOutsider), ['blast::main', 'clustal::main'])

      const anonymous = await app.inject({ url: '/services?server=main' })
      t.equal(anonymous.statusCode, 200)
      t.equal(anonymous.headers['x-total-count'], '2')

      t.same(Object.keys((await app.inject({ url: '/services?server=main&server_level=false', headers: admin })).json()), ['flow::genomics::main'])
      t.same(Object.keys((await app.inject({ url: '/services?server=main&server_level=true', headers: admin })).json()), ['blast::main', 'clustal::main'])
      t.same(Object.keys((await app.inject({ url: '/services?server=main&type=workflow&project=genomics', headers: admin })).json()), ['flow::genomics::main'])
      t.same(Object.keys((await app.inject({ url: '/services?server=main&disabled=true', headers: admin })).json()), ['blast::main'])
      const paged = await app.inject({ url: '/services?server=main&limit=1&offset=1', headers: admin })
      t.same(Object.keys(paged.json()), ['clustal::main'])
      t.match(paged.headers.link, /rel="next".*rel="prev"/)
      problemOf(await app.inject({ url: '/services?type=spreadsheet' }), 400)
    })

    t.test('suspended and pending accounts are refused with their status', async (t) => {
      const suspended = problemOf(await app.inject({ url: '/services', headers: basic('suspended') }), 403)
      t.equal(suspended.account_status, 'suspended')
      t.equal(suspended.status_message, suspensionReason)
      const pending = problemOf(await app.inject({ url: '/services/clustal::main', headers: basic('pending') }), 403)
      t.equal(pending.account_status, 'pending')
    })

    t.test('full names are checked', async (t) => {
      for (const bad of ['blast', 'a::b::c::d', 'a::::b', '::main', 'bl%20ast::main']) {
        const problem = problemOf(await app.inject({ url: `/services/${bad}` }), 400)
        t.equal(problem.errors?.[0]?.field, 'fullname', bad)
      }
      problemOf(await app.inject({ url: '/services/nothing::main' }), 404)
      const deleted = await app.inject({ method: 'DELETE', url: '/services/blast::main', headers: admin })
      t.equal(deleted.statusCode, 204)
    })
  })
}
