/**
 * The login throttle across real server processes sharing one PostgreSQL
 * database: two `src/main.ts` processes, called over real TCP connections from
 * distinct loopback source addresses (127.0.0.1, 127.0.0.2, ...).
 */
import t from 'tap'
import { request } from 'node:http'
import { postgresDatabase } from '../helper.ts'
import { basic, listeningServer } from '../processes.ts'

const serverUrl = process.env.TEST_DATABASE_URL
const adminKey = 'm2_throttle-test-admin-key-0000000000'

/** GET /servers from `from`; the status and Retry-After. */
async function get (base: string, from: string, headers: Record<string, string>): Promise<{ status: number, retryAfter?: number }> {
  return await new Promise((resolve, reject) => {
    const req = request(`${base}/servers`, { headers, localAddress: from }, (response) => {
      response.resume()
      response.on('end', () => {
        const retryAfter = response.headers['retry-after']
        resolve({ status: response.statusCode ?? 0, ...(retryAfter === undefined ? {} : { retryAfter: Number(retryAfter) }) })
      })
    })
    req.on('error', reject)
    req.end()
  })
}

t.test('two server processes on one PostgreSQL database share the throttle', { skip: serverUrl === undefined ? 'TEST_DATABASE_URL is not set' : false }, async (t) => {
  const env = {
    DATABASE_URL: await postgresDatabase(t),
    MOBYLE_ADMIN_USERNAME: 'admin',
    MOBYLE_ADMIN_PASSWORD: 'admin password',
    MOBYLE_ADMIN_API_KEY: adminKey,
    LOGIN_USERNAME_SLOW_AFTER: '8',
    LOGIN_USERNAME_MAX_DELAY_SECONDS: '2',
    LOG_LEVEL: 'info'
  }
  const one = await listeningServer(t, { ...env, MIGRATE_ON_START: 'true' })
  const two = await listeningServer(t, env)
  const right = basic('admin', 'admin password')

  for (let i = 0; i < 4; i++) {
    t.equal((await get(i % 2 === 0 ? one.url : two.url, '127.0.0.2', basic('admin', `guess ${i}`))).status, 401)
  }
  const refused = await get(two.url, '127.0.0.2', right)
  t.equal(refused.status, 429, "the stranger's four guesses, split over both processes, refuse admin from the stranger's address")
  t.ok(refused.retryAfter! > 590 && refused.retryAfter! <= 600, `Retry-After ${refused.retryAfter}`)
  t.equal((await get(one.url, '127.0.0.2', right)).status, 429)
  t.equal((await get(one.url, '127.0.0.1', right)).status, 200, "admin's right password from admin's address: process one")
  t.equal((await get(two.url, '127.0.0.1', right)).status, 200, 'and process two')
  t.equal((await get(two.url, '127.0.0.2', { 'x-api-key': adminKey })).status, 200, "admin's key from the stranger's address")
  t.equal((await get(one.url, '127.0.0.2', basic('admin', adminKey))).status, 200, 'also as the Basic password')

  // Four more guesses from another address: eight for admin in all, the username-wide threshold.
  for (let i = 0; i < 4; i++) {
    t.equal((await get(i % 2 === 0 ? two.url : one.url, '127.0.0.3', basic('admin', `guess ${i}`))).status, 401)
  }
  const slowed = await get(one.url, '127.0.0.4', right)
  t.same(slowed, { status: 429, retryAfter: 1 }, 'the username is slowed, for a second, from a fresh address too')
  // The delay runs on the database's clock, shared by both processes, which only real time moves.
  await new Promise((resolve) => setTimeout(resolve, 1100))
  t.equal((await get(two.url, '127.0.0.4', right)).status, 200, 'then the right password gets in')
  t.equal((await get(one.url, '127.0.0.3', basic('nobody', 'x'))).status, 401, 'other usernames are not slowed')
  t.notMatch(one.output() + two.output(), /admin password|m2_throttle/, 'no credentials in the logs')
})
