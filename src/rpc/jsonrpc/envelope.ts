/**
 * The JSON-RPC core, independent of HTTP: it takes the raw text of a request and
 * answers it in the dialect it was written in. RhodeCode's envelope
 * (`{id, api_key, method, args}` → `{id, result, error}`) is the default; a call
 * saying `"jsonrpc": "2.0"`, or an array of them (a batch), is answered by the
 * JSON-RPC 2.0 specification. Both reach the same method table.
 */
import type { Actor } from '../../domain/actor.ts'
import { Unauthenticated } from '../../domain/errors.ts'
import type { Domain } from '../../domain/index.ts'
import { describeError, ProtocolError, type DescribedError } from './errors.ts'
import { argumentNames, invoke, type RpcMethod } from './method.ts'
import { methods as methodTable } from './methods/index.ts'

/** Where the caller comes from: a key inside the message, or the transport's own credentials. */
export interface CallerSource {
  /** The actor owning this API key; throws Unauthenticated or TooManyAttempts. */
  actorFor: (key: string) => Promise<Actor>
  /** The actor from the transport (HTTP headers), for JSON-RPC 2.0 calls that carry no `api_key`. */
  transportActor: () => Promise<Actor>
  /** Records a failure the caller is not told all of: an unexpected one ("Internal server error"), or the database's trouble. */
  logFailure: (error: unknown, call: { method: string, id: unknown }) => void
}

export interface Answer {
  /** The JSON to send back. */
  body: unknown
  /** Set when the login throttle refused a call: the seconds before trying again. */
  retryAfterSeconds?: number
}

export interface EndpointOptions {
  /** The most calls one JSON-RPC 2.0 batch may hold. */
  maxBatch: number
}

/** How much of an unparsable body is quoted back in RhodeCode's parse error. */
const rawExcerptLength = 200

type JsonObject = Record<string, unknown>

