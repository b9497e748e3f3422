/**
 * TypeScript types for a generated client of the REST API, from openapi.yaml,
 * with openapi-typescript: `npm run openapi` writes them to
 * test/rest/openapi-client.d.ts, which the client test uses and checks is current.
 */
import { readFile } from 'node:fs/promises'
import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript'

export const clientTypesPath = new URL('../test/rest/openapi-client.d.ts', import.meta.url)
export const openapiPath = new URL('../openapi.yaml', import.meta.url)

export async function generateClientTypes (): Promise<string> {
  const ast = await openapiTS(await readFile(openapiPath, 'utf8'), { silent: true })
  return `${COMMENT_HEADER}${astToString(ast)}`
}
