/**
 * Helpers for the REST tests: credentials headers, seeding through the domain,
 * and reading problem documents.
 */
import type { LightMyRequestResponse } from 'fastify'
import { systemActor, type Domain } from '../../src/domain/index.ts'

export const password = 'correct horse battery'

export function basic (username: string, secret = password): { authorization: string } {
  return { authorization: `Basic ${Buffer.from(`${username}:${secret}`).toString('base64')}` }
}

/** Creates a user with the shared test password; returns its id. */
export async function seedUser (domain: Domain, username: string, extra: Record<string, unknown> = {}): Promise<number> {
  return (await domain.users.create(systemActor, { username, password, ...extra })).id
}

export interface ProblemBody {
  type: string
  title: string
  status: number
  detail: string
  errors?: Array<{ field: string, message: string }>
  account_status?: string
  status_message?: string
  request_id?: string
  retry_after?: number
}

/** The problem document of a response, after checking it is one with this status. */
export function problemOf (response: LightMyRequestResponse, status: number): ProblemBody {
  if (response.statusCode !== status) {
    throw new Error(`expected ${status}, got ${response.statusCode}: ${response.body}`)
  }
  if (!String(response.headers['content-type']).startsWith('application/problem+json')) {
    throw new Error(`not a problem document: ${String(response.headers['content-type'])}`)
  }
  const body = response.json<ProblemBody>()
  if (body.status !== status || typeof body.title !== 'string' || typeof body.detail !== 'string' || typeof body.type !== 'string') {
    throw new Error(`malformed problem document: ${response.body}`)
  }
  if (response.body.includes('    at ')) throw new Error(`a stack trace leaked: ${response.body}`)
  return body
}

/**
 * A project world for permission tests: an administrator, a project owner, one
 * user of each role, an unrelated user, a suspended and a pending user.
 */
export async function seedProjectWorld (domain: Domain) {
  const ids = {
    admin: await seedUser(domain, 'admin', { is_admin: true }),
    owner: await seedUser(domain, 'owner'),
    manager: await seedUser(domain, 'manager'),
    contributor: await seedUser(domain, 'contributor'),
    watcher: await seedUser(domain, 'watcher'),
    stranger: await seedUser(domain, 'stranger'),
    suspended: await seedUser(domain, 'suspended', { status: 'suspended', status_message: 'abuse' }),
    pending: await seedUser(domain, 'pending', { status: 'pending' })
  }
  const owner = { kind: 'user' as const, id: ids.owner, username: 'owner', isAdmin: false, status: 'active' as const, statusMessage: null }
  const project = await domain.projects.create(owner, { name: 'lab', description: 'the lab' })
  await domain.projects.setMember(owner, project.id, ids.manager, 'manager')
  await domain.projects.setMember(owner, project.id, ids.contributor, 'contributor')
  await domain.projects.setMember(owner, project.id, ids.watcher, 'watcher')
  await domain.servers.create(systemActor, { name: 'main', url: 'http://main.example' })
  return { ids, project: project.id }
}
