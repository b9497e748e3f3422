/**
 * Helpers for the REST tests: credentials headers, single users for scenarios
 * of their own, and reading problem documents. The seeded world with a user in
 * every role is test/fixtures.ts's.
 */
import type { LightMyRequestResponse } from 'fastify'
import { systemActor, type Domain } from '../../src/domain/index.ts'
import { password } from '../fixtures.ts'

export { basic, password } from '../fixtures.ts'

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
