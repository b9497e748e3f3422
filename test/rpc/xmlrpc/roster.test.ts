/**
 * A project's role lists are multilinks that `set` replaces, through Python's
 * own xmlrpc.client, as a manager who cannot read the other users' records.
 */
import t from 'tap'
import { systemActor } from '../../../src/domain/actor.ts'
import { databaseKinds } from '../../helper.ts'
import { password, seededApp } from '../../fixtures.ts'
import { askXmlRpc as ask, xmlrpcUrl } from './python.ts'

for (const kind of databaseKinds) {
  t.test(`${kind}: set() replaces a project's managers, contributors and watchers`, async (t) => {
    const { app, domain, ...s } = await seededApp(t, kind)
    const base = await app.listen({ host: '127.0.0.1', port: 0 })
    const url = (who: string): string => xmlrpcUrl(base, who, password)
    const project = `project${s.projectId}`
    const [set, shown, unchanged, ghost, owner] = await ask(url('manager'), [
      ['set', project, `watchers=outsider,${s.users.groupie.id}`],
      ['display', project, 'watchers'],
      ['set', project, `watchers=${s.users.groupie.id},outsider`],
      ['set', project, 'watchers=ghost'],
      ['set', project, 'managers=owner']
    ])
    const watchers = [s.users.groupie.id, s.users.outsider.id].sort((a, b) => a - b).map(String)
    t.same(set, { ok: { watchers } }, 'by username or id, and the changed list comes back')
    t.same(shown, { ok: { watchers } })
    t.same(unchanged, { ok: {} }, 'the same holders in another order change nothing')
    t.match(ghost, { fault: 400, message: /watchers.*no such user ghost/ })
    t.match(owner, { fault: 409 })
    t.same((await domain.projects.get(systemActor, s.projectId)).watchers.map(String), watchers, 'refused calls wrote nothing')

    const [refused] = await ask(url('contributor'), [['set', project, 'watchers=']])
    t.match(refused, { fault: 403 }, 'contributors do not manage membership')
    const [cleared] = await ask(url('owner'), [['set', project, 'watchers=']])
    t.same(cleared, { ok: { watchers: [] } }, 'an empty value clears the role')
  })
}
