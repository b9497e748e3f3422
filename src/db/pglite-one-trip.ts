/**
 * Statements to the embedded database in one call each.
 *
 * PGlite's `query` makes six calls into its WebAssembly PostgreSQL per statement
 * (parse; describe the statement, to learn its parameters' types; bind; describe
 * the portal; execute; sync), each with its own round of protocol messages in
 * JavaScript, so that it can serialize every parameter by its type. node-postgres,
 * which the PostgreSQL server's adapter uses, never asks: it sends each parameter as
 * text (bytes as binary) and the server infers the types from the statement. This
 * does the same, all six messages in one call: a statement costs the server's one
 * thread about a third of the CPU it did (bench/README.md, "The embedded database").
 *
 * The Prisma adapter is given a client whose `query`, and its transactions', is
 * this; everything else is PGlite's own.
 */
import { messages as backend, protocol, types, type PGlite, type QueryOptions, type Results, type Transaction } from '@electric-sql/pglite'

const { serialize } = protocol

/** `pglite` with `query`, and the `query` of its transactions, in one call each. */
export function oneTripClient (pglite: PGlite): PGlite {
  const query = async (sql: string, values: unknown[] = [], options?: QueryOptions): Promise<Results> => await oneTrip(pglite, sql, values, options, false)
  const transaction = async <T>(callback: (tx: Transaction) => Promise<T>): Promise<T> => await pglite.transaction(async (tx) => await callback(new Proxy(tx, {
    get (target, property, receiver) {
      if (property !== 'query') return Reflect.get(target, property, receiver) as unknown
      return async (sql: string, values: unknown[] = [], options?: QueryOptions): Promise<Results> => {
        if (target.closed) throw new Error('Transaction is closed')
        return await oneTrip(pglite, sql, values, options, true)
      }
    }
  })))
  return new Proxy(pglite, {
    get (target, property) {
      if (property === 'query') return query
      if (property === 'transaction') return transaction
      // PGlite's methods use its private fields: they are called on PGlite itself.
      const value: unknown = Reflect.get(target, property, target)
      return typeof value === 'function' ? value.bind(target) as unknown : value
    }
  })
}

async function oneTrip (pglite: PGlite, sql: string, values: unknown[], options: QueryOptions | undefined, inTransaction: boolean): Promise<Results> {
  const message = concatenated([
    serialize.parse({ text: sql }),
    serialize.bind({ values: values.map(parameter) }),
    serialize.describe({ type: 'P' }),
    serialize.execute({}),
    serialize.sync()
  ])
  // An error answer is thrown as PGlite's DatabaseError, which the adapter translates; sync ends the exchange either way.
  const { messages } = await pglite.runExclusive(async () => await pglite.execProtocol(message, { syncToFs: false }))
  // As PGlite's own query does: a statement outside a transaction is kept at once (a no-op for a directory or memory).
  if (!inTransaction) await pglite.syncToFs()
  return resultOf(messages, pglite.parsers, options)
}

/**
 * The statement's answer, as PGlite's `parseResults` makes it: each value parsed by
 * its type, the caller's parsers first, then the database's. Not `parseResults`
 * itself: it copies the database's parsers (one per type the database knows, about
 * a thousand) into a new object for every statement, which costs more than the
 * statement (bench/README.md, "The embedded database").
 */
function resultOf (messages: readonly backend.BackendMessage[], known: Record<number, types.Parser>, options: QueryOptions | undefined): Results {
  const given = options?.parsers ?? {}
  const parsed = (value: string | null, type: number): unknown => {
    if (value === null) return null
    const parser = given[type] ?? known[type] ?? types.parsers[type]
    return parser === undefined ? value : parser(value, type)
  }
  let fields: Array<{ name: string, dataTypeID: number }> = []
  const rows: unknown[] = []
  let affectedRows = 0
  for (const message of messages) {
    if (message instanceof backend.RowDescriptionMessage) {
      fields = message.fields.map((field) => ({ name: field.name, dataTypeID: field.dataTypeID }))
    } else if (message instanceof backend.DataRowMessage) {
      const values = message.fields.map((value, i) => parsed(value, fields[i]!.dataTypeID))
      rows.push(options?.rowMode === 'array' ? values : Object.fromEntries(values.map((value, i) => [fields[i]!.name, value])))
    } else if (message instanceof backend.CommandCompleteMessage) {
      affectedRows = changedRows(message.text)
    }
  }
  return { rows, fields, affectedRows } as Results
}

/** The rows a command changed, as its completion tag says (`INSERT 0 3`, `UPDATE 2`…); 0 for any other. */
function changedRows (tag: string): number {
  const words = tag.split(' ')
  switch (words[0]) {
    case 'INSERT': return Number.parseInt(words[2]!, 10)
    case 'UPDATE': case 'DELETE': case 'COPY': case 'MERGE': return Number.parseInt(words[1]!, 10)
    default: return 0
  }
}

/** A parameter as node-postgres sends it (its `prepareValue`): text, bytes as they are, arrays as PostgreSQL's array literal. */
function parameter (value: unknown): string | Uint8Array | null {
  if (value === null || value === undefined) return null
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
  if (value instanceof Date) return value.toISOString()
  if (Array.isArray(value)) return arrayLiteral(value)
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value)
  return JSON.stringify(value)
}

function arrayLiteral (values: readonly unknown[]): string {
  const items = values.map((item) => {
    if (item === null || item === undefined) return 'NULL'
    if (Array.isArray(item)) return arrayLiteral(item)
    const text = ArrayBuffer.isView(item) ? `\\x${Buffer.from(item.buffer, item.byteOffset, item.byteLength).toString('hex')}` : parameter(item) as string
    return `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`
  })
  return `{${items.join(',')}}`
}

function concatenated (parts: readonly Uint8Array[]): Uint8Array {
  const whole = new Uint8Array(parts.reduce((length, part) => length + part.length, 0))
  let offset = 0
  for (const part of parts) {
    whole.set(part, offset)
    offset += part.length
  }
  return whole
}
