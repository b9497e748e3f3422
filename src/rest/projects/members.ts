/** `/projects/{id}/members/{userId}`: users' roles in a project (its owner and managers). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { NotFound } from '../../domain/errors.ts'
import { changedResponse, IdParam, NoContent, parseId, problems } from '../common.ts'
import { projectId, renderProject, RoleBody, tags } from './common.ts'

const memberRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const domain = app.domain
  const memberParams = Type.Object({ id: IdParam, userId: IdParam })
  app.put('/projects/:id/members/:userId', {
    schema: {
      operationId: 'setProjectMember',
      tags, summary: 'Give a user a role in the project (owner and managers)', params: memberParams, body: RoleBody,
      response: { 200: changedResponse(Type.Ref('Project'), 'The project, changed'), ...problems(403, 404, 409, 413, 415) }
    }
  }, async (request) => {
    const { project } = await domain.projects.setMember(await request.actor(), projectId(request.params.id),
      parseId('user', request.params.userId), request.body.role)
    return renderProject(project)
  })

  app.delete('/projects/:id/members/:userId', {
    schema: { operationId: 'removeProjectMember', tags, summary: "Remove a user's role (owner and managers)", params: memberParams, response: { 204: NoContent, ...problems(403, 404, 409) } }
  }, async (request, reply) => {
    const { member, previous } = await domain.projects.setMember(await request.actor(), projectId(request.params.id),
      parseId('user', request.params.userId), null)
    if (previous === null) throw new NotFound('member', member.username)
    return await reply.code(204).send(null)
  })
}

export default memberRoutes
