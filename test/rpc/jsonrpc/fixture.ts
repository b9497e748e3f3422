/**
 * The JSON-RPC tests' helpers: the one seeded world (test/fixtures.ts) with an
 * API key per role, and a call in RhodeCode's envelope.
 */
import { seededApp, type Seed } from '../../fixtures.ts'
import type { TestContext } from '../../helper.ts'

export { roles, suspensionReason, type Role } from '../../fixtures.ts'

export type World = TestContext & Seed

interface Teardown { teardown: (fn: () => unknown) => void }

export async function world (t: Teardown, kind: 'pglite' | 'postgresql', env?: Record<string, string>): Promise<World> {
  return await seededApp(t, kind, { apiKeys: true, env })
}

export interface RhodeCodeResponse { id: unknown, result: any, error: string | null }

/** One call in RhodeCode's envelope, sent as RhodeCode's own example sends it (text/plain). */
export async function rhodecode (w: TestContext, key: string, method: string, args: Record<string, unknown> = {}, id: unknown = 1):
Promise<RhodeCodeResponse> {
  const response = await w.app.inject({
    method: 'POST',
    url: '/_admin/api',
    headers: { 'content-type': 'text/plain' },
    payload: JSON.stringify({ id, api_key: key, method, args })
  })
  if (response.statusCode !== 200) throw new Error(`HTTP ${response.statusCode}: ${response.body}`)
  return response.json()
}
