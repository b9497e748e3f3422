/**
 * The server's control socket: while a server owns an embedded database, the
 * command line cannot open it, so it sends its command here and the server runs
 * it (src/admin/commands.ts) on its own database, through its own domain — the
 * next request sees the effect, whatever the server keeps in memory.
 *
 * HTTP over a Unix socket that only the directory's owner may open (mode 0600):
 * reaching it is the same privilege as reading the database files. One route,
 * `POST /commands`, takes an AdminCommand as JSON and answers
 * `{stdout, stderr}` (200) or `{error, usage}` (400 for a refused command).
 */
import { chmod, unlink } from 'node:fs/promises'
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import { once } from 'node:events'
import type { FastifyBaseLogger } from 'fastify'
import Type from 'typebox'
import { Value } from 'typebox/value'
import { MigrationError } from '../db/migrate.ts'
import { isDomainError } from '../domain/errors.ts'
import { UsageError, type AdminCommand, type AdminOutput } from './commands.ts'

const AdminCommandSchema = Type.Object({
  command: Type.String({ maxLength: 100 }),
  args: Type.Array(Type.String({ maxLength: 1000 }), { maxItems: 10 }),
  options: Type.Object({
    password: Type.Optional(Type.String({ maxLength: 4096 })),
    email: Type.Optional(Type.String({ maxLength: 1000 })),
    admin: Type.Optional(Type.Boolean()),
    label: Type.Optional(Type.String({ maxLength: 1000 }))
  }, { additionalProperties: false })
}, { additionalProperties: false })

const bodyLimit = 64 * 1024

/** A command the server refused, with its reason; `usage` when the command was used wrongly. */
export class CommandRefused extends Error {
  override name = 'CommandRefused'
  constructor (message: string, readonly usage: boolean) {
    super(message)
  }
}

/** The server named in the lock does not answer on its socket (yet, or any more). */
export class ControlUnavailable extends Error {
  override name = 'ControlUnavailable'
}

export interface ControlServer {
  close: () => Promise<void>
}

/** Listens on `socketPath` (any leftover socket file there is removed: the caller holds the directory lock). */
export async function serveAdminCommands (
  socketPath: string, run: (command: AdminCommand) => Promise<AdminOutput>, log: FastifyBaseLogger
): Promise<ControlServer> {
  await unlink(socketPath).catch(() => {})
  const server = createServer((request, response) => {
    answer(request, response, run, log).catch((error: unknown) => {
      log.error({ err: error }, 'control socket: cannot answer')
      response.destroy()
    })
  })
  server.listen(socketPath)
  await once(server, 'listening')
  await chmod(socketPath, 0o600)
  return {
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

async function answer (
  request: IncomingMessage, response: ServerResponse, run: (command: AdminCommand) => Promise<AdminOutput>, log: FastifyBaseLogger
): Promise<void> {
  const send = (status: number, body: unknown): void => {
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  }
  if (request.method !== 'POST' || request.url !== '/commands') return send(404, { error: 'POST /commands is the only route', usage: false })
  let size = 0
  const chunks: Buffer[] = []
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > bodyLimit) return send(413, { error: `a command is at most ${bodyLimit} bytes`, usage: false })
    chunks.push(chunk)
  }
  let command: unknown
  try {
    command = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    return send(400, { error: 'the command is not JSON', usage: false })
  }
  if (!Value.Check(AdminCommandSchema, command)) {
    const first = Value.Errors(AdminCommandSchema, command)[0]
    return send(400, { error: `malformed command: ${first?.instancePath ?? ''} ${first?.message ?? ''}`.trim(), usage: false })
  }
  // The arguments name users and keys, never secrets: the password travels in `options`.
  log.info({ command: command.command, args: command.args }, 'administrative command')
  try {
    send(200, await run(command))
  } catch (error) {
    if (error instanceof UsageError) return send(400, { error: error.message, usage: true })
    if (error instanceof MigrationError || isDomainError(error)) return send(400, { error: error.message, usage: false })
    log.error({ err: error, command: command.command }, 'administrative command failed')
    send(500, { error: 'the server could not run the command: see its log', usage: false })
  }
}

/** Sends `command` to the server listening on `socketPath`; throws CommandRefused or ControlUnavailable. */
export async function sendAdminCommand (socketPath: string, command: AdminCommand): Promise<AdminOutput> {
  const body = JSON.stringify(command)
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const request = httpRequest({
      socketPath,
      path: '/commands',
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
    }, resolve)
    request.on('error', (error: NodeJS.ErrnoException) => {
      reject(['ENOENT', 'ECONNREFUSED', 'ECONNRESET'].includes(error.code ?? '')
        ? new ControlUnavailable(`no server answers on ${socketPath}: ${error.code ?? error.message}`)
        : error)
    })
    request.end(body)
  })
  let text = ''
  for await (const chunk of response as AsyncIterable<Buffer>) text += chunk.toString('utf8')
  const answer = JSON.parse(text) as AdminOutput & { error?: string, usage?: boolean }
  if (response.statusCode === 200) return { stdout: answer.stdout, stderr: answer.stderr }
  throw new CommandRefused(answer.error ?? `the server answered ${response.statusCode ?? '?'}`, answer.usage === true)
}
