/**
 * `/uploads`: resumable uploads, TUS 1.0 (docs/data.md#resumable-uploads), served
 * by `@tus/server` over the upload store (src/storage/upload-store.ts): creation
 * (with a length, or deferred), `HEAD` for the offset, `PATCH` for the bytes,
 * termination, expiration. `POST /projects/{id}/data {"upload"}` makes a finished
 * one a data item (src/rest/projects/data.ts).
 *
 * The caller is authenticated as for the rest of the REST face, before the
 * protocol handler gets the request, and its refusals are problem documents; the
 * protocol's own answers are tus-node-server's. An upload is its uploader's: to
 * anyone else, every request on it is answered as one on an upload that does not
 * exist (404), by the protocol handler itself, so the two cannot differ.
 */
import type { IncomingMessage } from 'node:http'
import { ERRORS, Server, TUS_RESUMABLE, type ServerOptions } from '@tus/server'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { corsOrigins } from '../config.ts'
import type { Actor } from '../domain/actor.ts'
import { Invalid, NotFound } from '../domain/errors.ts'
import { sendProblem } from '../http/problems.ts'
import { newUploadId, type FileUploadStore } from '../storage/upload-store.ts'

type TusRequest = Parameters<NonNullable<ServerOptions['onIncomingRequest']>>[0]

interface TusAnswer { status_code: number, body: string }

/** A refusal in the protocol's terms: tus-node-server writes it as it writes its own (it reads `status_code` and `body`). */
class TusRefusal extends Error implements TusAnswer {
  readonly status_code: number
  readonly body: string
  constructor ({ status_code: status, body }: TusAnswer) {
    super(body.trim())
    this.status_code = status
    this.body = body
  }
}

const tusAnswer = (status: number, message: string): TusAnswer => ({ status_code: status, body: `${message}\n` })

export default async function uploadRoutes (app: FastifyInstance, { uploads }: { uploads: FileUploadStore }): Promise<void> {
  const { domain, config } = app
  /** Each request's caller, resolved before the protocol handler takes the request over. */
  const callers = new WeakMap<IncomingMessage, Actor>()
  const callerOf = (req: TusRequest): Actor => {
    const raw = (req as { runtime?: { node?: { req?: IncomingMessage } } }).runtime?.node?.req
    const actor = raw === undefined ? undefined : callers.get(raw)
    if (actor === undefined) throw new Error('a TUS request reached the protocol handler without its caller')
    return actor
  }
  const origins = corsOrigins(config)

  const tus = new Server({
    path: '/uploads',
    datastore: uploads.datastore,
    // Deferred lengths too: the bytes sent may not pass it, nor the length declared later.
    maxSize: config.DATA_MAX_BYTES,
    // As every Location of the REST face: whatever name the server was reached by.
    relativeLocation: true,
    namingFunction: newUploadId,
    // The path only: a query string (?api_key=) is no part of the id.
    getFileIdFromRequest: (req) => /^\/uploads\/([^/]+)\/?$/.exec(new URL(req.url).pathname)?.[1],
    // As CORS_ORIGINS says (tus-node-server would allow any origin): @fastify/cors's headers never reach what the handler writes.
    allowedOrigins: (origin) => origins.includes('*') || origins.includes(origin),
    exposedHeaders: ['Upload-Expires'],
    onUploadCreate: async (req, upload) => {
      // To tus-node-server a maxSize of 0 is no limit; DATA_MAX_BYTES=0 allows no content.
      if (config.DATA_MAX_BYTES === 0 && upload.size !== 0) throw new TusRefusal(ERRORS.ERR_MAX_SIZE_EXCEEDED)
      try {
        return { metadata: await domain.uploads.metadataFor(callerOf(req), upload.metadata) }
      } catch (error) {
        if (error instanceof Invalid) throw new TusRefusal(tusAnswer(400, error.message))
        throw error
      }
    },
    onIncomingRequest: async (req, id) => {
      // A creation's id is new: nobody's yet.
      if (req.method === 'POST') return
      try {
        await domain.uploads.get(callerOf(req), id)
      } catch (error) {
        if (error instanceof NotFound) throw new TusRefusal(ERRORS.FILE_NOT_FOUND)
        throw error
      }
    },
    // Refusals (tus-node-server's are plain objects) are written as they are; any other error is a fault, whose message is for the log only.
    onResponseError: (_req, error) => {
      if (!(error instanceof Error) || error instanceof TusRefusal) return undefined
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOSPC' || code === 'EDQUOT') return tusAnswer(507, 'the upload store has no room left: try again once an administrator has freed space')
      app.log.error({ err: error }, 'a TUS request failed')
      return tusAnswer(500, 'Internal Server Error')
    }
  })

  // The bytes go to the store as they arrive: no parser reads a body here, whatever its type
  // (a PATCH's must be application/offset+octet-stream, which the protocol handler checks).
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, _payload, done) => { done(null) })

  async function handle (request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (request.method !== 'OPTIONS') {
      try {
        if (request.headers['tus-resumable'] !== TUS_RESUMABLE) {
          await sendProblem(request, reply.header('connection', 'close'), 412,
            `this server speaks TUS ${TUS_RESUMABLE} only: send Tus-Resumable: ${TUS_RESUMABLE}`, {},
            { 'tus-version': TUS_RESUMABLE, 'tus-resumable': TUS_RESUMABLE })
          return
        }
        const actor = await request.actor()
        await domain.uploads.uploader(actor)
        callers.set(request.raw, actor)
      } catch (error) {
        // The body is left unread: the connection cannot carry another request.
        void reply.header('connection', 'close')
        throw error
      }
    }
    reply.hijack()
    await tus.handle(request.raw, reply.raw).catch((error: unknown) => {
      request.log.error({ err: error }, 'could not answer a TUS request')
      reply.raw.destroy()
    })
  }

  app.route({ method: ['POST', 'OPTIONS'], url: '/uploads', handler: handle })
  app.route({ method: ['HEAD', 'PATCH', 'DELETE', 'OPTIONS'], url: '/uploads/:id', handler: handle })
}
