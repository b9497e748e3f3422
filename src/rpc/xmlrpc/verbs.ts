/**
 * Roundup's XML-RPC verbs (schema, list, display, create, set, lookup, filter,
 * action) and the `system.*` introspection methods, over the classes of
 * classes.ts. Names, arguments and result shapes follow Roundup 2.6.
 * @see {@link https://www.roundup-tracker.org/docs/xmlrpc.html}
 */
import type { FastifyBaseLogger } from 'fastify'
import type { Order } from '../../domain/common.ts'
import { Conflict, NotFound } from '../../domain/errors.ts'
import { representation } from '../../domain/read-model.ts'
import { Encoded, encodeValue, type Renderable, type XmlRpcStruct, type XmlRpcValue } from './codec.ts'
import { classes, classNamed, describeType, parseDesignator, type CallContext, type ClassSpec } from './classes.ts'
import { Fault, FaultCode, toFault } from './faults.ts'
import { parseAssignments, propertyOf, readableProperties, readProperty, searchFor } from './properties.ts'

interface Verb {
  /** [return type, argument types…] as system.methodSignature reports it. */
  signature: string[]
  help: string
  minArgs: number
  maxArgs: number
  /** Argument names, for the wrong-arguments message. */
  usage: string
  run: (ctx: DispatchContext, args: XmlRpcValue[]) => Promise<Renderable>
}

/** The caller and the domain, and the request's logger for unexpected errors. */
export interface DispatchContext extends CallContext {
  log: FastifyBaseLogger
}

function stringArg (args: XmlRpcValue[], index: number, verb: string, name: string): string {
  const value = args[index]
  if (typeof value !== 'string') throw new Fault(FaultCode.wrongArguments, `${verb}(): argument "${name}" must be a string`)
  return value
}

function stringArgs (args: XmlRpcValue[], verb: string, name: string): string[] {
  return args.map((_, index) => stringArg(args, index, verb, name))
}

const unlimited = Number.MAX_SAFE_INTEGER