function isObject (value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export class JsonRpcEndpoint {
  constructor (
    private readonly domain: Domain,
    private readonly options: EndpointOptions = { maxBatch: 100 },
    private readonly methods: ReadonlyMap<string, RpcMethod> = methodTable
  ) {}

  /** Answers a request body; null means nothing to send (only notifications). */
  async receive (raw: string | undefined, source: CallerSource): Promise<Answer | null> {
    const exchange = new Exchange(this.domain, this.methods, source)
    const body = await this.dispatch(raw, exchange)
    if (body === null) return null
    return exchange.retryAfterSeconds === undefined ? { body } : { body, retryAfterSeconds: exchange.retryAfterSeconds }
  }

  private async dispatch (raw: string | undefined, exchange: Exchange): Promise<unknown> {
    if (raw === undefined || raw === '') return rhodecodeAnswer(null, null, 'Content-Length is 0')
    const parsed = parse(raw)
    if (!parsed.ok) {
      if (looksLikeJsonRpc2(raw)) return jsonRpc2Error(null, describeError(new ProtocolError('parse', `Parse error: ${parsed.reason}`)))
      return rhodecodeAnswer(null, null, `JSON parse error ERR:${parsed.reason} RAW:${pythonRepr(excerpt(raw))}`)
    }
    const request = parsed.value
    if (Array.isArray(request)) return await this.batch(request, exchange)
    if (isObject(request) && request.jsonrpc === '2.0') return await exchange.jsonRpc2(request)
    return await exchange.rhodecode(request)
  }

  private async batch (calls: unknown[], exchange: Exchange): Promise<unknown> {
    if (calls.length === 0) return jsonRpc2Error(null, describeError(new ProtocolError('invalid_request', 'Invalid Request: the batch is empty')))
    if (calls.length > this.options.maxBatch) {
      return jsonRpc2Error(null, describeError(new ProtocolError('invalid_request',
        `Invalid Request: a batch holds at most ${this.options.maxBatch} calls, this one ${calls.length}`, { maxBatch: this.options.maxBatch })))
    }
    const answers: unknown[] = []
    // One after the other, so that calls which change things apply in the order sent.
    for (const call of calls) {
      const answer = await exchange.jsonRpc2(call)
      if (answer !== null) answers.push(answer)
    }
    return answers.length === 0 ? null : answers
  }
}

/** The calls of one request: they share its caller source and the Retry-After it may need. */
class Exchange {
  retryAfterSeconds: number | undefined

  constructor (
    private readonly domain: Domain,
    private readonly methods: ReadonlyMap<string, RpcMethod>,
    private readonly source: CallerSource
  ) {}

  /** RhodeCode's controller, step by step: envelope keys, API key, method, arguments, call. */
  async rhodecode (request: unknown): Promise<unknown> {
    if (!isObject(request)) return rhodecodeAnswer(null, null, 'Incorrect JSON query: expected a JSON object')
    const id = request.id ?? null
    if (unsafeId(id)) return rhodecodeAnswer(null, null, `Incorrect JSON query: ${unsafeIdMessage}`)
    // RhodeCode 1.2's envelope has no `id` (its controller since 1.4 wants one): a call without it is answered with id null.
    for (const key of ['api_key', 'method', 'args']) {
      if (!(key in request)) return rhodecodeAnswer(id, null, `Incorrect JSON query missing '${key}'`)
    }
    const name = String(request.method)
    try {
      if (typeof request.api_key !== 'string' || request.api_key === '') throw invalidKey()
      const actor = await this.authenticate(() => this.source.actorFor(request.api_key as string), invalidKey)
      const method = this.method(request.method)
      if (request.args !== null && !isObject(request.args)) {
        throw new ProtocolError('invalid_request', 'Incorrect JSON query: `args` must be an object of named arguments')
      }
      const result = await invoke(method, this.domain, actor, request.args ?? {})
      return rhodecodeAnswer(id, result ?? null, null)
    } catch (error) {
      return rhodecodeAnswer(id, null, this.describe(error, name, id).message)
    }
  }

  /** One JSON-RPC 2.0 call; null for a notification (no `id`), which is never answered. */
  async jsonRpc2 (request: unknown): Promise<unknown> {
    const invalid = (message: string, id: unknown = null): unknown =>
      jsonRpc2Error(id, describeError(new ProtocolError('invalid_request', `Invalid Request: ${message}`)))
    if (!isObject(request)) return invalid('a call must be a JSON object')
    if (request.jsonrpc !== '2.0') return invalid('"jsonrpc" must be "2.0"')
    const { id, method: name, params } = request
    const notification = !('id' in request)
    if (!notification && typeof id !== 'string' && typeof id !== 'number' && id !== null) {
      return invalid('"id" must be a string, a number or null')
    }
    if (unsafeId(id)) return invalid(unsafeIdMessage)
    if (typeof name !== 'string') return invalid('"method" must be a string', id)
    if (params !== undefined && !isObject(params) && !Array.isArray(params)) {
      return invalid('"params" must be an object or an array', id)
    }
    try {
      const method = this.method(name)
      const { args, key } = namedArguments(method, params)
      const actor = key === undefined
        ? await this.authenticate(this.source.transportActor, () => new ProtocolError('invalid_key', 'Invalid credentials'))
        : await this.authenticate(() => this.source.actorFor(key), invalidKey)
      const result = await invoke(method, this.domain, actor, args)
      return notification ? null : { jsonrpc: '2.0', id, result: result ?? null }
    } catch (error) {
      const described = this.describe(error, name, id)
      return notification ? null : jsonRpc2Error(id, described)
    }
  }

  private method (name: unknown): RpcMethod {
    const method = typeof name === 'string' ? this.methods.get(name) : undefined
    if (method === undefined) throw new ProtocolError('method_not_found', `No such method: ${String(name)}`)
    return method
  }

  /** Resolves the caller; a rejected credential becomes the dialect's "invalid key" error. */
  private async authenticate (resolve: () => Promise<Actor>, rejected: () => ProtocolError): Promise<Actor> {
    try {
      return await resolve()
    } catch (error) {
      if (error instanceof Unauthenticated) throw rejected()
      throw error
    }
  }

  private describe (error: unknown, method: string, id: unknown): DescribedError {
    const described = describeError(error)
    if (described.internal || described.data?.reason === 'unavailable' || described.data?.reason === 'insufficient_storage') {
      this.source.logFailure(error, { method, id })
    }
    if (described.retryAfterSeconds !== undefined) {
      this.retryAfterSeconds = Math.max(this.retryAfterSeconds ?? 0, described.retryAfterSeconds)
    }
    return described
  }
}

function invalidKey (): ProtocolError {
  return new ProtocolError('invalid_key', 'Invalid API KEY')
}

/**
 * JSON-RPC 2.0 params as named arguments: by name (where `api_key` may carry the
 * caller's key) or by position, in the method's documented order.
 */
function namedArguments (method: RpcMethod, params: unknown): { args: JsonObject, key?: string } {
  if (params === undefined) return { args: {} }
  if (Array.isArray(params)) {
    const names = argumentNames(method)
    if (params.length > names.length) {
      const takes = names.length === 0 ? 'no params' : `${names.length} (${names.join(', ')})`
      throw new ProtocolError('invalid_params', `Too many params: ${method.name} takes ${takes}, ${params.length} were sent`)
    }
    return { args: Object.fromEntries(params.map((value, index) => [names[index]!, value])) }
  }
  const { api_key: key, ...args } = params as JsonObject
  if (key === undefined) return { args }
  if (typeof key !== 'string') throw new ProtocolError('invalid_params', 'Invalid `api_key` param: must be a string')
  return { args, key }
}

/**
 * An integer id past 2^53 − 1 was already changed by parsing it (9007199254740993 reads
 * as …992): answering with it would answer another call's id, so the call is refused.
 */
function unsafeId (id: unknown): boolean {
  return typeof id === 'number' && Number.isInteger(id) && !Number.isSafeInteger(id)
}
const unsafeIdMessage = '"id" is an integer too large to be read exactly (more than 2^53 - 1): send it as a string'

function rhodecodeAnswer (id: unknown, result: unknown, error: string | null): unknown {
  return { id, result: error === null ? result : null, error }
}

function jsonRpc2Error (id: unknown, error: DescribedError): unknown {
  return {
    jsonrpc: '2.0',
    id: id ?? null,
    error: { code: error.code, message: error.message, ...(error.data === undefined ? {} : { data: error.data }) }
  }
}

function parse (raw: string): { ok: true, value: unknown } | { ok: false, reason: string } {
  try {
    return { ok: true, value: JSON.parse(raw) }
  } catch (error) {
    // RhodeCode URL-decodes the body (unquote_plus) before parsing, so some clients
    // send it encoded. Decoding only when the text is no JSON as it stands keeps
    // a literal "+" or "%" in plain JSON intact.
    if (/%[0-9A-Fa-f]{2}/.test(raw)) {
      try {
        return { ok: true, value: JSON.parse(decodeURIComponent(raw.replace(/\+/g, ' '))) }
      } catch {
        // Not encoded JSON either: the error about the text as sent says more.
      }
    }
    return { ok: false, reason: (error as Error).message }
  }
}

/** A body that cannot be parsed is answered as JSON-RPC 2.0 when it seems to be written in it. */
function looksLikeJsonRpc2 (raw: string): boolean {
  return /^\s*\[/.test(raw) || /"jsonrpc"\s*:\s*"2\.0"/.test(raw)
}

function excerpt (raw: string): string {
  return raw.length > rawExcerptLength ? `${raw.slice(0, rawExcerptLength)}...` : raw
}

/** Python's repr() of a string, as RhodeCode's `RAW:%r` prints it. */
function pythonRepr (text: string): string {
  // eslint-disable-next-line no-control-regex -- repr() escapes the control characters
  const escaped = text.replace(/[\\'\x00-\x1f\x7f]/g, (c) => {
    switch (c) {
      case '\\': return '\\\\'
      case '\'': return '\\\''
      case '\n': return '\\n'
      case '\r': return '\\r'
      case '\t': return '\\t'
      default: return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`
    }
  })
  return `'${escaped}'`
}
