/**
 * Every error this face reports, as an XML-RPC fault: the one table mapping
 * domain errors and protocol errors to stable fault codes (docs/xmlrpc.md, "Faults", lists them).
 * Roundup answers faultCode 1 for nearly everything; distinct codes let scripts
 * tell the cases apart, and the messages keep Roundup's wording where it has one.
 */
import type { FastifyBaseLogger } from 'fastify'
import { asDomainError, TooManyAttempts, Unavailable, type DomainError, type DomainErrorCode } from '../../domain/errors.ts'
import { logDatabaseTrouble } from '../../http/problems.ts'
import { MalformedRequest } from './codec.ts'

export const FaultCode = {
  invalidValue: 400,
  invalidLogin: 401,
  permissionDenied: 403,
  notFound: 404,
  notSupported: 405,
  conflict: 409,
  tooManyAttempts: 429,
  peerFailed: 502,
  unavailable: 503,
  tooLarge: 413,
  insufficientStorage: 507,
  noSuchClass: 460,
  malformedRequest: -32700,
  unknownMethod: -32601,
  wrongArguments: -32602,
  internalError: -32603
} as const
export type FaultCode = typeof FaultCode[keyof typeof FaultCode]

/** An error to report as this fault, as it is. */
export class Fault extends Error {
  override name = 'Fault'
  constructor (readonly faultCode: FaultCode, message: string, readonly retryAfterSeconds?: number) {
    super(message)
  }
}

const domainFaultCodes: Record<DomainErrorCode, FaultCode> = {
  not_found: FaultCode.notFound,
  conflict: FaultCode.conflict,
  forbidden: FaultCode.permissionDenied,
  unauthenticated: FaultCode.invalidLogin,
  invalid: FaultCode.invalidValue,
  too_many_attempts: FaultCode.tooManyAttempts,
  peer_failed: FaultCode.peerFailed,
  unavailable: FaultCode.unavailable,
  insufficient_storage: FaultCode.insufficientStorage,
  // Content does not travel over XML-RPC; an empty item is never too large, but the table names every error.
  too_large: FaultCode.tooLarge,
  quota_exceeded: FaultCode.insufficientStorage
}

/** The fault for any error; unexpected ones are logged and reported without detail. */
export function toFault (error: unknown, log: FastifyBaseLogger): Fault {
  if (error instanceof Fault) return error
  if (error instanceof MalformedRequest) return new Fault(FaultCode.malformedRequest, `malformed request: ${error.message}`)
  const domainError = asDomainError(error)
  if (domainError !== undefined) {
    logDatabaseTrouble(log, domainError)
    return fromDomain(domainError)
  }
  log.error({ err: error }, 'XML-RPC call failed')
  return new Fault(FaultCode.internalError, 'internal error')
}

function fromDomain (error: DomainError): Fault {
  const retryAfter = error instanceof TooManyAttempts || error instanceof Unavailable ? error.retryAfterSeconds : undefined
  return new Fault(domainFaultCodes[error.code], error.message, retryAfter)
}