const verbs: Record<string, Verb> = {
  schema: {
    signature: ['struct'],
    help: 'schema() → {classname: [[property, type], …]} for every class, properties sorted.',
    minArgs: 0,
    maxArgs: 0,
    usage: 'schema()',
    run: async () => Object.fromEntries(Object.values(classes)
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((cls) => [cls.name, Object.keys(cls.properties).sort().map((name) => [name, describeType(cls.properties[name]!.type)])]))
  },
  list: {
    signature: ['array', 'string', 'string'],
    help: 'list(classname, [property]) → the key (or label) of every live item you may see, or that property of each.',
    minArgs: 1,
    maxArgs: 2,
    usage: 'list(classname, [property])',
    run: async (ctx, args) => {
      const cls = classNamed(stringArg(args, 0, 'list', 'classname'))
      const property = args.length > 1 ? stringArg(args, 1, 'list', 'property') : cls.label
      if (property !== 'id') propertyOf(cls, property)
      const items = await cls.all(ctx)
      return await Promise.all(items.map(async (item) => await readProperty(cls, item, property, ctx)))
    }
  },
  display: {
    signature: ['struct', 'string', 'string'],
    help: 'display(designator, [property, …]) → a struct of the named properties (default: all but passwords).',
    minArgs: 1,
    maxArgs: unlimited,
    usage: 'display(designator, [property, …])',
    run: async (ctx, args) => {
      const { cls, id } = parseDesignator(stringArg(args, 0, 'display', 'designator'))
      const asked = args.length > 1 ? stringArgs(args.slice(1), 'display', 'property') : undefined
      for (const name of asked ?? []) if (name !== 'id') propertyOf(cls, name)
      const item: unknown = await cls.get(ctx, id)
      const shown = asked === undefined ? readableProperties(cls) : [...new Set(asked)].sort()
      return await encodedOnce(item, shown.join(','), async () =>
        Object.fromEntries(await Promise.all(shown.map(async (name): Promise<[string, Renderable]> => [name, await readProperty(cls, item, name, ctx)]))))
    }
  },
  create: {
    signature: ['string', 'string', 'string'],
    help: 'create(classname, "prop=value", …) → the new id. For apikey: {"id": id, "secret": key}, the only time the key is shown.',
    minArgs: 1,
    maxArgs: unlimited,
    usage: 'create(classname, "prop=value", …)',
    run: async (ctx, args) => {
      const cls = classNamed(stringArg(args, 0, 'create', 'classname'))
      if (cls.create === undefined) throw new Fault(FaultCode.notSupported, `items of class ${cls.name} cannot be created`)
      const input = await parseAssignments(cls, args.slice(1), ctx)
      const keyField = cls.key === undefined ? undefined : cls.properties[cls.key]?.write
      if (keyField !== undefined && (input[keyField] === undefined || input[keyField] === null)) {
        throw new Fault(FaultCode.invalidValue, `you must provide the "${cls.key}" property.`)
      }
      const created = await roundupKeyConflict(cls, input, async () => await cls.create!(ctx, input))
      return created.secret === undefined ? String(created.id) : { id: String(created.id), secret: created.secret }
    }
  },
  set: {
    signature: ['struct', 'string', 'string'],
    help: 'set(designator, "prop=value", …) → a struct of the properties that changed and their new values ({} when none did).',
    minArgs: 1,
    maxArgs: unlimited,
    usage: 'set(designator, "prop=value", …)',
    run: async (ctx, args) => {
      const { cls, id } = parseDesignator(stringArg(args, 0, 'set', 'designator'))
      if (cls.update === undefined) throw new Fault(FaultCode.notSupported, `items of class ${cls.name} cannot be changed`)
      const input = await parseAssignments(cls, args.slice(1), ctx)
      const { item, changed } = await roundupKeyConflict<{ item: unknown, changed: string[] }>(cls, input, async () => await cls.update!(ctx, id, input))
      const result: Record<string, Renderable> = {}
      for (const field of changed) {
        const name = Object.keys(cls.properties).find((prop) => cls.properties[prop]!.write === field) ?? field
        // A changed password is reported, its value never.
        result[name] = cls.properties[name]?.read === undefined ? '<secret>' : await readProperty(cls, item, name, ctx)
      }
      return result
    }
  },
  lookup: {
    signature: ['string', 'string', 'string'],
    help: 'lookup(classname, keyvalue) → the id of the live item with that key.',
    minArgs: 2,
    maxArgs: 2,
    usage: 'lookup(classname, keyvalue)',
    run: async (ctx, args) => {
      const cls = classNamed(stringArg(args, 0, 'lookup', 'classname'))
      const key = stringArg(args, 1, 'lookup', 'keyvalue')
      if (cls.lookup === undefined || cls.key === undefined) {
        throw new Fault(FaultCode.notSupported, `No key property set for class ${cls.name}`)
      }
      try {
        return String(await cls.lookup(ctx, key))
      } catch (error) {
        if (error instanceof NotFound) {
          throw new Fault(FaultCode.notFound, `No key (${cls.key}) value "${key}" for "${cls.name}"`)
        }
        throw error
      }
    }
  },
  filter: {
    signature: ['array', 'string', 'array', 'struct', 'array'],
    help: 'filter(classname, ids or nil, {property: value}, [sort]) → ids of matching live items: strings match ' +
      'case-insensitive substrings, a list means any of its values, links match by id or key, dates the period they name ' +
      '(2026, 2026-11, 2026-11-23, 2026-11-23T10:05, … in UTC); sort is [("+"|"-", property), …]: missing values first, ' +
      'text case-insensitively, links by id, multilinks by their lowest id, ties by id.',
    minArgs: 3,
    maxArgs: 4,
    usage: 'filter(classname, ids or None, {property: value}, [sort])',
    run: async (ctx, args) => await filter(ctx, args)
  },
  action: {
    signature: ['nil', 'string', 'string'],
    help: 'action("retire" | "restore", designator): retire hides an item from list and filter; restore brings it back. ' +
      'action("sync", "serverN") (administrators): fetches that peer\'s exported services now and answers what changed ' +
      '{added, changed, removed, unchanged, ignored, shadowed}. action("cancel", "jobN") (contributors and above): ' +
      '"cancelled" for a queued job, cancelled at once; "asked" for a running one, which ends cancelled within seconds; ' +
      'a fault 409 for one that has ended.',
    minArgs: 1,
    maxArgs: unlimited,
    usage: 'action(name, designator)',
    run: async (ctx, args) => {
      const name = stringArg(args, 0, 'action', 'name')
      if (name !== 'retire' && name !== 'restore' && name !== 'sync' && name !== 'cancel') throw new Fault(FaultCode.notSupported, `action "${name}" is not supported`)
      if (args.length !== 2) throw new Fault(FaultCode.wrongArguments, `action("${name}") takes exactly one designator`)
      const { cls, id } = parseDesignator(stringArg(args, 1, 'action', 'designator'))
      if (name === 'sync') {
        if (cls.name !== 'server') throw new Fault(FaultCode.notSupported, `only servers are synced, not items of class ${cls.name}`)
        const { server, ...counts } = await ctx.domain.federation.sync(ctx.actor, id)
        return counts
      }
      if (name === 'cancel') {
        if (cls.cancel === undefined) throw new Fault(FaultCode.notSupported, `only jobs are cancelled, not items of class ${cls.name}`)
        return await cls.cancel(ctx, id)
      }
      if (cls.setRetired === undefined) throw new Fault(FaultCode.notSupported, `items of class ${cls.name} cannot be retired or restored`)
      await cls.setRetired(ctx, id, name === 'retire')
      return null
    }
  }
}

