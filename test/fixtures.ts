/**
 * The one seeded world every face's tests use, seeded through the domain
 * services: a user in every role (all with the same password, and an API key
 * each when a face needs them), the project `genomics` with a member of each
 * role (and the group `lab`, holding `groupie`, as contributor), the
 * outsider's own project `private`, the servers `pasteur` and `inactive`, and
 * services on them (`blast::pasteur` runs `echo`), and a queued job of blast in
 * `genomics`. Tests take every id from what seed() returns, never from
 * the order of insertion.
 */
import { systemActor, type Actor } from '../src/domain/actor.ts'
import { openDomain, type Domain } from '../src/domain/index.ts'
import type { Database } from '../src/db/client.ts'
import type { DataStorage } from '../src/domain/blobs.ts'
import { build, freshDatabase, testStorage, type TestContext } from './helper.ts'

export const roles = [
  'admin', 'owner', 'manager', 'contributor', 'watcher', 'groupie', 'outsider', 'suspended', 'pending'
] as const
export type Role = typeof roles[number]

export const password = 'correct horse battery'
export const suspensionReason = 'you abused our resources'

/** An HTTP Basic authorization header; the world's password unless told otherwise. */
export function basic (username: string, secret = password): { authorization: string } {
  return { authorization: `Basic ${Buffer.from(`${username}:${secret}`).toString('base64')}` }
}

export interface Seed {
  users: Record<Role, { id: number, username: string }>
  /** Each role's user id. */
  ids: Record<Role, number>
  actors: Record<Role | 'anonymous', Actor>
  /** Each role's API key secret, when seeded with `apiKeys`. */
  keys: Record<Role, string>
  projectId: number
  otherProjectId: number
  groupId: number
  /** The job and the data item of `genomics`. */
  jobId: number
  dataId: number
}

/** The interface of `blast::pasteur` in the seeded world: `echo [message]`, its output what it printed. */
export const echoTool = {
  cwlVersion: 'v1.2',
  class: 'CommandLineTool',
  baseCommand: 'echo',
  inputs: { message: { type: 'string?', inputBinding: { position: 1 } } },
  outputs: { said: { type: 'stdout' } },
  stdout: 'said.txt'
}

export async function seed (domain: Domain, options: { apiKeys?: boolean } = {}): Promise<Seed> {
  const users = {} as Seed['users']
  const ids = {} as Seed['ids']
  const keys = {} as Seed['keys']
  for (const role of roles) {
    const user = await domain.users.create(systemActor, {
      username: role,
      password,
      email: `${role}@example.org`,
      firstname: role,
      is_admin: role === 'admin',
      status: role === 'suspended' ? 'suspended' : role === 'pending' ? 'pending' : 'active',
      status_message: role === 'suspended' ? suspensionReason : undefined
    })
    users[role] = { id: user.id, username: user.username }
    ids[role] = user.id
    if (options.apiKeys === true) keys[role] = (await domain.apiKeys.create(systemActor, user.id, { label: 'tests' })).secret
  }
  await domain.servers.create(systemActor, { name: 'pasteur', url: 'https://mobyle.pasteur.fr' })
  await domain.servers.create(systemActor, { name: 'inactive', url: 'https://old.example.org', active: false })
  await domain.services.create(systemActor, { name: 'blast', server: 'pasteur', type: 'program' })
  await domain.services.create(systemActor, { name: 'clustalw', server: 'pasteur', type: 'program', disabled: true })
  await domain.services.create(systemActor, { name: 'legacy', server: 'inactive', type: 'widget' })
  // What runs it (administrators set interfaces): `echo`, with one optional word to say.
  await domain.services.setInterface(systemActor, 'blast::pasteur', echoTool)

  const group = await domain.groups.create(systemActor, { name: 'lab', members: ['groupie'] })
  const ownerActor = actorOf(users.owner)
  const project = await domain.projects.create(ownerActor, { name: 'genomics', description: 'assemblies' })
  await domain.projects.setMember(ownerActor, project.id, 'manager', 'manager')
  await domain.projects.setMember(ownerActor, project.id, 'contributor', 'contributor')
  await domain.projects.setMember(ownerActor, project.id, 'watcher', 'watcher')
  await domain.projects.setMember(ownerActor, project.id, 'suspended', 'contributor')
  await domain.projects.setGroupGrant(ownerActor, project.id, 'lab', 'contributor')
  await domain.services.create(ownerActor, { name: 'assembly', server: 'pasteur', project: 'genomics', type: 'workflow' })
  await domain.services.create(ownerActor, { name: 'shared', server: 'pasteur', project: 'genomics', type: 'program', exported: true })
  await domain.projects.addFavorite(ownerActor, project.id, 'blast::pasteur')
  const job = await domain.projects.addJob(ownerActor, project.id, { name: 'run 1', service: 'blast::pasteur', inputs: {} })
  const data = await domain.projects.addData(ownerActor, project.id, { name: 'reads.fastq' })

  const outsider = actorOf(users.outsider)
  const other = await domain.projects.create(outsider, { name: 'private' })
  await domain.services.create(outsider, { name: 'hidden', server: 'pasteur', project: 'private', type: 'program' })

  const actors = { anonymous: { kind: 'anonymous' } } as Seed['actors']
  for (const role of roles) {
    actors[role] = {
      kind: 'user',
      id: users[role].id,
      username: role,
      isAdmin: role === 'admin',
      status: role === 'suspended' ? 'suspended' : role === 'pending' ? 'pending' : 'active',
      statusMessage: role === 'suspended' ? suspensionReason : null
    }
  }
  return { users, ids, actors, keys, projectId: project.id, otherProjectId: other.id, groupId: group.id, jobId: job.id, dataId: data.id }
}

/** A fresh database of the given kind, its domain, and the world seeded in it. */
export async function seededDomain (t: { teardown: (fn: () => unknown) => void }, kind: 'pglite' | 'postgresql',
  options: { apiKeys?: boolean, storage?: Partial<DataStorage> } = {}): Promise<Seed & { db: Database, domain: Domain, storage: DataStorage }> {
  const db = await freshDatabase(t, kind)
  const storage = await testStorage(t, options.storage)
  const { domain } = openDomain(db, { storage })
  return { db, domain, storage, ...await seed(domain, options) }
}

/** The app built on a fresh database of the given kind, with the world seeded in it. */
export async function seededApp (t: { teardown: (fn: () => unknown) => void }, kind: 'pglite' | 'postgresql',
  options: { apiKeys?: boolean, env?: Record<string, string> } = {}): Promise<Seed & TestContext> {
  const context = await build(t, { kind, env: options.env })
  return { ...context, ...await seed(context.domain, options) }
}

function actorOf (user: { id: number, username: string }): Actor {
  return { kind: 'user', id: user.id, username: user.username, isAdmin: false, status: 'active', statusMessage: null }
}
