/**
 * The REST face: the mobyle2 HTTP API (`/servers`, `/services`, `/users`,
 * `/groups`, `/projects`, and resumable uploads at `/uploads`), its OpenAPI
 * document and Swagger UI at `/docs`, CORS for browsers, and problem documents
 * for every error.
 */
import cors from '@fastify/cors'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { refusedBeforeBody } from '../http/actor.ts'
import { corsOrigins } from '../config.ts'
import type { FileUploadStore } from '../storage/upload-store.ts'
import { Problem } from './common.ts'
import apiKeyRoutes, { ApiKeyRepresentation } from './api-keys.ts'
import { etagHook } from './etag.ts'
import executorRoutes, { ExecutorRepresentation } from './executors.ts'
import { errorHandler } from './errors.ts'
import { openapiOptions } from './openapi.ts'
import groupRoutes, { GroupRepresentation } from './groups.ts'
import projectRoutes, { projectSchemas } from './projects/index.ts'
import serverRoutes, { ServerRepresentation } from './servers.ts'
import serviceRoutes, { InterfaceRepresentation, ServiceRepresentation } from './services.ts'
import uploadRoutes from './uploads.ts'
import userRoutes, { UserRepresentation } from './users.ts'
import { validatorCompiler } from './validation.ts'

const exposedHeaders = ['Location', 'ETag', 'Link', 'X-Total-Count', 'Retry-After', 'WWW-Authenticate']
/** What a browser's TUS client sends (/uploads): its preflight must allow them. */
const tusRequestHeaders = ['Tus-Resumable', 'Upload-Length', 'Upload-Defer-Length', 'Upload-Metadata', 'Upload-Offset']

/** The resources, in a scope of their own: the validator and error handler are the REST face's alone. */
async function resources (app: FastifyInstance, { uploads }: RestOptions): Promise<void> {
  app.setValidatorCompiler(validatorCompiler)
  app.setErrorHandler(errorHandler)
  // JSON only: a body sent as text/plain is refused (415), not parsed as a string.
  app.removeContentTypeParser('text/plain')
  // Many fetch wrappers label every request JSON, a DELETE without a body too: that is no empty JSON document.
  app.addHook('onRequest', async (request) => {
    const length = request.headers['content-length']
    const bodyless = length === '0' || (length === undefined && request.headers['transfer-encoding'] === undefined)
    if (request.method === 'DELETE' && bodyless) delete request.headers['content-type']
  })
  // Credentials are checked before a body is read: wrong ones are refused at once, and the
  // connection closed, rather than after the whole body has arrived (a slow one holds a connection).
  app.addHook('onRequest', async (request, reply) => {
    const refusal = await refusedBeforeBody(request)
    if (refusal === undefined) return
    void reply.header('connection', 'close')
    throw refusal
  })
  app.addHook('onSend', etagHook)
  // Shared schemas are added here, beside the validator compiler: a plugin that adds
  // its own schemas gets Fastify's default compiler back.
  const schemas = [Problem, ServerRepresentation, ServiceRepresentation, InterfaceRepresentation, UserRepresentation, ApiKeyRepresentation, GroupRepresentation, ExecutorRepresentation, ...projectSchemas]
  for (const schema of schemas) app.addSchema(schema)
  for (const routes of [serverRoutes, serviceRoutes, userRoutes, apiKeyRoutes, groupRoutes, projectRoutes, executorRoutes]) await app.register(routes)
  await app.register(uploadRoutes, { uploads })
}

interface RestOptions {
  /** Where resumable uploads (/uploads) are kept. */
  uploads: FileUploadStore
}

export default fp(async function restFace (app: FastifyInstance, options: RestOptions) {
  const origins = corsOrigins(app.config)
  if (origins.length > 0) {
    await app.register(cors, {
      origin: origins.includes('*') ? '*' : origins,
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['Authorization', 'Content-Type', 'X-API-Key', 'If-None-Match', ...tusRequestHeaders],
      exposedHeaders,
      maxAge: 600
    })
  }
  await app.register(swagger, openapiOptions())
  await app.register(swaggerUi, { routePrefix: '/docs' })
  await app.register(resources, options)
}, { name: 'rest', dependencies: ['actor'] })
