/**
 * Read-modify-write transactions that serialize per parent row.
 *
 * A write that reads a project's (a group's, a user's) current state and writes
 * from it — replacing a role's holders, adding a member unless it is there, revoking
 * a key unless it is revoked — runs in `serialized`, and its first statement is
 * `lockRow` on the parent row (`SELECT … FOR NO KEY UPDATE`). Writers on one parent
 * then take turns: each reads the state the previous one committed (READ COMMITTED
 * gives every statement a fresh snapshot), so the result is that of some serial
 * order. `FOR NO KEY UPDATE` does not block inserts of rows that merely reference
 * the parent (their foreign-key checks take `FOR KEY SHARE`), nor plain readers.
 *
 * Everything inside the transaction must go through its `tx` client: on PGlite (one
 * connection) a query on the outer client would wait for the transaction to end.
 *
 * A writer that cannot get its turn in time (no free connection within `maxWait`,
 * a row lock held longer than `lock_timeout`) or that the database picks as a
 * deadlock victim gets `Busy`, a Conflict every face renders as a retryable one
 * (REST 409, XML-RPC fault 409, JSON-RPC conflict error); serialization failures
 * and deadlocks are first retried here, since nothing was written.
 */
import { Busy } from './errors.ts'
import { databaseCode, storableId, unstorableText } from './storable.ts'
import { Prisma, type PrismaClient } from '../generated/prisma/client.ts'

export type Client = Prisma.TransactionClient

/**
 * How long a writer waits its turn. Prisma's defaults (2 s to get a connection,
 * 5 s in all) refuse writers that are merely queued behind others under load.
 * `lockTimeoutMs`, the longest wait for another writer's row lock, stays below
 * the transaction's `timeout` so that the wait ends with a clean error. Tests may
 * lower them.
 */
export const transactionLimits = { maxWait: 10_000, timeout: 20_000, lockTimeoutMs: 10_000 }

/** Attempts for a transaction the database aborted to break a deadlock or a serialization conflict. */
const attempts = 3

/**
 * Runs `work` in one transaction; `what` names the parent for the Busy message
 * (`project 3`). Retries deadlock victims and serialization failures, and turns
 * what remains of transaction contention into Busy.
 */
export async function serialized<T> (db: PrismaClient, what: string, work: (tx: Client) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      const { maxWait, timeout, lockTimeoutMs } = transactionLimits
      return await db.$transaction(async (tx) => {
        await tx.$queryRaw`SELECT set_config('lock_timeout', ${String(lockTimeoutMs)}, true)`
        return await work(tx)
      }, { maxWait, timeout })
    } catch (error) {
      const failure = contention(error)
      if (failure === undefined) throw error
      if (failure === 'aborted' && attempt < attempts) continue
      throw new Busy(what)
    }
  }
}

const lockQueries = {
  project: {
    id: (id: number) => Prisma.sql`SELECT id FROM "project" WHERE id = ${id} FOR NO KEY UPDATE`,
    key: (name: string) => Prisma.sql`SELECT id FROM "project" WHERE name = ${name} FOR NO KEY UPDATE`
  },
  group: {
    id: (id: number) => Prisma.sql`SELECT id FROM "group" WHERE id = ${id} FOR NO KEY UPDATE`,
    key: (name: string) => Prisma.sql`SELECT id FROM "group" WHERE name_key = lower(${name}) FOR NO KEY UPDATE`
  },
  user: {
    id: (id: number) => Prisma.sql`SELECT id FROM "user" WHERE id = ${id} FOR NO KEY UPDATE`,
    key: (username: string) => Prisma.sql`SELECT id FROM "user" WHERE username_key = lower(${username}) FOR NO KEY UPDATE`
  }
} as const

/**
 * Locks the parent row (by id, or by name / username) until the transaction ends,
 * waiting for the writer holding it; returns its id, or undefined when there is no
 * such row (the caller then reports NotFound as it would anyway).
 */
export async function lockRow (tx: Client, table: keyof typeof lockQueries, ref: number | string): Promise<number | undefined> {
  // A raw query has no guard (src/domain/storable.ts): a key no column can hold names no row.
  if (typeof ref === 'number' ? !storableId(ref) : unstorableText(ref).length > 0) return undefined
  const query = typeof ref === 'number' ? lockQueries[table].id(ref) : lockQueries[table].key(ref)
  const rows = await tx.$queryRaw<Array<{ id: number }>>(query)
  return rows[0]?.id
}

/**
 * Locks the rows of the active administrators and returns their ids, so that two
 * requests demoting, suspending, retiring or deleting different administrators
 * take turns and cannot together remove the last one.
 */
export async function lockActiveAdmins (tx: Client): Promise<number[]> {
  const rows = await tx.$queryRaw<Array<{ id: number }>>`
    SELECT id FROM "user" WHERE is_admin AND status = 'active' AND retired_at IS NULL ORDER BY id FOR NO KEY UPDATE`
  return rows.map((row) => row.id)
}

/** PostgreSQL's codes for a transaction aborted by a conflict, and for a lock wait given up. */
const abortedCodes = new Set(['40001', '40P01'])
const waitCodes = new Set(['55P03'])

/**
 * `aborted`: a deadlock victim or serialization failure (Prisma P2034), safe to run
 * again; `waited`: no connection or lock in time, or the transaction ran out of time
 * (P2028, lock_timeout); undefined: anything else.
 */
function contention (error: unknown): 'aborted' | 'waited' | undefined {
  if (error instanceof Prisma.PrismaClientKnownRequestError) {
    if (error.code === 'P2034') return 'aborted'
    if (error.code === 'P2028') return 'waited'
  }
  const code = databaseCode(error)
  if (code === undefined) return undefined
  if (abortedCodes.has(code)) return 'aborted'
  if (waitCodes.has(code)) return 'waited'
  return undefined
}
