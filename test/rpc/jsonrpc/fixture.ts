/**
 * A seeded world for the JSON-RPC tests: one user per role with an API key, a
 * project with a member of each role, a users group, a server and services.
 */
import { build, type TestContext } from '../../helper.ts'
import { systemActor } from '../../../src/domain/index.ts'

export const roles = ['admin', 'owner', 'manager', 'contributor', 'watcher', 'stranger', 'suspended', 'pending'] as const
export type Role = typeof roles[number]

export const suspensionReason = 'you abused our resources'

export interface World extends TestContext {
  keys: Record<Role, string>
  ids: Record<Role, number>
}

interface Teardown { teardown: (fn: () => unknown) => void }

export async function world (t: Teardown, kind: 'pglite' | 'postgresql', env?: Record<string, string>): Promise<World> {
  const context = await build(t, { kind, env })
  const { domain } = context
  const keys = {} as Record<Role, string>
  const ids = {} as Record<Role, number>
  for (const role of roles) {
    const user = await domain.users.create(systemActor, {
      username: role,
      email: `${role}@example.org`,
      password: `password-of-${role}`,
      firstname: role,
      is_admin: role === 'admin',
      status: role === 'suspended' ? 'suspended' : role === 'pending' ? 'pending' : 'active',
      status_message: role === 'suspended' ? suspensionReason : null
    })
    ids[role] = user.id
    keys[role] = (await domain.apiKeys.create(systemActor, user.id, { label: 'tests' })).secret
  }
  await domain.projects.create(systemActor, { name: 'proj', owner: 'owner', description: 'the project' })
  await domain.projects.setMember(systemActor, 'proj', 'manager', 'manager')
  await domain.projects.setMember(systemActor, 'proj', 'contributor', 'contributor')
  await domain.projects.setMember(systemActor, 'proj', 'watcher', 'watcher')
  await domain.groups.create(systemActor, { name: 'team', members: ['contributor'] })
  await domain.servers.create(systemActor, { name: 'srv', url: 'https://srv.example.org/' })
  await domain.services.create(systemActor, { name: 'blast', server: 'srv', type: 'program' })
  await domain.services.create(systemActor, { name: 'tool', server: 'srv', project: 'proj', type: 'workflow' })
  return { ...context, keys, ids }
}

export interface RhodeCodeResponse { id: unknown, result: any, error: string | null }

/** One call in RhodeCode's envelope, sent as RhodeCode's own example sends it (text/plain). */
export async function rhodecode (w: World, key: string, method: string, args: Record<string, unknown> = {}, id: unknown = 1):
Promise<RhodeCodeResponse> {
  const response = await w.app.inject({
    method: 'POST',
    url: '/_admin/api',
    headers: { 'content-type': 'text/plain' },
    payload: JSON.stringify({ id, api_key: key, method, args })
  })
  if (response.statusCode !== 200) throw new Error(`HTTP ${response.statusCode}: ${response.body}`)
  return response.json()
}
