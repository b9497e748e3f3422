/**
 * Every failure of the REST face becomes an RFC 9457 problem document. Domain
 * errors are mapped in ONE table below; Fastify's own errors (validation, body
 * parsing, unknown routes) keep their 4xx status; anything else is a 500 that
 * says nothing but its request id, and is logged.
 */
import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import type { Actor } from '../domain/actor.ts'
import {
  isDomainError, type Conflict, type DomainError, type Forbidden, type Invalid, type InvalidField, type NotFound,
  type TooManyAttempts, type Unauthenticated
} from '../domain/errors.ts'
import { describeErrors, type SchemaError } from '../domain/schemas.ts'
import { problemMediaType } from './common.ts'

export const basicChallenge = 'Basic realm="mobyle2"'

interface ProblemDocument {
  type: string
  title: string
  status: number
  detail: string
  instance?: string
  request_id?: string
  errors?: InvalidField[]
  account_status?: 'suspended' | 'pending'
  status_message?: string
  retry_after?: number
}

interface Mapped { status: number, problem?: Partial<ProblemDocument>, headers?: Record<string, string> }

/** The one table: domain error → HTTP status, extra members and headers. */
interface ErrorsByCode {
  not_found: NotFound
  conflict: Conflict
  forbidden: Forbidden
  unauthenticated: Unauthenticated
  invalid: Invalid
  too_many_attempts: TooManyAttempts
}

const domainErrors: { [C in keyof ErrorsByCode]: (error: ErrorsByCode[C], caller: Actor | undefined) => Mapped } = {
  not_found: () => ({ status: 404 }),
  conflict: (error) => ({
    status: 409,
    problem: error.field === undefined ? {} : { errors: [{ field: error.field, message: 'is taken' }] }
  }),
  // An anonymous caller refused is asked for credentials: it may be allowed once it sends them.
  forbidden: (error, caller) => caller?.kind === 'anonymous'
    ? { status: 401, headers: { 'www-authenticate': basicChallenge } }
    : {
        status: 403,
        problem: error.status === undefined ? {} : { account_status: error.status, status_message: error.statusMessage ?? '' }
      },
  unauthenticated: () => ({ status: 401, headers: { 'www-authenticate': basicChallenge } }),
  invalid: (error) => ({ status: 400, problem: { errors: error.fields } }),
  too_many_attempts: (error) => ({
    status: 429,
    problem: { retry_after: error.retryAfterSeconds },
    headers: { 'retry-after': String(error.retryAfterSeconds) }
  })
}

function problemType (status: number): string {
  return `urn:mobyle2:problem:${(STATUS_CODES[status] ?? 'error').toLowerCase().replace(/[^a-z0-9]+/g, '-')}`
}

export async function sendProblem (request: FastifyRequest, reply: FastifyReply, status: number, detail: string,
  extra: Partial<ProblemDocument> = {}, headers: Record<string, string> = {}): Promise<FastifyReply> {
  const problem: ProblemDocument = {
    type: problemType(status),
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    instance: request.url.split('?')[0],
    ...extra
  }
  return await reply.code(status).headers(headers).type(`${problemMediaType}; charset=utf-8`).send(JSON.stringify(problem))
}

/** What the caller was resolved to, if it was; never resolves it anew. */
async function resolvedCaller (request: FastifyRequest): Promise<Actor | undefined> {
  try {
    return await request.actor()
  } catch {
    return undefined
  }
}

const validationParts: Record<string, string> = { body: 'body', querystring: 'query string', params: 'path', headers: 'headers' }

export async function errorHandler (error: FastifyError, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  if (isDomainError(error)) {
    const caller = error.code === 'forbidden' ? await resolvedCaller(request) : undefined
    const mapped = (domainErrors[error.code] as (e: DomainError, c: Actor | undefined) => Mapped)(error, caller)
    const detail = mapped.status === 401 && error.code === 'forbidden' ? 'authentication required' : error.message
    return await sendProblem(request, reply, mapped.status, detail, mapped.problem, mapped.headers)
  }
  if (error.validation !== undefined) {
    const part = validationParts[error.validationContext ?? ''] ?? 'request'
    const errors = describeErrors(error.validation as unknown as SchemaError[])
    const detail = `invalid ${part}: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`
    return await sendProblem(request, reply, 400, detail, { errors })
  }
  const status = error.statusCode ?? 500
  if (status >= 400 && status < 500) {
    const detail = error instanceof SyntaxError ? `the body is not valid JSON: ${error.message}` : error.message
    return await sendProblem(request, reply, status, detail)
  }
  request.log.error({ err: error }, 'request failed')
  return await sendProblem(request, reply, 500, 'Internal Server Error', { request_id: String(request.id) })
}

export async function notFoundHandler (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  return await sendProblem(request, reply, 404, `no route ${request.method} ${request.url.split('?')[0]}`)
}

/** Errors Fastify meets before routing (a broken URL escape, an over-long parameter), as problems too. */
export function frameworkErrorHandler (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  void sendProblem(request, reply, error.statusCode ?? 400, error.message)
}
