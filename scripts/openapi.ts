/** Writes openapi.yaml from the REST routes, then the client types from it: `npm run openapi`. */
import { writeFile } from 'node:fs/promises'
import { generateOpenapiYaml } from './openapi-document.ts'
import { clientTypesPath, generateClientTypes, openapiPath } from './openapi-client.ts'

await writeFile(openapiPath, await generateOpenapiYaml())
process.stdout.write(`wrote ${openapiPath.pathname}\n`)
await writeFile(clientTypesPath, await generateClientTypes())
process.stdout.write(`wrote ${clientTypesPath.pathname}\n`)
