/**
 * The REST face's errors: domain errors become problem documents through ONE
 * table below; everything else is answered as the whole server answers it
 * (src/http/problems.ts).
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import {
  Busy, isDomainError, type Conflict, type DomainError, type Forbidden, type Invalid, type NotFound,
  type PeerFailed, type TooManyAttempts, type Unauthenticated
} from '../domain/errors.ts'
import { httpErrorHandler, sendProblem, type ProblemDocument } from '../http/problems.ts'

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
  peer_failed: (error) => ({ status: 502, problem: { server: error.server } })
}

export async function errorHandler (error: FastifyError, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  if (!isDomainError(error)) return await httpErrorHandler(error, request, reply)
  const mapped = (domainErrors[error.code] as (e: DomainError) => Mapped)(error)
  return await sendProblem(request, reply, mapped.status, error.message, mapped.problem, mapped.headers)
}
