import { databaseTrouble } from '../db/unreachable.ts'

/**
 * The one error vocabulary of the domain. Each face maps `code` to its own form
 * (HTTP status + problem JSON, XML-RPC fault, JSON-RPC error) in a single table.
 */
export type DomainErrorCode =
  | 'not_found'
  | 'conflict'
  | 'forbidden'
  | 'unauthenticated'
  | 'invalid'
  | 'too_many_attempts'
  | 'peer_failed'
  | 'unavailable'
  | 'insufficient_storage'
  | 'too_large'
  | 'quota_exceeded'

export abstract class DomainError extends Error {
  abstract readonly code: DomainErrorCode
}

/** An item that does not exist, or that the actor may not know exists. */
export class NotFound extends DomainError {
  readonly code = 'not_found'
  constructor (readonly resource: string, readonly key: string | number) {
    super(`no such ${resource} ${key}`)
  }
}

/** A unique key already taken, or a state that forbids the change. */
export class Conflict extends DomainError {
  readonly code = 'conflict'
  constructor (message: string, readonly resource?: string, readonly field?: string) {
    super(message)
  }
}

/**
 * Another request was changing the same project, group or user, and this one could
 * not wait its turn (a lock or connection wait ran out, or the database broke a
 * deadlock). Nothing was written; the same call may simply be sent again.
 */
export class Busy extends Conflict {
  readonly retryable = true
  constructor (what: string) {
    super(`${what} is being changed by other requests at the same time; nothing was written, please retry`)
  }
}

/** The actor is known but not allowed; `status` is set when the account itself is refused. */
export class Forbidden extends DomainError {
  readonly code = 'forbidden'
  constructor (
    message: string,
    readonly status?: 'suspended' | 'pending',
    readonly statusMessage?: string
  ) {
    super(message)
  }
}

/** Missing or wrong credentials; never says whether the username exists. */
export class Unauthenticated extends DomainError {
  readonly code = 'unauthenticated'
  constructor (message = 'Invalid login') {
    super(message)
  }
}

export interface InvalidField {
  /** The property at fault, e.g. `email` or `members/2`. */
  field: string
  message: string
}

/** Input that breaks a rule of the model (type, enum, length, format, reference). */
export class Invalid extends DomainError {
  readonly code = 'invalid'
  constructor (readonly resource: string, readonly fields: InvalidField[]) {
    super(fields.map((f) => `${f.field}: ${f.message}`).join('; ') + ` (${resource})`)
  }

  static field (resource: string, field: string, message: string): Invalid {
    return new Invalid(resource, [{ field, message }])
  }
}

/** The login throttle refused the attempt; retry after `retryAfterSeconds`. */
export class TooManyAttempts extends DomainError {
  readonly code = 'too_many_attempts'
  constructor (readonly retryAfterSeconds: number) {
    super(`Logins occurring too fast. Please wait: ${retryAfterSeconds} seconds.`)
  }
}

/** A peer server could not be synced: unreachable, or its answer unusable. Recorded on its server record too. */
export class PeerFailed extends DomainError {
  readonly code = 'peer_failed'
  constructor (readonly server: string, readonly reason: string) {
    super(`could not sync server ${server}: ${reason}`)
  }
}

export function isDomainError (error: unknown): error is DomainError {
  return error instanceof DomainError
}

/** The item, or null where there is none (or none the caller may see): RhodeCode's get_* answer and Roundup's links. */
export async function orNull<T> (lookup: Promise<T>): Promise<T | null> {
  try {
    return await lookup
  } catch (error) {
    if (error instanceof NotFound) return null
    throw error
  }
}

/**
 * The database cannot be reached (refused, lost, shutting down, too many
 * connections): nothing is wrong with the request. A write answered so may or may
 * not have been done; sending it again is safe (a repeated creation is refused as
 * taken, a repeated change changes nothing more).
 */
export class Unavailable extends DomainError {
  readonly code = 'unavailable'
  readonly retryAfterSeconds = 2
  constructor () {
    super('the database cannot be reached right now: try again in a moment')
  }
}

/** The database (or the blob store) has no room left for a write; reads go on. Nothing of the write was kept. */
export class InsufficientStorage extends DomainError {
  readonly code = 'insufficient_storage'
  constructor (message = 'the database has no room left to store this write: reads still work; try again once an administrator has freed space') {
    super(message)
  }
}

/** Content larger than any item may be (DATA_MAX_BYTES); nothing of it was kept. */
export class TooLarge extends DomainError {
  readonly code = 'too_large'
  constructor (readonly maxBytes: number) {
    super(`the content is larger than ${maxBytes} bytes, the most an item may hold: nothing was kept`)
  }
}

/** Content that would take the project past its quota (DATA_PROJECT_QUOTA_BYTES); nothing of it was kept. */
export class QuotaExceeded extends DomainError {
  readonly code = 'quota_exceeded'
  constructor (readonly project: string | number, readonly quotaBytes: number, readonly usedBytes: number) {
    super(`project ${project} holds ${usedBytes} of its ${quotaBytes} bytes: this content does not fit, and nothing of it was kept; ` +
      'remove data items to make room')
  }
}

/**
 * The error as the domain's vocabulary says it, when it can: a domain error as it
 * is, a database that cannot serve as Unavailable or InsufficientStorage. Each face
 * asks this of every failure before calling one internal; the read model never
 * remembers these (they say nothing of the data).
 */
export function asDomainError (error: unknown): DomainError | undefined {
  if (isDomainError(error)) return error
  const trouble = databaseTrouble(error)
  if (trouble === 'unreachable') return new Unavailable()
  if (trouble === 'full') return new InsufficientStorage()
  return undefined
}
