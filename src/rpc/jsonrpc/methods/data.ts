/**
 * Projects' data items, in the style of this server's own methods (get_server,
 * get_servers): their metadata only. Content does not travel over JSON-RPC: it is
 * REST's (GET /projects/{id}/data/{dataId}/content, docs/data.md).
 */
import Type from 'typebox'
import { orNull } from '../../../domain/errors.ts'
import { defineMethod } from '../method.ts'
import { DataObject, renderData } from '../objects.ts'
import { RepoId } from './repositories.ts'

export const dataMethods = [
  defineMethod({
    name: 'get_data',
    summary: 'A data item of a project, by id: its metadata (members); null when there is none. The content is REST\'s.',
    params: Type.Object({ repoid: RepoId, dataid: Type.Integer({ minimum: 1, description: 'The data item\'s id.' }) }),
    result: Type.Union([DataObject, Type.Null()]),
    run: async (domain, actor, { repoid, dataid }) => {
      const data = await orNull(domain.projects.getData(actor, dataid, repoid))
      return data === null ? null : renderData(data)
    }
  }),
  defineMethod({
    name: 'get_datas',
    summary: 'Every data item of a project: their metadata (members).',
    params: Type.Object({ repoid: RepoId }),
    result: Type.Array(DataObject),
    run: async (domain, actor, { repoid }) => (await domain.projects.listData(actor, { project: repoid })).map(renderData)
  })
]
