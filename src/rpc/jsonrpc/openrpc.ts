/**
 * The machine-readable description of the JSON-RPC face: an OpenRPC document
 * generated from the method table's TypeBox schemas. The plugin adds `servers`,
 * which depends on the address the document is fetched from.
 * @see {@link https://spec.open-rpc.org/}
 */
import { errorCodes } from './errors.ts'
import { argumentNames, requiredArguments, type RpcMethod } from './method.ts'

/** A TypeBox schema as plain JSON Schema. */
function jsonSchema (schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema))
}

const applicationErrors = [
  { code: errorCodes.unauthenticated, message: 'Invalid API KEY, invalid credentials, or authentication required' },
  { code: errorCodes.forbidden, message: 'Permission denied (also for suspended and pending accounts)' },
  { code: errorCodes.not_found, message: 'No such item' },
  { code: errorCodes.conflict, message: 'The name is taken, or the state forbids the change' },
  { code: errorCodes.invalid, message: 'A value breaks a rule of the model' },
  { code: errorCodes.too_many_attempts, message: 'Too many failed logins: retry after data.retryAfterSeconds' },
  { code: errorCodes.peer_failed, message: 'A peer server could not be synced (unreachable, or an unusable answer); data.server names it' },
  { code: errorCodes.unavailable, message: 'The database cannot be reached right now: retry after data.retryAfterSeconds' },
  { code: errorCodes.insufficient_storage, message: 'The database has no room left for this write' }
]

/** Older RhodeCode versions' argument names, which named params and RhodeCode's envelope accept too. */
function legacyDescription (method: RpcMethod): string {
  const versions = (method.legacy ?? []).map(({ version, names }) => {
    const renamed = Object.entries(names).filter(([name, argument]) => name !== argument)
    return `RhodeCode ${version}: ${renamed.map(([name, argument]) => `${name} (${argument})`).join(', ')}`
  })
  return `Also accepts older names for its params (by name only): ${versions.join('; ')}.`
}

export function openRpcDocument (methods: readonly RpcMethod[], version: string): Record<string, unknown> {
  return {
    openrpc: '1.3.2',
    info: {
      title: 'mobyle2-server JSON-RPC API',
      version,
      description: 'RhodeCode\'s API ({id, api_key, method, args} → {id, result, error}) and JSON-RPC 2.0 over the ' +
        'same methods, at POST /_admin/api. In JSON-RPC 2.0 the API key goes in params.api_key (named params) or ' +
        'in the X-API-Key or Authorization header.'
    },
    methods: methods.map((method) => ({
      name: method.name,
      summary: method.summary,
      ...(method.legacy === undefined ? {} : { description: legacyDescription(method) }),
      paramStructure: 'either',
      params: argumentNames(method).map((name) => ({
        name,
        required: requiredArguments(method).includes(name),
        schema: jsonSchema(method.params.properties[name])
      })),
      result: { name: `${method.name}_result`, schema: jsonSchema(method.result) }
    })),
    components: {
      errors: Object.fromEntries(applicationErrors.map((error) => [`E${-error.code}`, error]))
    }
  }
}
