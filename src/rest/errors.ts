/**
 * The REST face's errors: domain errors become problem documents through ONE
 * table below; everything else is answered as the whole server answers it
 * (src/http/problems.ts).
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import {
  asDomainError, Busy, type Conflict, type DomainError, type Forbidden, type InsufficientStorage, type Invalid, type NotFound,
  type PeerFailed, type QuotaExceeded, type TooLarge, type TooManyAttempts, type Unauthenticated, type Unavailable
} from '../domain/errors.ts'
import { httpErrorHandler, logDatabaseTrouble, sendProblem, type ProblemDocument } from '../http/problems.ts'

const basicChallenge = 'Basic realm="mobyle2"'

interface Mapped { status: number, problem?: Partial<ProblemDocument>, headers?: Record<string, string> }

/** The one table: domain error → HTTP status, extra members and headers. */
interface ErrorsByCode {
  not_found: NotFound
  conflict: Conflict
  forbidden: Forbidden
  unauthenticated: Unauthenticated
  invalid: Invalid
  too_many_attempts: TooManyAttempts
  peer_failed: PeerFailed
  unavailable: Unavailable
  insufficient_storage: InsufficientStorage
  too_large: TooLarge
  quota_exceeded: QuotaExceeded
}

const domainErrors: { [C in keyof ErrorsByCode]: (error: ErrorsByCode[C]) => Mapped } = {
  not_found: () => ({ status: 404 }),
  conflict: (error) => error instanceof Busy
    // Nothing was written and the same request may simply be sent again, soon.
    ? { status: 409, problem: { retry_after: 1 }, headers: { 'retry-after': '1' } }
    : { status: 409, problem: error.field === undefined ? {} : { errors: [{ field: error.field, message: 'is taken' }] } },
  forbidden: (error) => ({
    status: 403,
    problem: error.status === undefined ? {} : { account_status: error.status, status_message: error.statusMessage ?? '' }
  }),
  unauthenticated: () => ({ status: 401, headers: { 'www-authenticate': basicChallenge } }),
  invalid: (error) => ({ status: 400, problem: { errors: error.fields } }),
  too_many_attempts: (error) => ({
    status: 429,
    problem: { retry_after: error.retryAfterSeconds },
    headers: { 'retry-after': String(error.retryAfterSeconds) }
  }),
  // The request was fine; the server it made on the caller's behalf was not.
  peer_failed: (error) => ({ status: 502, problem: { server: error.server } }),
  unavailable: (error) => ({
    status: 503,
    problem: { retry_after: error.retryAfterSeconds },
    headers: { 'retry-after': String(error.retryAfterSeconds) }
  }),
  insufficient_storage: () => ({ status: 507 }),
  too_large: (error) => ({ status: 413, problem: { max_bytes: error.maxBytes } }),
  // As WebDAV answers a quota used up (RFC 4918 §9.7.1), with a type of its own: the database is not full.
  quota_exceeded: (error) => ({
    status: 507,
    problem: { type: 'urn:mobyle2:problem:quota-exceeded', quota_bytes: error.quotaBytes, used_bytes: error.usedBytes }
  })
}

export async function errorHandler (error: FastifyError, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const domainError = asDomainError(error)
  if (domainError === undefined) return await httpErrorHandler(error, request, reply)
  logDatabaseTrouble(request.log, domainError)
  const mapped = (domainErrors[domainError.code] as (e: DomainError) => Mapped)(domainError)
  return await sendProblem(request, reply, mapped.status, domainError.message, mapped.problem, mapped.headers)
}
