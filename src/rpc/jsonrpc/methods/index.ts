/**
 * The one method table of the JSON-RPC face, served to both dialects (RhodeCode
 * and JSON-RPC 2.0) and described by the OpenRPC document.
 */
import type { RpcMethod } from '../method.ts'
import { dataMethods } from './data.ts'
import { groupMethods } from './groups.ts'
import { jobMethods } from './jobs.ts'
import { repositoryMethods } from './repositories.ts'
import { serverMethods } from './servers.ts'
import { userMethods } from './users.ts'

export const methodList: readonly RpcMethod[] = [...userMethods, ...groupMethods, ...repositoryMethods, ...dataMethods, ...jobMethods, ...serverMethods]

export const methods: ReadonlyMap<string, RpcMethod> = new Map(methodList.map((method) => [method.name, method]))
