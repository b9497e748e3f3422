/**
 * What the database cannot store, refused as the domain's own errors so every
 * face answers in its protocol's form, never as an internal error.
 *
 * Two layers: `unstorableText` lets validate() name the field of a string
 * PostgreSQL refuses (NUL) or would silently alter (an unpaired surrogate) before
 * any write starts; `guardStorage` is the net under every query, for values no
 * schema saw (a lookup key, an id past the 32-bit columns): a read that cannot
 * match anything is NotFound, a write is Invalid, and a write whose reference was
 * removed by a concurrent delete is a Conflict.
 */
import { Conflict, Invalid, NotFound } from './errors.ts'
import { Prisma, type PrismaClient } from '../generated/prisma/client.ts'

// NUL, or a surrogate half without its other half.
// eslint-disable-next-line no-control-regex -- NUL is the one character PostgreSQL's text cannot hold
const unstorable = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/u

export const unstorableTextMessage = 'must not contain NUL (U+0000) or unpaired surrogate characters'

/** The paths (`a/b/0`) of the strings inside `value` that the database cannot store as they are. */
export function unstorableText (value: unknown, path = ''): string[] {
  if (typeof value === 'string') return unstorable.test(value) ? [path === '' ? '(value)' : path] : []
  if (Array.isArray(value)) return value.flatMap((item, index) => unstorableText(item, join(path, String(index))))
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return Object.entries(value).flatMap(([key, item]) => unstorableText(item, join(path, key)))
  }
  return []
}

/** Whether `id` fits the database's 32-bit id columns (a larger one names nothing). */
export function storableId (id: number): boolean {
  return Number.isSafeInteger(id) && id >= -(2 ** 31) && id <= 2 ** 31 - 1
}

function join (path: string, key: string): string {
  return path === '' ? key : `${path}/${key}`
}

const readOperations = new Set(['findUnique', 'findUniqueOrThrow', 'findFirst', 'findFirstOrThrow', 'findMany', 'count', 'aggregate', 'groupBy'])

/** PostgreSQL's refusals of a value: bad text encoding (22021, 22P05) and numbers out of range (22003). */
const refusedValueCodes = new Set(['22021', '22P05', '22003'])

/** The Prisma client, with every model query's refusal of a value turned into a domain error. */
export function guardStorage (prisma: PrismaClient): PrismaClient {
  const guarded = prisma.$extends({
    query: {
      $allModels: {
        async $allOperations ({ model, operation, args, query }) {
          try {
            return await query(args)
          } catch (error) {
            const resource = model.charAt(0).toLowerCase() + model.slice(1)
            // A write racing the removal of what it refers to (a job added while its project is deleted).
            if (isForeignKeyViolation(error)) throw removedMeanwhile(resource)
            const refusal = refusedValue(error)
            if (refusal === null) throw error
            if (readOperations.has(operation)) throw new NotFound(resource, refusal.value ?? '(unstorable value)')
            throw new Invalid(resource, [{ field: refusal.field ?? '(value)', message: refusal.message }])
          }
        }
      }
    }
  })
  // A query extension changes no method's shape: the domain keeps the plain client's type.
  return guarded as unknown as PrismaClient
}

/** What a write is told whose reference was removed by a concurrent delete. */
export function removedMeanwhile (resource: string): Conflict {
  return new Conflict(`the item this ${resource} refers to was removed meanwhile`, resource)
}

/** A write racing the removal of what it refers to; raw statements' (P2010) too. */
export function isForeignKeyViolation (error: unknown): boolean {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError)) return false
  return error.code === 'P2003' || databaseCode(error) === '23503'
}

/** Two writers racing for one key; raw statements' (P2010) too. */
export function isUniqueViolation (error: unknown): boolean {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError)) return false
  return error.code === 'P2002' || databaseCode(error) === '23505'
}

/** The SQLSTATE a driver adapter reported, wherever Prisma put it. */
export function databaseCode (error: unknown): string | undefined {
  const candidates: unknown[] = []
  if (typeof error === 'object' && error !== null) {
    const e = error as { meta?: { driverAdapterError?: { cause?: unknown } }, cause?: unknown }
    candidates.push(e.meta?.driverAdapterError?.cause, e.cause)
  }
  for (const cause of candidates) {
    if (typeof cause !== 'object' || cause === null) continue
    const c = cause as { originalCode?: unknown, code?: unknown }
    if (typeof c.originalCode === 'string') return c.originalCode
    if (typeof c.code === 'string' && /^[0-9A-Z]{5}$/.test(c.code)) return c.code
  }
  return undefined
}

interface Refusal { value?: string, field?: string, message: string }

function refusedValue (error: unknown): Refusal | null {
  if (error instanceof Prisma.PrismaClientValidationError) {
    // Prisma's own check of a number against a 64-bit column or argument.
    const fit = /Unable to fit value (\S+) into a 64-bit signed integer for field `(\w+)`/.exec(error.message)
    return fit === null ? null : { value: fit[1], field: fit[2], message: 'is out of range' }
  }
  if (!(error instanceof Prisma.PrismaClientKnownRequestError)) return null
  const cause = (error.meta?.driverAdapterError as { cause?: { originalCode?: string, originalMessage?: string } } | undefined)?.cause
  if (cause?.originalCode === undefined || !refusedValueCodes.has(cause.originalCode)) return null
  if (cause.originalCode === '22003') {
    return { value: /value "([^"]*)"/.exec(cause.originalMessage ?? '')?.[1], message: 'is out of range' }
  }
  return { message: unstorableTextMessage }
}
