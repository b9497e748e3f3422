/** `/projects/{id}/groups/{group}`: roles granted to groups in a project (its owner and managers). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { NotFound } from '../../domain/errors.ts'
import { Name } from '../../domain/schemas.ts'
import { changedResponse, IdParam, NoContent, problems } from '../common.ts'
import { projectId, renderProject, RoleBody, tags } from './common.ts'

const groupGrantRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const domain = app.domain
  const groupParams = Type.Object({ id: IdParam, group: Name })
  app.put('/projects/:id/groups/:group', {
    schema: {
      operationId: 'setProjectGroup',
      tags, summary: 'Grant a group a role in the project (owner and managers)', params: groupParams, body: RoleBody,
      response: { 200: changedResponse(Type.Ref('Project'), 'The project, changed'), ...problems(403, 404, 413, 415) }
    }
  }, async (request) => {
    const { project } = await domain.projects.setGroupGrant(await request.actor(), projectId(request.params.id),
      request.params.group, request.body.role)
    return renderProject(project)
  })

  app.delete('/projects/:id/groups/:group', {
    schema: { operationId: 'removeProjectGroup', tags, summary: "Revoke a group's role (owner and managers)", params: groupParams, response: { 204: NoContent, ...problems(403, 404) } }
  }, async (request, reply) => {
    const { group, previous } = await domain.projects.setGroupGrant(await request.actor(), projectId(request.params.id),
      request.params.group, null)
    if (previous === null) throw new NotFound('group grant', group.name)
    return await reply.code(204).send(null)
  })
}

export default groupGrantRoutes
