/**
 * One dataset with a user in every role, seeded through the domain services:
 * used by the domain tests and by the tests that compare the faces.
 */
import { systemActor, type Actor } from '../src/domain/actor.ts'
import { openDomain, type Domain } from '../src/domain/index.ts'
import type { Database } from '../src/db/client.ts'
import { freshDatabase } from './helper.ts'

export const roles = [
  'admin', 'owner', 'manager', 'contributor', 'watcher', 'groupie', 'outsider', 'suspended', 'pending'
] as const
export type Role = typeof roles[number]

export const password = 'correct horse battery'

export interface Seed {
  users: Record<Role, { id: number, username: string }>
  actors: Record<Role | 'anonymous', Actor>
  projectId: number
  otherProjectId: number
  groupId: number
}

export async function seed (domain: Domain): Promise<Seed> {
  const users = {} as Seed['users']
  for (const role of roles) {
    const user = await domain.users.create(systemActor, {
      username: role,
      password,
      email: `${role}@example.org`,
      is_admin: role === 'admin',
      status: role === 'suspended' ? 'suspended' : role === 'pending' ? 'pending' : 'active',
      status_message: role === 'suspended' ? 'you abused our resources' : undefined
    })
    users[role] = { id: user.id, username: user.username }
  }
  await domain.servers.create(systemActor, { name: 'pasteur', url: 'https://mobyle.pasteur.fr' })
  await domain.servers.create(systemActor, { name: 'inactive', url: 'https://old.example.org', active: false })
  await domain.services.create(systemActor, { name: 'blast', server: 'pasteur', type: 'program' })
  await domain.services.create(systemActor, { name: 'clustalw', server: 'pasteur', type: 'program', disabled: true })
  await domain.services.create(systemActor, { name: 'legacy', server: 'inactive', type: 'widget' })

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
  await domain.projects.addJob(ownerActor, project.id, { name: 'run 1', service: 'assembly::genomics::pasteur' })
  await domain.projects.addData(ownerActor, project.id, { name: 'reads.fastq' })

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
      statusMessage: role === 'suspended' ? 'you abused our resources' : null
    }
  }
  return { users, actors, projectId: project.id, otherProjectId: other.id, groupId: group.id }
}

/** A fresh database of the given kind, its domain, and the world seeded in it. */
export async function seededDomain (t: { teardown: (fn: () => unknown) => void }, kind: 'pglite' | 'postgresql'):
Promise<Seed & { db: Database, domain: Domain }> {
  const db = await freshDatabase(t, kind)
  const { domain } = openDomain(db.prisma)
  return { db, domain, ...await seed(domain) }
}

function actorOf (user: { id: number, username: string }): Actor {
  return { kind: 'user', id: user.id, username: user.username, isAdmin: false, status: 'active', statusMessage: null }
}