/**
 * The encoded answer of display() for a remembered item, kept with it by the read
 * model (src/domain/read-model.ts): while nothing it read changes, the domain hands
 * the same caller the same item again, and it is neither read nor encoded again.
 */
const encodings = new Map<string, object>()
/** The most lists of properties whose encodings are kept (any subset of a class's properties may be asked for). */
const maxEncodings = 256

async function encodedOnce (item: unknown, properties: string, render: () => Promise<Renderable>): Promise<Renderable> {
  if (typeof item !== 'object' || item === null) return await render()
  let kind = encodings.get(properties)
  if (kind === undefined) {
    if (encodings.size >= maxEncodings) return await render()
    encodings.set(properties, kind = {})
  }
  const kept = representation(item, kind, (): { encoded?: Encoded } => ({}))
  kept.encoded ??= new Encoded(encodeValue(await render()))
  return kept.encoded
}

/** A taken key, in Roundup's words: `node with key "bob" exists`. */
async function roundupKeyConflict<T> (cls: ClassSpec, input: Record<string, unknown>, work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    const keyField = cls.key === undefined ? undefined : cls.properties[cls.key]?.write
    if (error instanceof Conflict && keyField !== undefined && error.field === keyField && typeof input[keyField] === 'string') {
      throw new Fault(FaultCode.conflict, `node with key "${input[keyField]}" exists`)
    }
    throw error
  }
}

function idList (value: XmlRpcValue): number[] {
  if (!Array.isArray(value)) throw new Fault(FaultCode.wrongArguments, 'filter(): ids must be a list of ids or None')
  return value.map((item) => {
    // A struct decodes without a prototype, so String() of one throws: only text and numbers can be ids.
    const text = typeof item === 'string' || typeof item === 'number' ? String(item) : undefined
    if (text === undefined || !/^[1-9]\d{0,15}$/.test(text)) {
      throw new Fault(FaultCode.wrongArguments, `filter(): ${text === undefined ? 'a value that is neither text nor a number' : `"${text}"`} is not an id`)
    }
    return Number(text)
  })
}

function isStruct (value: XmlRpcValue | undefined): value is XmlRpcStruct {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date) && !Buffer.isBuffer(value)
}

/**
 * Hands the domain the filter and the order the arguments spell: the database
 * selects and sorts, and only the ids come back.
 */
async function filter (ctx: CallContext, args: XmlRpcValue[]): Promise<string[]> {
  const cls = classNamed(stringArg(args, 0, 'filter', 'classname'))
  const only = args[1] === null ? undefined : idList(args[1]!)
  const spec = args[2]
  if (!isStruct(spec)) throw new Fault(FaultCode.wrongArguments, 'filter(): the filter spec must be a struct')
  const searches = await Promise.all(Object.entries(spec).map(async ([name, value]) => await searchFor(cls, name, value, ctx)))
  const order = sortSpec(cls, args[3])
  if (only !== undefined && only.length === 0) return []
  const domainFilter: Record<string, unknown> = {}
  let ids = only
  for (const search of searches) {
    if (search === 'nothing') return []
    if (search === 'anything') continue
    if (search.field === 'ids') ids = ids === undefined ? search.value as number[] : ids.filter((id) => (search.value as number[]).includes(id))
    else domainFilter[search.field] = search.value
  }
  if (ids !== undefined) domainFilter.ids = ids
  return (await cls.search(ctx, domainFilter, order)).map(String)
}

/** Roundup 2.x sort spec: a list of (direction, property) pairs, or one pair; as the domain's order. */
function sortSpec (cls: ClassSpec, value: XmlRpcValue | undefined): Array<Order<string>> {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) throw new Fault(FaultCode.wrongArguments, 'filter(): sort must be a list of (direction, property) pairs')
  const pairs = value.length === 2 && typeof value[0] === 'string' ? [value] : value
  return pairs.map((pair) => {
    if (!Array.isArray(pair) || pair.length !== 2 || (pair[0] !== '+' && pair[0] !== '-') || typeof pair[1] !== 'string') {
      throw new Fault(FaultCode.wrongArguments, 'filter(): each sort entry must be ("+" or "-", property)')
    }
    const name = pair[1]
    const field = name === 'id' ? 'id' : propertyOf(cls, name).sort
    if (field === undefined) throw new Fault(FaultCode.permissionDenied, `Permission to view ${name} of ${cls.name} denied`)
    return { field, descending: pair[0] === '-' }
  })
}

