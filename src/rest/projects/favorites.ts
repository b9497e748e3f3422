/** `/projects/{id}/favorites/{fullname}`: a project's favorite services (contributors and above). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { NotFound } from '../../domain/errors.ts'
import { changedResponse, IdParam, NoContent, problems } from '../common.ts'
import { FullName } from '../services.ts'
import { projectId, renderProject, tags } from './common.ts'

const favoriteRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const domain = app.domain
  const favoriteParams = Type.Object({ id: IdParam, fullname: FullName })
  app.put('/projects/:id/favorites/:fullname', {
    schema: {
      operationId: 'addFavorite',
      tags, summary: 'Mark a service as a favorite (contributors and above)', params: favoriteParams,
      response: { 200: changedResponse(Type.Ref('Project'), 'The project, changed'), ...problems(403, 404) }
    }
  }, async (request) => {
    const { project } = await domain.projects.addFavorite(await request.actor(), projectId(request.params.id), request.params.fullname)
    return renderProject(project)
  })

  app.delete('/projects/:id/favorites/:fullname', {
    schema: { operationId: 'removeFavorite', tags, summary: 'Unmark a favorite (contributors and above)', params: favoriteParams, response: { 204: NoContent, ...problems(403, 404) } }
  }, async (request, reply) => {
    const { removed } = await domain.projects.removeFavorite(await request.actor(), projectId(request.params.id), request.params.fullname)
    if (!removed) throw new NotFound('favorite', request.params.fullname)
    return await reply.code(204).send(null)
  })
}

export default favoriteRoutes
