/**
 * The transport around the dispatcher: content types, body size, hostile
 * documents, authentication faults over HTTP 200, and internal errors.
 */
import t from 'tap'
import Fastify from 'fastify'
import swagger from '@fastify/swagger'
import type { Domain } from '../../../src/domain/index.ts'
import xmlrpcFace from '../../../src/rpc/xmlrpc/index.ts'
import { systemActor } from '../../../src/domain/index.ts'
import { build, databaseKinds } from '../../helper.ts'

const listServers = '<?xml version="1.0"?><methodCall><methodName>list</methodName><params><param><value><string>server</string></value></param></params></methodCall>'
const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

for (const kind of databaseKinds) {
  t.test(`${kind}: POST /xmlrpc transport`, async (t) => {
    const { app, domain } = await build(t, { kind, env: { BODY_LIMIT: '65536' } })
    await domain.users.create(systemActor, { username: 'admin', password: 'secret', is_admin: true })
    await domain.users.create(systemActor, { username: 'gone', password: 'secret', status: 'suspended', status_message: 'see the helpdesk' })
    await domain.servers.create(systemActor, { name: 'bio', url: 'http://bio.example.org' })
    const post = async (body: string, headers: Record<string, string> = {}) => await app.inject({
      method: 'POST', url: '/xmlrpc', payload: body, headers: { 'content-type': 'text/xml', authorization: basic('admin', 'secret'), ...headers }
    })

    await t.test('answers XML content types, with or without charset, with or without X-Requested-With', async (t) => {
      for (const type of ['text/xml', 'text/xml; charset=utf-8', 'application/xml', 'Application/XML; charset=UTF-8']) {
        const response = await post(listServers, { 'content-type': type })
        t.equal(response.statusCode, 200, type)
        t.match(response.headers['content-type'], /^text\/xml/)
        t.match(response.body, /<value><string>bio<\/string><\/value>/, type)
      }
      const withXrw = await post(listServers, { 'x-requested-with': 'XMLHttpRequest' })
      t.match(withXrw.body, /<string>bio<\/string>/)
    })

    await t.test('refuses other content types with 415', async (t) => {
      for (const type of ['text/plain', 'application/json', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
        const response = await post(listServers, { 'content-type': type })
        t.equal(response.statusCode, 415, type)
        t.match(response.headers['content-type'], /^text\/xml/, 'answered in the protocol')
        t.match(response.body, /faultCode<\/name>\s*<value><int>-32700<\/int>.*must be XML/s)
      }
    })

    await t.test('refuses bodies over the limit with 413', async (t) => {
      const huge = listServers.replace('server', 'x'.repeat(70_000))
      const response = await post(huge)
      t.equal(response.statusCode, 413)
      t.match(response.headers['content-type'], /^text\/xml/)
      t.match(response.body, /faultCode<\/name>\s*<value><int>-32700<\/int>.*larger than the limit/s)
    })

    await t.test('malformed and hostile documents are faults -32700', async (t) => {
      const hostile = [
        '',
        'this is not xml',
        '<methodCall><methodName>list</methodName><params>',
        '<?xml version="1.0"?><foo/>',
        '<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]><methodCall><methodName>&x;</methodName></methodCall>',
        '<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><methodCall><methodName>&b;</methodName></methodCall>',
        '<methodCall><methodName>list</methodName><params><param>' + '<value><array><data>'.repeat(500) + '</data></array></value>'.repeat(500) + '</param></params></methodCall>'
      ]
      for (const body of hostile) {
        const response = await post(body)
        t.equal(response.statusCode, 200)
        t.match(response.body, /<name>faultCode<\/name>\n<value><int>-32700<\/int><\/value>/, body.slice(0, 60))
        t.notMatch(response.body, /root:/, 'no file content leaks')
      }
    })

    await t.test('authentication failures are faults over HTTP 200', async (t) => {
      const wrong = await post(listServers, { authorization: basic('admin', 'wrong') })
      t.equal(wrong.statusCode, 200)
      t.match(wrong.body, /<int>401<\/int>[\s\S]*<string>Invalid login<\/string>/)
      const malformed = await post(listServers, { authorization: 'Basic !!!notbase64' })
      t.match(malformed.body, /<int>401<\/int>/)
      const anonymous = await post(listServers, { authorization: '' })
      t.match(anonymous.body, /<string>bio<\/string>/, 'no credentials: the anonymous actor')
      const suspended = await post(listServers, { authorization: basic('gone', 'secret') })
      t.match(suspended.body, /<int>403<\/int>[\s\S]*<string>account gone is suspended: see the helpdesk<\/string>/)
      const badXmlWrongPassword = await post('not xml', { authorization: basic('admin', 'wrong') })
      t.match(badXmlWrongPassword.body, /<int>401<\/int>/, 'credentials are checked before the body is read, as in Roundup')
    })

    await t.test('the login throttle answers fault 429 with Retry-After', async (t) => {
      const attempt = async () => await post(listServers, { authorization: basic('nobody', 'nope'), 'x-forwarded-for': '10.0.0.9' })
      for (let failed = 0; failed < 4; failed++) await attempt()
      const last = await attempt()
      t.equal(last.statusCode, 200)
      t.match(last.body, /<int>429<\/int>[\s\S]*Logins occurring too fast\. Please wait: \d+ seconds\./)
      t.match(last.headers['retry-after'], /^\d+$/)
    })

    await t.test('GET is not an XML-RPC call', async (t) => {
      const get = await app.inject({ method: 'GET', url: '/xmlrpc' })
      t.equal(get.statusCode, 404)
    })
  })
}

t.test('an unexpected error is fault -32603 without details', async (t) => {
  const { app } = await build(t)
  // A bug stands in for any unexpected failure: its message must not reach the client.
  app.domain.servers.list = async () => { throw new Error('secret detail of a bug') }
  const response = await app.inject({
    method: 'POST', url: '/xmlrpc', payload: listServers, headers: { 'content-type': 'text/xml' }
  })
  t.equal(response.statusCode, 200)
  t.match(response.body, /<int>-32603<\/int>[\s\S]*<string>internal error<\/string>/)
  t.notMatch(response.body, /secret detail|\bat \S+:\d+/, 'no message, no stack trace')
})

t.test('the route is hidden from the OpenAPI document', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(swagger, { openapi: { info: { title: 'probe', version: '0' } } })
  app.decorate('domain', {} as Domain)
  app.get('/visible', async () => 'ok')
  await app.register(xmlrpcFace)
  await app.ready()
  const paths = Object.keys(app.swagger().paths ?? {})
  t.ok(paths.includes('/visible'), 'other routes are documented')
  t.notOk(paths.includes('/xmlrpc'))
})