/** Most calls one system.multicall may carry. */
const maxMulticalls = 100

const systemVerbs: Record<string, Verb> = {
  'system.listMethods': {
    signature: ['array'],
    help: 'system.listMethods() → the names of every method.',
    minArgs: 0,
    maxArgs: 0,
    usage: 'system.listMethods()',
    run: async () => methodNames()
  },
  'system.methodHelp': {
    signature: ['string', 'string'],
    help: 'system.methodHelp(name) → what the method does.',
    minArgs: 1,
    maxArgs: 1,
    usage: 'system.methodHelp(name)',
    run: async (_ctx, args) => verbNamed(stringArg(args, 0, 'system.methodHelp', 'name')).help
  },
  'system.methodSignature': {
    signature: ['array', 'string'],
    help: 'system.methodSignature(name) → [[return type, argument types…]].',
    minArgs: 1,
    maxArgs: 1,
    usage: 'system.methodSignature(name)',
    run: async (_ctx, args) => [verbNamed(stringArg(args, 0, 'system.methodSignature', 'name')).signature]
  },
  'system.multicall': {
    signature: ['array', 'array'],
    help: 'system.multicall([{"methodName": name, "params": [...]}, …]) → [[result] or {faultCode, faultString}, …]; ' +
      `each call succeeds or fails on its own; at most ${maxMulticalls} calls, none of them system.multicall.`,
    minArgs: 1,
    maxArgs: 1,
    usage: 'system.multicall(calls)',
    run: async (ctx, args) => await multicall(ctx, args[0]!)
  }
}

function methodNames (): string[] {
  return [...Object.keys(verbs), ...Object.keys(systemVerbs)].sort()
}

function verbNamed (name: string): Verb {
  if (Object.hasOwn(verbs, name)) return verbs[name]!
  if (Object.hasOwn(systemVerbs, name)) return systemVerbs[name]!
  throw new Fault(FaultCode.unknownMethod, `method "${name}" is not supported`)
}

async function multicall (ctx: DispatchContext, calls: XmlRpcValue): Promise<Renderable> {
  if (!Array.isArray(calls)) throw new Fault(FaultCode.wrongArguments, 'system.multicall(): expects a list of calls')
  if (calls.length > maxMulticalls) throw new Fault(FaultCode.wrongArguments, `system.multicall(): at most ${maxMulticalls} calls`)
  const results: Renderable[] = []
  // One after the other, as Roundup runs them: a later call may depend on an earlier one.
  for (const call of calls) {
    try {
      if (!isStruct(call) || typeof call.methodName !== 'string' || !Array.isArray(call.params ?? [])) {
        throw new Fault(FaultCode.wrongArguments, 'system.multicall(): each call must be {"methodName": string, "params": list}')
      }
      if (call.methodName === 'system.multicall') throw new Fault(FaultCode.wrongArguments, 'system.multicall cannot be nested')
      results.push([await dispatch(ctx, call.methodName, (call.params ?? []) as XmlRpcValue[])])
    } catch (error) {
      const fault = toFault(error, ctx.log)
      results.push({ faultCode: fault.faultCode, faultString: fault.message })
    }
  }
  return results
}

/** Every method name this face answers (the fuzz suite calls each). */
export const verbNames: readonly string[] = [...Object.keys(verbs), ...Object.keys(systemVerbs)]

/** Runs one method call; throws what the method throws (a Fault, a DomainError, or a bug). */
export async function dispatch (ctx: DispatchContext, methodName: string, params: XmlRpcValue[]): Promise<Renderable> {
  const verb = verbNamed(methodName)
  if (params.length < verb.minArgs || params.length > verb.maxArgs) {
    throw new Fault(FaultCode.wrongArguments, `${verb.usage} takes ${describeArity(verb)}, got ${params.length}`)
  }
  return await verb.run(ctx, params)
}

function describeArity (verb: Verb): string {
  if (verb.minArgs === verb.maxArgs) return `${verb.minArgs} argument(s)`
  if (verb.maxArgs === unlimited) return `at least ${verb.minArgs} argument(s)`
  return `${verb.minArgs} to ${verb.maxArgs} arguments`
}
