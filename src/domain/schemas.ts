/**
 * Input and output shapes of the domain, as TypeBox schemas. The domain validates
 * every input against them; the REST face reuses them for request bodies and the
 * OpenAPI document, and the RPC faces for their method tables.
 */
import Type, { type Static, type TSchema } from 'typebox'
import { Compile, type Validator } from 'typebox/compile'
import { Value } from 'typebox/value'
import { Invalid, type InvalidField } from './errors.ts'
import { unstorableText, unstorableTextMessage } from './storable.ts'

/** Keys that appear in paths and in `service::project::server` full names. */
export const Name = Type.String({
  minLength: 1,
  maxLength: 100,
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
  description: 'Letters, digits, dot, underscore and hyphen; starts with a letter or digit.'
})
export const Username = Type.String({
  minLength: 1,
  maxLength: 100,
  pattern: '^[A-Za-z0-9][A-Za-z0-9._@+-]*$',
  description: 'Letters, digits and . _ @ + -; starts with a letter or digit.'
})
export const Email = Type.String({ maxLength: 254, pattern: '^[^\\s@]+@[^\\s@]+$', description: 'An e-mail address.' })
export const HttpUrl = Type.String({ maxLength: 2048, pattern: '^https?://[^\\s]+$', description: 'An http or https URL.' })
export const Description = Type.String({ maxLength: 4000 })
export const PersonName = Type.String({ maxLength: 100 })
export const Password = Type.String({ minLength: 1, maxLength: 1024 })
const StatusMessage = Type.String({ maxLength: 1000 })

export const ServiceType = Type.Enum(['program', 'workflow', 'widget'])
export type ServiceType = Static<typeof ServiceType>
export const UserType = Type.Enum(['authenticated', 'anonymous'])
export type UserType = Static<typeof UserType>
export const AuthenticationType = Type.Enum(['local', 'ldap'])
export type AuthenticationType = Static<typeof AuthenticationType>
export const UserStatus = Type.Enum(['active', 'suspended', 'pending'])
export type UserStatus = Static<typeof UserStatus>
export const ProjectRole = Type.Enum(['manager', 'contributor', 'watcher'])
export type ProjectRole = Static<typeof ProjectRole>

const strict = { additionalProperties: false }

export const ServerCreate = Type.Object({
  name: Name,
  url: HttpUrl,
  active: Type.Optional(Type.Boolean()),
  description: Type.Optional(Description)
}, strict)
export const ServerUpdate = Type.Partial(ServerCreate, strict)

export const ServiceCreate = Type.Object({
  name: Name,
  /** This server (SERVER_NAME) when absent. */
  server: Type.Optional(Name),
  project: Type.Optional(Name),
  type: ServiceType,
  exported: Type.Optional(Type.Boolean()),
  disabled: Type.Optional(Type.Boolean()),
  description: Type.Optional(Description)
}, strict)
/** A service stays on its server and in its project; those are part of its key. */
export const ServiceUpdate = Type.Object({
  name: Type.Optional(Name),
  type: Type.Optional(ServiceType),
  exported: Type.Optional(Type.Boolean()),
  disabled: Type.Optional(Type.Boolean()),
  description: Type.Optional(Description)
}, strict)

const userProfile = {
  email: Type.Optional(Type.Union([Email, Type.Null()])),
  firstname: Type.Optional(PersonName),
  lastname: Type.Optional(PersonName),
  password: Type.Optional(Password)
}
const userAdministration = {
  type: Type.Optional(UserType),
  authentication_type: Type.Optional(AuthenticationType),
  ldap_dn: Type.Optional(Type.Union([Type.String({ maxLength: 1000 }), Type.Null()])),
  status: Type.Optional(UserStatus),
  status_message: Type.Optional(Type.Union([StatusMessage, Type.Null()])),
  is_admin: Type.Optional(Type.Boolean())
}
export const UserCreate = Type.Object({ username: Username, ...userProfile, ...userAdministration }, strict)
export const UserUpdate = Type.Object({ username: Type.Optional(Username), ...userProfile, ...userAdministration }, strict)
/** What a user may change on its own record; the rest is for administrators. */
export const selfEditableUserFields = ['email', 'firstname', 'lastname', 'password'] as const

export const GroupCreate = Type.Object({
  name: Name,
  active: Type.Optional(Type.Boolean()),
  description: Type.Optional(Description),
  members: Type.Optional(Type.Array(Username, { maxItems: 10000 }))
}, strict)
export const GroupUpdate = Type.Partial(GroupCreate, strict)

const UserRef = Type.Union([Username, Type.Integer({ minimum: 1, maximum: 2 ** 31 - 1 })])
export const ProjectCreate = Type.Object({
  name: Name,
  description: Type.Optional(Description),
  /** Administrators may create a project on someone's behalf; others own what they create. By username or id. */
  owner: Type.Optional(UserRef)
}, strict)
/** The direct members holding one role, by username or id; the list replaces them. */
const RoleHolders = Type.Optional(Type.Array(UserRef, { maxItems: 10000 }))
export const ProjectUpdate = Type.Object({
  ...Type.Partial(ProjectCreate).properties,
  managers: RoleHolders,
  contributors: RoleHolders,
  watchers: RoleHolders
}, strict)

/**
 * A job's submission. Jobs recorded with a free-text `status`, before jobs ran,
 * are gone: a body with `status` is refused as a property the job does not take.
 */
