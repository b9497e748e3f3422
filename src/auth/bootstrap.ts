/**
 * Creates the first administrator from MOBYLE_ADMIN_USERNAME and
 * MOBYLE_ADMIN_PASSWORD when the database has none, and registers
 * MOBYLE_ADMIN_API_KEY for it when given.
 */
import { systemActor } from '../domain/actor.ts'
import { Conflict } from '../domain/errors.ts'
import type { Domain } from '../domain/index.ts'

export interface BootstrapAdmin {
  username?: string
  password?: string
  apiKey?: string
}

/**
 * Returns the username created, or null when an active administrator already
 * existed, none was configured, or the configured username is taken by a user that
 * is no active administrator (the server's hint then names the command line).
 */
export async function bootstrapAdmin (domain: Domain, admin: BootstrapAdmin): Promise<string | null> {
  if (admin.username === undefined || admin.password === undefined) return null
  if (await domain.users.hasActiveAdmin()) return null
  let user
  try {
    user = await domain.users.create(systemActor, { username: admin.username, password: admin.password, is_admin: true })
  } catch (error) {
    if (error instanceof Conflict) return null
    throw error
  }
  if (admin.apiKey !== undefined) {
    await domain.apiKeys.create(systemActor, user.id, { label: 'MOBYLE_ADMIN_API_KEY' }, admin.apiKey)
  }
  return user.username
}
