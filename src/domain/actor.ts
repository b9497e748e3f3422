import { Forbidden, NotFound, Unauthenticated } from './errors.ts'
import type { UserStatus } from './schemas.ts'

/** Who is calling: every face resolves one before it touches the domain. */
export type Actor =
  | { kind: 'anonymous' }
  | {
    kind: 'user'
    id: number
    username: string
    isAdmin: boolean
    status: UserStatus
    statusMessage: string | null
  }

export type UserActor = Extract<Actor, { kind: 'user' }>

export const anonymous: Actor = Object.freeze({ kind: 'anonymous' })

/**
 * Suspended and pending accounts are refused everything, with their status and
 * message, whatever they ask; anonymous callers pass and meet the per-item rules.
 */
export function assertNotRefused (actor: Actor): void {
  if (actor.kind === 'user' && actor.status !== 'active') {
    const reason = actor.statusMessage ?? ''
    throw new Forbidden(
      `account ${actor.username} is ${actor.status}${reason === '' ? '' : `: ${reason}`}`,
      actor.status,
      actor.statusMessage ?? undefined
    )
  }
}

export function isAdmin (actor: Actor): boolean {
  return actor.kind === 'user' && actor.isAdmin && actor.status === 'active'
}

/**
 * A refusal: anonymous callers are told to authenticate (they may be allowed once
 * they do), known users are told they are not allowed.
 */
export function refuse (actor: Actor, message: string): never {
  if (actor.kind === 'anonymous') throw new Unauthenticated('authentication required')
  throw new Forbidden(message)
}

/**
 * An item the actor may not see: the very answer an item that does not exist gets,
 * so that no caller, anonymous or not, learns which ids and names are taken.
 */
export function hide (resource: string, ref: string | number): never {
  throw new NotFound(resource, ref)
}

export function requireAdmin (actor: Actor, what: string): void {
  assertNotRefused(actor)
  if (!isAdmin(actor)) refuse(actor, `${what} is for administrators`)
}

export function requireUser (actor: Actor, what: string): UserActor {
  assertNotRefused(actor)
  if (actor.kind !== 'user') refuse(actor, `${what} needs an authenticated user`)
  return actor
}

/**
 * The server itself, acting for the command line and the start-up bootstrap:
 * an administrator that is no user of the database.
 */
export const systemActor: Actor = Object.freeze({
  kind: 'user', id: 0, username: '(system)', isAdmin: true, status: 'active', statusMessage: null
})