export const JobSubmission = Type.Object({
  service: Type.String({ maxLength: 400, description: 'The full name of a program with an interface.' }),
  inputs: Type.Optional(Type.Record(Type.String(), Type.Unknown(), {
    description: 'Input id → value, as the service\'s schema (GET /services/{fullname}/schema) says; a File is {"data": "<data item id>"}. ' +
      'None for a program whose inputs are all optional.'
  })),
  name: Type.Optional(Type.String({ maxLength: 200 }))
}, strict)
/**
 * A data item's name is also the file name its content downloads as: no slash or
 * backslash, no control character (NUL included), and not `.` or `..`.
 */
export const DataName = Type.String({
  minLength: 1,
  maxLength: 200,
  pattern: '^(?!\\.\\.?$)[^/\\\\\\u0000-\\u001f\\u007f]+$',
  description: 'A file name: no / or \\, no control characters, not . or ..'
})
/** An EDAM format, as its IRI or its short identifier; the domain keeps the IRI. */
export const EdamFormat = Type.String({
  maxLength: 100,
  pattern: '^(http://edamontology\\.org/)?format_[0-9]{4,6}$',
  description: 'An EDAM format: http://edamontology.org/format_1929 or format_1929.'
})
const token = "[!#$%&'*+.^_`|~0-9A-Za-z-]+"
/** A media type as RFC 9110 spells one: `type/subtype`, then `; name=value` parameters. */
export const MediaType = Type.String({
  maxLength: 255,
  pattern: `^${token}/${token}(?:[ \\t]*;[ \\t]*${token}=(?:${token}|"(?:[\\t !#-\\[\\]-~]|\\\\[\\t -~])*"))*$`,
  description: 'A media type (RFC 9110): type/subtype, with parameters if any.'
})
export const DataCreate = Type.Object({
  name: DataName,
  description: Type.Optional(Description),
  format: Type.Optional(EdamFormat)
}, strict)
/** A finished resumable upload (TUS, `/uploads`) made a data item, by the id or URL its creation answered. */
export const DataFromUpload = Type.Object({
  upload: Type.String({
    minLength: 1,
    maxLength: 2048,
    description: 'A finished upload of the caller\'s: its id, or its URL (the Location its creation answered, …/uploads/<id>). It is released once it is an item.'
  }),
  name: Type.Optional(DataName),
  description: Type.Optional(Description),
  format: Type.Optional(EdamFormat)
}, { ...strict, description: 'The name defaults to the upload\'s filename metadata, its media type is its filetype metadata (application/octet-stream without).' })

/** A media type as the domain keeps it: checked, its type and subtype in lower case (they are case-insensitive, parameter values need not be). */
export function mediaTypeOf (given: string): string {
  // The check is a type guard: past a refusal it would call `given` never.
  const text = given
  if (!validatorOf(MediaType).Check(given)) throw Invalid.field('data', 'media_type', `"${text}" is not a media type (type/subtype, RFC 9110)`)
  return given.replace(/^[^;]+/, (essence) => essence.toLowerCase())
}

export const ApiKeyCreate = Type.Object({
  label: Type.Optional(Type.String({ maxLength: 200 }))
}, strict)

/** Paging shared by every collection. */
export const maxPageSize = 1000
export const Page = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: maxPageSize })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 }))
}, strict)
export type Page = Static<typeof Page>
export const defaultPageSize = 100

/** Each input schema's checker (and each JSON-RPC method's), compiled once: checks run on every call. */
const validators = new WeakMap<TSchema, Validator>()

export function validatorOf (schema: TSchema): Validator {
  let validator = validators.get(schema)
  if (validator === undefined) validators.set(schema, validator = Compile(schema))
  return validator
}

/**
 * Checks `value` against `schema` and returns it typed, or throws `Invalid`
 * listing every failing field (one message per field).
 */
export function validate<T extends TSchema> (resource: string, schema: T, value: unknown): Static<T> {
  if (!validatorOf(schema).Check(value)) throw new Invalid(resource, describeErrors(Value.Errors(schema, value)))
  const unstorable = unstorableText(value)
  if (unstorable.length > 0) throw new Invalid(resource, unstorable.map((field) => ({ field, message: unstorableTextMessage })))
  return value as Static<T>
}

/** A schema validation error, as TypeBox (and ajv) report it. */
export interface SchemaError {
  keyword: string
  instancePath: string
  params: Record<string, unknown>
  message?: string
}

/**
 * Turns schema validation errors into one message per failing field, named the
 * same way whoever validated: the domain, or a face validating a request first.
 */
export function describeErrors (errors: Iterable<SchemaError>): InvalidField[] {
  const fields = new Map<string, string>()
  for (const error of errors) {
    const message = error.message ?? 'is invalid'
    if (error.keyword === 'boolean' && message === 'schema is false') continue
    const field = describePath(error.instancePath, error.keyword, error.params)
    if (fields.has(field)) continue
    fields.set(field, describeError(error.keyword, error.params, message))
  }
  return [...fields].map(([field, message]) => ({ field, message }))
}

function describePath (instancePath: string, keyword: string, params: Record<string, unknown>): string {
  const path = instancePath.replace(/^\//, '')
  if (keyword === 'additionalProperties' && Array.isArray(params.additionalProperties)) {
    return [path, params.additionalProperties[0]].filter((p) => p !== '').join('/')
  }
  if (keyword === 'required' && Array.isArray(params.requiredProperties)) {
    return [path, params.requiredProperties[0]].filter((p) => p !== '').join('/')
  }
  return path === '' ? '(body)' : path
}

function describeError (keyword: string, params: Record<string, unknown>, message: string): string {
  switch (keyword) {
    case 'additionalProperties': return 'is not a known property'
    case 'required': return 'is required'
    case 'enum': return `must be one of ${(params.allowedValues as unknown[]).map((value) => typeof value === 'string' ? value : JSON.stringify(value)).join(', ')}`
    case 'anyOf': return 'has the wrong type'
    default: return message
  }
}
