/** Writes openapi.yaml from the REST routes: `npm run openapi`. */
import { writeFile } from 'node:fs/promises'
import { generateOpenapiYaml } from '../src/rest/document.ts'

const target = new URL('../openapi.yaml', import.meta.url)
await writeFile(target, await generateOpenapiYaml())
process.stdout.write(`wrote ${target.pathname}\n`)
