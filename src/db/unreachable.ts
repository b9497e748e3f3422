/**
 * Failures that say nothing about the request and everything about the database:
 * it cannot be reached (refused, lost, shutting down, too many connections) or it
 * has no room left. Recognised wherever the driver, the adapter or Prisma put them
 * (the error, its cause, Prisma's driverAdapterError), so that every face can answer
 * "try again later" or "no room" instead of an internal error.
 */

/** SQLSTATEs of a database that cannot serve: connection exceptions (class 08), shutdowns, too many connections. */
const unreachableStates = /^(08...|57P0[123]|53300)$/
/** The adapter's kinds for the same (@prisma/adapter-pg's convertDriverError). */
const unreachableKinds = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections'])
const unreachableSocketCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'])
/** pg's and pg-pool's own words when a connection ends or cannot be had in time. */
const unreachableMessages = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection closed|connection is closed|Client was closed/i

/** disk_full, and the operating system's ENOSPC (PGlite writes its files itself). */
const fullStates = new Set(['53100'])
const fullMessages = /No space left on device|could not extend file|ENOSPC/i

export type DatabaseTrouble = 'unreachable' | 'full'

/** What is wrong with the database, if `error` says so. */
export function databaseTrouble (error: unknown): DatabaseTrouble | undefined {
  for (const part of parts(error)) {
    const { code, originalCode, kind, message } = part as { code?: unknown, originalCode?: unknown, kind?: unknown, message?: unknown }
    const state = typeof originalCode === 'string' ? originalCode : typeof code === 'string' ? code : undefined
    if (state !== undefined && (fullStates.has(state) || state === 'ENOSPC')) return 'full'
    if (typeof message === 'string' && fullMessages.test(message)) return 'full'
    if (state !== undefined && (unreachableStates.test(state) || unreachableSocketCodes.has(state))) return 'unreachable'
    if (typeof kind === 'string' && unreachableKinds.has(kind)) return 'unreachable'
    if (typeof message === 'string' && unreachableMessages.test(message)) return 'unreachable'
  }
  return undefined
}

/** The error and what it wraps, a few levels deep. */
function parts (error: unknown): object[] {
  const found: object[] = []
  const queue: unknown[] = [error]
  while (queue.length > 0 && found.length < 10) {
    const part = queue.shift()
    if (typeof part !== 'object' || part === null || found.includes(part)) continue
    found.push(part)
    const { cause, meta } = part as { cause?: unknown, meta?: { driverAdapterError?: unknown } }
    queue.push(cause, meta?.driverAdapterError)
  }
  return found
}
