/** src/rest/index.ts: CORS for the configured origins only, and Swagger UI at /docs. */
import t from 'tap'
import { build } from '../helper.ts'
import { basic, seedUser } from './fixtures.ts'

t.test('CORS: only the configured origins, with preflight and exposed headers', async (t) => {
  const { app, domain } = await build(t, { env: { CORS_ORIGINS: 'http://app.example, http://other.example' } })
  await seedUser(domain, 'admin', { is_admin: true })
  const preflight = await app.inject({
    method: 'OPTIONS',
    url: '/servers',
    headers: { origin: 'http://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' }
  })
  t.equal(preflight.statusCode, 204)
  t.equal(preflight.headers['access-control-allow-origin'], 'http://app.example')
  t.match(String(preflight.headers['access-control-allow-methods']), /POST/)
  t.match(String(preflight.headers['access-control-allow-headers']), /Authorization/)

  const read = await app.inject({ url: '/servers', headers: { origin: 'http://other.example', ...basic('admin') } })
  t.equal(read.headers['access-control-allow-origin'], 'http://other.example')
  const exposed = String(read.headers['access-control-expose-headers'])
  for (const header of ['Location', 'ETag', 'Link', 'X-Total-Count', 'Retry-After', 'WWW-Authenticate']) t.match(exposed, header)
  t.match(String(read.headers.vary), /Origin/)
  t.match(String(read.headers.vary), /Authorization/)

  const stranger = await app.inject({ url: '/servers', headers: { origin: 'http://evil.example' } })
  t.notOk(stranger.headers['access-control-allow-origin'], 'other origins get no CORS headers')
})

t.test('CORS is off unless configured', async (t) => {
  const { app } = await build(t)
  const read = await app.inject({ url: '/servers', headers: { origin: 'http://app.example' } })
  t.equal(read.statusCode, 200)
  t.notOk(read.headers['access-control-allow-origin'])
})

t.test('Swagger UI at /docs, from the package, and the document beside it', async (t) => {
  const { app } = await build(t)
  const page = await app.inject({ url: '/docs/' })
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /text\/html/)
  t.notOk(/https?:\/\/(?!127\.0\.0\.1|localhost)[a-z]/i.test(page.body.replace(/<!--[\s\S]*?-->/g, '').replace(/xmlns[^ ]*/g, '')), 'no asset from another host')
  const doc = (await app.inject({ url: '/docs/json' })).json()
  t.equal(doc.openapi, '3.1.0')
  t.ok(doc.paths['/servers'].get)
  t.notOk(doc.paths['/healthz'], 'untagged routes stay out of the document')
})
