/**
 * A real browser (headless Chromium, driven by playwright-core; test/browser.ts
 * says which one) loads a page from one origin that calls the API on another:
 * CORS preflight, credentials in the Authorization header, exposed headers and
 * problem documents all work as a web client sees them; and Swagger UI at /docs
 * lists the operations.
 */
import t from 'tap'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { launchChromium } from '../browser.ts'
import { build } from '../helper.ts'
import { password, seedUser } from './fixtures.ts'

/** What the page does in the browser, against the API at `api`; it leaves its findings in window.results. */
function pageScript (api: string, authorization: string): string {
  return `
  window.results = (async () => {
    const auth = { Authorization: ${JSON.stringify(authorization)} }
    const out = {}
    const list = await fetch('${api}/servers/', { headers: auth })
    out.list = { status: list.status, total: list.headers.get('X-Total-Count'), etag: list.headers.get('ETag'), body: await list.json() }
    const created = await fetch('${api}/servers', {
      method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'from-browser', url: 'http://browser.example' })
    })
    out.created = { status: created.status, location: created.headers.get('Location'), body: await created.json() }
    const duplicate = await fetch('${api}/servers', {
      method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'from-browser', url: 'http://browser.example' })
    })
    out.duplicate = { status: duplicate.status, type: duplicate.headers.get('Content-Type'), body: await duplicate.json() }
    const anonymous = await fetch('${api}/users/')
    out.anonymous = { status: anonymous.status, challenge: anonymous.headers.get('WWW-Authenticate'), body: await anonymous.json() }
    return out
  })()`
}

function listen (server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)))
}

t.test('a browser on another origin uses the API, and Swagger UI lists the operations', async (t) => {
  let apiOrigin = ''
  const authorization = `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`
  const pages = createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    response.end(`<!doctype html><title>client</title><script>${pageScript(apiOrigin, authorization)}</script>`)
  })
  const pagePort = await listen(pages)
  t.teardown(() => new Promise((resolve) => pages.close(resolve)))
  const pageOrigin = `http://127.0.0.1:${pagePort}`

  const { app, domain } = await build(t, { env: { CORS_ORIGINS: pageOrigin } })
  await seedUser(domain, 'admin', { is_admin: true })
  await app.listen({ host: '127.0.0.1', port: 0 })
  apiOrigin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`

  const page = await (await launchChromium(t)).newPage()

  await page.goto(`${pageOrigin}/`)
  const results = await page.evaluate(() => (globalThis as unknown as { results: Promise<Record<string, any>> }).results)
  t.equal(results.list.status, 200)
  t.equal(results.list.total, '0', 'X-Total-Count is exposed to the page')
  t.match(results.list.etag, /^"/, 'ETag is exposed to the page')
  t.equal(results.created.status, 201, 'the preflighted POST went through')
  t.equal(results.created.location, '/servers/from-browser', 'Location is exposed to the page')
  t.same(results.created.body, { url: 'http://browser.example', services: [], active: true, description: '' })
  t.equal(results.duplicate.status, 409)
  t.equal(results.duplicate.type, 'application/problem+json; charset=utf-8')
  t.equal(results.duplicate.body.title, 'Conflict')
  t.equal(results.anonymous.status, 401)
  t.equal(results.anonymous.challenge, 'Basic realm="mobyle2"', 'WWW-Authenticate is exposed to the page')
  t.equal(results.anonymous.body.status, 401)

  await page.goto(`${apiOrigin}/docs/`)
  await page.waitForSelector('.opblock-summary-path', { timeout: 30_000 })
  const operations = await page.$$eval('.opblock-summary-path', (nodes) => nodes.map((node) => node.textContent?.replace(/\u200b/g, '') ?? ''))
  for (const path of ['/servers', '/services/{fullname}', '/users/{id}/api-keys', '/projects/{id}/members/{userId}']) {
    t.ok(operations.includes(path), `Swagger UI lists ${path}`)
  }
})
