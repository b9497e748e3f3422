/**
 * `/projects/{id}/data`: a project's data items and their content (docs/data.md).
 * Members read items and download content; contributors and above upload (a
 * multipart form, streamed to the blob store while it is hashed, never held in
 * memory), make items of finished resumable uploads (src/rest/uploads.ts) and
 * delete. Content is served from its file by `@fastify/send` (ranges), under a
 * strong tag: its sha256.
 */
import type { Readable } from 'node:stream'
import multipart from '@fastify/multipart'
import { send } from '@fastify/send'
import { create as contentDisposition } from 'content-disposition'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import type { Actor } from '../../domain/actor.ts'
import type { DataContent, DataView } from '../../domain/projects.ts'
import { DataCreate, DataFromUpload, DataName, Description, EdamFormat } from '../../domain/schemas.ts'
import { sendFileBytes } from '../../http/file-body.ts'
import { sendProblem } from '../../http/problems.ts'
import { createdResponse, formatId, IdParam, IdString, NoContent, omitEmpty, parseId, problems, readResponse, Timestamp } from '../common.ts'
import { validatorCompiler } from '../validation.ts'
import { params, projectId, tags } from './common.ts'

export const DataRepresentation = Type.Object({
  id: IdString,
  name: Type.String({ description: 'Also the file name the content downloads as.' }),
  description: Type.String(),
  size: Type.Integer({ minimum: 0, description: 'The content\'s size in bytes.' }),
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'The content\'s SHA-256, in hex; its download\'s ETag.' }),
  media_type: Type.String({ description: 'The content\'s media type, as it was uploaded.' }),
  format: Type.Optional(Type.String({ description: 'The content\'s EDAM format, as its IRI (http://edamontology.org/format_NNNN).' })),
  uploader: Type.Optional(IdString),
  job: Type.Optional({ ...IdString, description: 'The job whose output it is (GET /projects/{id}/jobs/{jobId}); absent for an upload.' }),
  created: Timestamp
}, { $id: 'Data', title: 'Data' })

function renderData (data: DataView) {
  return omitEmpty({
    id: formatId(data.id),
    name: data.name,
    description: data.description,
    size: data.size,
    sha256: data.sha256,
    media_type: data.mediaType,
    format: data.format,
    uploader: data.uploader === null ? null : formatId(data.uploader),
    job: data.job === null ? null : formatId(data.job),
    created: data.createdAt.toISOString()
  })
}

/** The multipart form, for the OpenAPI document: the route reads it part by part as it streams in. */
const DataUpload = Type.Object({
  file: Type.String({
    format: 'binary',
    description: 'The content: exactly one part named file. Its file name is the default name, its Content-Type the media type.'
  }),
  name: Type.Optional(DataName),
  description: Type.Optional(Description),
  format: Type.Optional(EdamFormat)
}, { additionalProperties: false })

const textFields = new Set(['name', 'description', 'format'])

const itemParams = Type.Object({ id: IdParam, itemId: IdParam })

const BinaryContent = Type.String({ format: 'binary' })

/** A refusal of the form itself, as a 4xx problem: nothing of the upload is kept. */
class BadUpload extends Error {
  constructor (readonly statusCode: number, message: string) {
    super(message)
  }
}

const dataRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const domain = app.domain
  const config = app.config
  await app.register(multipart, {
    limits: {
      parts: config.DATA_MAX_PARTS,
      files: config.DATA_MAX_PARTS,
      fieldSize: config.DATA_MAX_FIELD_BYTES,
      // The blob store counts the bytes as they arrive, against DATA_MAX_BYTES and the project's quota.
      fileSize: Infinity
    }
  })

  app.get('/projects/:id/data', {
    schema: {
      operationId: 'listData',
      tags, summary: 'List a project\'s data (members)', params,
      response: { 200: readResponse(Type.Record(IdString, Type.Ref('Data'), { description: 'Data keyed by id.' }), 'Data keyed by id.'), ...problems(403, 404) }
    }
  }, async (request) => {
    const items = await domain.projects.listData(await request.actor(), { project: projectId(request.params.id) })
    return Object.fromEntries(items.map((item) => [formatId(item.id), renderData(item)]))
  })

  app.get('/projects/:id/data/:itemId', {
    schema: { operationId: 'readData', tags, summary: 'Read a data item (members)', params: itemParams, response: { 200: readResponse(Type.Ref('Data'), 'The data item'), ...problems(403, 404) } }
  }, async (request) => {
    return renderData(await domain.projects.getData(await request.actor(), parseId('data', request.params.itemId), projectId(request.params.id)))
  })

  app.post('/projects/:id/data', {
    schema: {
      operationId: 'createData',
      tags,
      summary: 'Upload a data item as a multipart form (its content in the part named file), make one of a finished resumable upload ' +
        '(JSON {"upload"}: its id or URL), or record one without content (JSON without upload) (contributors and above)',
      params,
      body: { content: { 'multipart/form-data': { schema: DataUpload }, 'application/json': { schema: Type.Union([DataCreate, DataFromUpload]) } } },
      response: { 201: createdResponse(Type.Ref('Data'), 'Created'), ...problems(403, 404, 409, 413, 415) }
    },
    // The JSON body is one of two forms, told apart by `upload`, and the domain checks the one given: checked
    // against both here, a refusal would list both forms' complaints. (A form streams: its route checks it.)
    validatorCompiler: (route) => route.httpPart === 'body' ? () => true : validatorCompiler(route)
  }, async (request, reply) => {
    const id = projectId(request.params.id)
    const actor = await request.actor()
    const { body } = request
    const item = request.isMultipart()
      ? await upload(request, reply, actor, id)
      : typeof body === 'object' && body !== null && 'upload' in body
        ? await domain.projects.addDataFromUpload(actor, id, body)
        : await domain.projects.addData(actor, id, body)
    return await reply.code(201).header('location', `/projects/${formatId(id)}/data/${formatId(item.id)}`).send(renderData(item))
  })

  /**
   * Reads the form part by part: the file is staged as it arrives (the project
   * and the caller's role are checked before anything is read), the fields may
   * come before or after it. Staged content that makes no item is discarded.
   */
  async function upload (request: FastifyRequest, reply: FastifyReply, actor: Actor, id: number): Promise<DataView> {
    const fields: Record<string, string> = {}
    let content: (DataContent & { filename: string }) | undefined
    try {
      await domain.projects.dataAllowance(actor, id)
      const parts = request.parts()
      for (;;) {
        const next = await parts.next().catch((error: unknown) => { throw formRefused(error) })
        if (next.done === true) break
        const part = next.value
        if (part.type === 'file') {
          if (part.fieldname !== 'file') throw new BadUpload(400, `unexpected file part "${part.fieldname}": the content goes in the one part named file`)
          if (content !== undefined) throw new BadUpload(400, 'the form holds two parts named file: send exactly one')
          content = { blob: await stage(actor, id, part.file), mediaType: part.mimetype, filename: part.filename }
          continue
        }
        const name = part.fieldname
        if (name === 'file') throw new BadUpload(400, 'the part named file must be a file part (one with a filename)')
        if (!textFields.has(name)) throw new BadUpload(400, `unknown field "${name}": the form takes file, name, description and format`)
        if (fields[name] !== undefined) throw new BadUpload(400, `the field ${name} is given twice`)
        if (part.valueTruncated) throw new BadUpload(413, `the field ${name} is longer than DATA_MAX_FIELD_BYTES (${config.DATA_MAX_FIELD_BYTES} bytes)`)
        if (typeof part.value !== 'string') throw new BadUpload(400, `the field ${name} must be text`)
        fields[name] = part.value
      }
      if (content === undefined) throw new BadUpload(400, 'the form has no part named file: send the content as a file part named file')
      return await domain.projects.addData(actor, id, { ...fields, name: fields.name ?? content.filename }, content)
    } catch (error) {
      // The rest of the body is left unread (a refused caller's upload, say): the connection cannot carry another request.
      void reply.header('connection', 'close')
      throw error
    } finally {
      if (content !== undefined) await domain.projects.discardData(content.blob)
    }
  }

  /**
   * Stages the file part. A form that breaks off (it ends early, the connection
   * drops) is the client's doing: the parser destroys the part's stream with its
   * own error (no system call's), which may happen before the part even gets here.
   */
  async function stage (actor: Actor, id: number, file: Readable): Promise<DataContent['blob']> {
    try {
      return await domain.projects.stageData(actor, id, file)
    } catch (error) {
      const broken = file.errored === error && !(error instanceof Error && 'syscall' in error)
      throw broken ? formRefused(error) : error
    }
  }

  /** The multipart parser's refusals, as the client's errors: limits passed (413), a malformed or truncated form (400). */
  function formRefused (error: unknown): BadUpload {
    const { code, message } = error as { code?: string, message?: string }
    if (code === 'FST_PARTS_LIMIT' || code === 'FST_FILES_LIMIT') return new BadUpload(413, `the form has more than DATA_MAX_PARTS (${config.DATA_MAX_PARTS}) parts`)
    return new BadUpload(400, `the multipart form is malformed or ends early: ${message ?? String(error)}`)
  }

  app.delete('/projects/:id/data/:itemId', {
    schema: { operationId: 'deleteData', tags, summary: 'Remove a data item; its content goes once no item holds it (contributors and above)', params: itemParams, response: { 204: NoContent, ...problems(403, 404) } }
  }, async (request, reply) => {
    await domain.projects.removeData(await request.actor(), projectId(request.params.id), parseId('data', request.params.itemId))
    return await reply.code(204).send(null)
  })

  const contentHeaders = {
    ETag: Type.String({ description: 'The content\'s sha256 in quotes: a strong tag (If-None-Match, If-Match, If-Range).' }),
    'Accept-Ranges': Type.String({ description: 'bytes' }),
    'Content-Disposition': Type.String({ description: 'attachment, with the item\'s name as the file name (RFC 6266).' })
  }
  app.get('/projects/:id/data/:itemId/content', {
    schema: {
      operationId: 'readDataContent',
      tags,
      summary: 'Download a data item\'s content, whole or a byte range (members)',
      params: itemParams,
      response: {
        200: { description: 'The content, with the item\'s media type', headers: contentHeaders, content: { '*/*': { schema: BinaryContent } } },
        206: { description: 'One byte range of the content (Range: bytes=first-last)', headers: contentHeaders, content: { '*/*': { schema: BinaryContent } } },
        304: { description: 'Not modified: If-None-Match named this content\'s tag', headers: { ETag: contentHeaders.ETag } },
        ...problems(403, 404, 412, 416)
      }
    }
  }, async (request, reply) => {
    const { item, location } = await domain.projects.dataContent(await request.actor(), parseId('data', request.params.itemId), projectId(request.params.id))
    const tag = `"${item.sha256}"`
    const { headers } = request
    if (headers['if-match'] !== undefined && !tagListHas(headers['if-match'], tag, true)) {
      return await sendProblem(request, reply, 412, `If-Match does not name this content's tag ${tag}`)
    }
    if (headers['if-none-match'] !== undefined && tagListHas(headers['if-none-match'], tag, false)) {
      return await privately(reply).header('etag', tag).code(304).send()
    }
    // A range is for the content If-Range names, if it names one; a date cannot be compared strongly.
    const range = headers['if-range'] === undefined || headers['if-range'] === tag ? headers.range : undefined
    // @fastify/send reads only the method and these headers: the conditions above are answered already, by the sha256.
    const asked = { method: request.method, headers: range === undefined ? {} : { range } } as unknown as Readable
    const sent = await send(asked, location.path, {
      root: location.root, etag: false, lastModified: false, cacheControl: false, contentType: false, index: false, dotfiles: 'allow',
      // Without it @fastify/send hands the file stream a null high-water mark, which reads in 16 KiB chunks
      // rather than the 64 KiB of fs.createReadStream: twice the CPU per byte sent (npm run bench -- --transfer-only).
      highWaterMark: 64 * 1024
    })
    if (sent.type === 'error') {
      sent.stream.destroy()
      // Nothing else can fail for an item's own blob, which stays while the item does: a server fault, logged.
      if (sent.statusCode !== 416) throw new Error(`cannot send the content of data item ${item.id} (blob ${item.sha256})`, { cause: sent.metadata.error })
      privately(reply).header('content-range', `bytes */${item.size}`)
      return await sendProblem(request, reply, 416, `the range ${String(range)} lies outside the content's ${item.size} bytes`)
    }
    void reply.code(sent.statusCode as 200 | 206).headers(sent.headers).type(item.mediaType)
      .header('etag', tag).header('content-disposition', contentDisposition(item.name))
      // Whatever the media type, a browser neither guesses another nor runs it.
      .header('x-content-type-options', 'nosniff').header('content-security-policy', "default-src 'none'; sandbox")
    if (sent.statusCode !== 200) privately(reply)
    if (request.method === 'HEAD') return await reply.send(sent.stream)
    // The range @fastify/send chose (in its Content-Range), sent through buffers of our own (src/http/file-body.ts).
    sent.stream.destroy()
    const start = sent.statusCode === 206 ? Number(/^bytes (\d+)-/.exec(String(sent.headers['Content-Range']))![1]) : 0
    await sendFileBytes(reply, sent.metadata.path, start, Number(sent.headers['Content-Length']))
    return reply
  })
}

/**
 * What each caller may see differs: no shared cache may keep it. (A 200 gets the
 * same from the REST face's tag hook, src/rest/etag.ts.)
 */
function privately (reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'private, no-cache').header('vary', 'Authorization, X-API-Key')
}

/** Whether an If-Match or If-None-Match list names `tag`: `*`, or the tag compared strongly or weakly (RFC 9110 §8.8.3.2). */
function tagListHas (list: string, tag: string, strong: boolean): boolean {
  return list.split(',').some((candidate) => {
    const value = candidate.trim()
    return value === '*' || value === tag || (!strong && value === `W/${tag}`)
  })
}

export default dataRoutes
