/**
 * The OpenAPI document as the routes generate it, in YAML: what `npm run openapi`
 * writes to openapi.yaml and what the tests compare that file with.
 */
import YAML from 'yaml'
import { buildApp } from '../src/app.ts'
import { loadConfig } from '../src/config.ts'
import { openDatabase } from '../src/db/client.ts'

export async function generateOpenapiYaml (): Promise<string> {
  // The document depends on the routes only; an empty embedded database is enough to build them, and no job runs.
  const db = await openDatabase({ dataDir: 'memory://' })
  try {
    const app = await buildApp({ config: loadConfig({ LOG_LEVEL: 'silent', JOB_CONCURRENCY: '0' }), db })
    try {
      await app.ready()
      return YAML.stringify(app.swagger(), { lineWidth: 0, aliasDuplicateObjects: false })
    } finally {
      await app.close()
    }
  } finally {
    await db.close()
  }
}
