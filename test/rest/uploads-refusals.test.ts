/**
 * Resumable uploads refused: callers who may not upload (anonymous, wrong
 * credentials, refused accounts), someone else's upload (answered exactly as one
 * that does not exist, on every route), an upload used twice or not finished,
 * lengths past DATA_MAX_BYTES, another protocol version, metadata and fields the
 * item cannot take, a project past its quota. A refusal of the item keeps the
 * upload for another try.
 */
import { randomBytes } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { systemActor } from '../../src/domain/index.ts'
import { formatId } from '../../src/rest/common.ts'
import { databaseKinds } from '../helper.ts'
import { basic, password, seededApp, suspensionReason, type Role } from '../fixtures.ts'
import { createUpload, patch, tusHeaders } from './tus.ts'

interface Problem { type: string, status: number, detail: string, errors?: Array<{ field: string }>, [member: string]: unknown }

/** What a caller can observe of an answer: its status, its body, and the headers that are not about time or the connection. */
async function observed (answer: Response): Promise<{ status: number, body: string, headers: Record<string, string> }> {
  const headers = Object.fromEntries([...answer.headers].filter(([name]) => !['date', 'connection', 'keep-alive'].includes(name)))
  return { status: answer.status, body: await answer.text(), headers }
}

for (const kind of databaseKinds) {
  t.test(`${kind}: only its uploader may use or see an upload`, async (t) => {
    const { app, domain, ...s } = await seededApp(t, kind)
    const base = await app.listen({ host: '127.0.0.1', port: 0 })
    const collection = `${base}/projects/${formatId(s.projectId)}/data`
    const bytes = randomBytes(1000)
    const created = await createUpload(base, 'contributor', bytes.length, { filename: 'mine.bin' })
    const location = created.headers.get('location')!
    const mine = `${base}${location}`
    t.equal((await patch(mine, 'contributor', 0, bytes.subarray(0, 600))).status, 204)
    const nobody = `${base}/uploads/${'0123456789abcdef'.repeat(2)}`

    for (const who of ['owner', 'manager', 'admin', 'outsider'] as const) {
      for (const [method, extra] of [['HEAD', {}], ['DELETE', {}], ['PATCH', { 'upload-offset': '600', 'content-type': 'application/offset+octet-stream' }]] as const) {
        const request = (url: string) => fetch(url, { method, headers: { ...tusHeaders(who), ...extra }, body: method === 'PATCH' ? bytes.subarray(600) : undefined })
        const theirs = await observed(await request(mine))
        t.equal(theirs.status, 404, `${who}: ${method} someone else's upload: 404`)
        t.same(theirs, await observed(await request(nobody)), `${who}: ${method} answers exactly as for an upload that does not exist`)
      }
      const use = async (upload: string) => await fetch(collection, {
        method: 'POST', headers: { ...basic(who), 'content-type': 'application/json' }, body: JSON.stringify({ upload })
      })
      if (who === 'outsider') {
        t.match(await (await use(location)).json(), { status: 404, detail: /^no such project/ }, 'the project is checked first')
        continue
      }
      const used = await use(location)
      t.equal(used.status, 404, `${who}: making an item of someone else's upload: 404`)
      const problem = await used.json() as Problem
      const absent = await (await use(nobody)).json() as Problem
      t.same({ ...problem, detail: problem.detail.replace(/[0-9a-f]{32}/, 'ID') }, { ...absent, detail: absent.detail.replace(/[0-9a-f]{32}/, 'ID') },
        `${who}: as for an upload that does not exist`)
      t.match(problem.detail, /^no such upload [0-9a-f]{32}$/)
    }
    const head = await fetch(mine, { method: 'HEAD', headers: tusHeaders('contributor') })
    t.equal(head.status, 200, 'the uploader still has it, untouched')
    t.equal(head.headers.get('upload-offset'), '600')

    const early = await fetch(collection, { method: 'POST', headers: { ...basic('contributor'), 'content-type': 'application/json' }, body: JSON.stringify({ upload: location }) })
    t.equal(early.status, 409, 'not finished: 409')
    t.match(await early.json(), { detail: /not finished: 600 of 1000 bytes/ })
    t.equal((await patch(mine, 'contributor', 600, bytes.subarray(600))).status, 204, 'and it can still be finished')
    const use = async () => await fetch(collection, { method: 'POST', headers: { ...basic('contributor'), 'content-type': 'application/json' }, body: JSON.stringify({ upload: location }) })
    t.equal((await use()).status, 201)
    const twice = await use()
    t.equal(twice.status, 404, 'used twice: the second time it is no more')
    t.match(await twice.json(), { detail: /^no such upload/ })
    t.equal((await domain.projects.listData(systemActor, { project: s.projectId })).filter((item) => item.name === 'mine.bin').length, 1, 'one item')
  })

  t.test(`${kind}: who may upload at all`, async (t) => {
    const { app, ...s } = await seededApp(t, kind)
    const base = await app.listen({ host: '127.0.0.1', port: 0 })
    const created = await createUpload(base, 'contributor', 10, { filename: 'x' })
    const upload = `${base}${created.headers.get('location')!}`
    const requests: Array<[string, (headers: Record<string, string>) => Promise<Response>]> = [
      ['POST', async (headers) => await fetch(`${base}/uploads`, { method: 'POST', headers: { ...headers, 'upload-length': '10' } })],
      ['HEAD', async (headers) => await fetch(upload, { method: 'HEAD', headers })],
      ['PATCH', async (headers) => await fetch(upload, { method: 'PATCH', headers: { ...headers, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }, body: randomBytes(10) })],
      ['DELETE', async (headers) => await fetch(upload, { method: 'DELETE', headers })]
    ]
    const callers: Array<[string, Record<string, string>, number, RegExp]> = [
      ['anonymous', tusHeaders('anonymous'), 401, /authentication required/],
      // Not the contributor's: four failures would throttle its logins from here.
      ['a wrong password', { ...tusHeaders('anonymous'), ...basic('manager', `not ${password}`) }, 401, /Invalid login/],
      ['a suspended account', tusHeaders('suspended'), 403, new RegExp(suspensionReason)],
      ['a pending account', tusHeaders('pending'), 403, /pending/]
    ]
    for (const [who, headers, status, detail] of callers) {
      for (const [method, request] of requests) {
        const answer = await request(headers)
        t.equal(answer.status, status, `${who}: ${method} → ${status}`)
        t.equal(answer.headers.get('content-type'), 'application/problem+json; charset=utf-8', `${who}: ${method}: a problem document`)
        if (method !== 'HEAD') t.match(await answer.json(), { status, detail }, `${who}: ${method}: says why`)
        if (status === 401) t.equal(answer.headers.get('www-authenticate'), 'Basic realm="mobyle2"')
      }
    }
    const key = await fetch(`${base}/users/${formatId(s.ids.watcher)}/api-keys`, { method: 'POST', headers: { ...basic('watcher'), 'content-type': 'application/json' }, body: '{}' })
    const { key: secret } = await key.json() as { key: string }
    const byKey = await fetch(`${base}/uploads`, { method: 'POST', headers: { 'tus-resumable': '1.0.0', 'x-api-key': secret, 'upload-length': '1' } })
    t.equal(byKey.status, 201, 'any active user uploads (here a watcher, with an API key); the project is chosen later')
    t.equal((await fetch(upload, { method: 'HEAD', headers: tusHeaders('contributor') })).headers.get('upload-offset'), '0', 'nothing refused touched the upload')
  })

  t.test(`${kind}: lengths, versions, metadata and fields refused`, async (t) => {
    const { app, ...s } = await seededApp(t, kind, { env: { DATA_MAX_BYTES: '100000', DATA_PROJECT_QUOTA_BYTES: '150000' } })
    const base = await app.listen({ host: '127.0.0.1', port: 0 })
    const collection = `${base}/projects/${formatId(s.projectId)}/data`
    const uploads = join(app.config.STORAGE_DIR!, 'uploads')
    const files = async () => (await readdir(uploads)).length

    const tooLong = await createUpload(base, 'owner', 100_001, { filename: 'big' })
    t.equal(tooLong.status, 413, 'an Upload-Length past DATA_MAX_BYTES: 413 at creation')
    t.equal(await files(), 0, 'nothing created')
    t.equal((await createUpload(base, 'owner', 100_000)).status, 201, 'as long as DATA_MAX_BYTES fits')

    const deferred = await fetch(`${base}/uploads`, { method: 'POST', headers: { ...tusHeaders('owner'), 'upload-defer-length': '1' } })
    t.equal(deferred.status, 201, 'a deferred length is allowed …')
    const streamed = `${base}${deferred.headers.get('location')!}`
    t.equal((await patch(streamed, 'owner', 0, randomBytes(60_000))).status, 204)
    t.equal((await patch(streamed, 'owner', 60_000, randomBytes(40_001))).status, 413, '… but its bytes may not pass DATA_MAX_BYTES')
    t.equal((await patch(streamed, 'owner', 60_000, randomBytes(10), { 'upload-length': '100001' })).status, 413, '… nor the length it declares')
    const sized = await createUpload(base, 'owner', 10)
    t.equal((await patch(`${base}${sized.headers.get('location')!}`, 'owner', 0, randomBytes(11))).status, 413, 'more bytes than the length declared: 413')

    for (const version of [undefined, '0.2.2', '2.0.0']) {
      const headers: Record<string, string> = { ...basic('owner'), 'upload-length': '1', ...(version === undefined ? {} : { 'tus-resumable': version }) }
      const answer = await fetch(`${base}/uploads`, { method: 'POST', headers })
      t.equal(answer.status, 412, `Tus-Resumable ${version ?? 'missing'}: 412`)
      t.equal(answer.headers.get('tus-version'), '1.0.0', 'with the version the server speaks')
    }
    const before = await files()
    const badType = await createUpload(base, 'owner', 10, { filename: 'x', filetype: 'not a type' })
    t.equal(badType.status, 400, 'a filetype that is no media type: refused at creation, before any byte is sent')
    t.match(await badType.text(), /filetype: "not a type" is not a media type/)
    t.equal((await fetch(`${base}/uploads`, { method: 'POST', headers: { ...tusHeaders('owner'), 'upload-length': '1', 'upload-metadata': 'a b c' } })).status, 400, 'malformed metadata')
    t.equal(await files(), before, 'nothing created')

    const make = async (body: Record<string, unknown>) => await fetch(collection, { method: 'POST', headers: { ...basic('owner'), 'content-type': 'application/json' }, body: JSON.stringify(body) })
    const nameless = await createUpload(base, 'owner', 5)
    const namelessUrl = `${base}${nameless.headers.get('location')!}`
    t.equal((await patch(namelessUrl, 'owner', 0, Buffer.from('12345'))).status, 204)
    const unnamed = await make({ upload: namelessUrl })
    t.equal(unnamed.status, 400, 'no name and no filename: 400')
    t.match(await unnamed.json(), { errors: [{ field: 'name', message: /no filename/ }] })
    const badName = await make({ upload: namelessUrl, name: '../x' })
    t.match(await badName.json(), { status: 400, errors: [{ field: 'name' }] }, 'a name no file may have')
    t.match(await (await make({ upload: namelessUrl, colour: 'blue' })).json(), { status: 400, errors: [{ field: 'colour' }] }, 'an unknown field')
    for (const upload of ['nothing', 'https://elsewhere.example/files/0123', `${base}/uploads/`, '']) {
      t.match(await (await make({ upload })).json(), { status: 400, errors: [{ field: 'upload' }] }, `upload "${upload}": neither an id nor an upload's URL`)
    }
    t.match(await (await make({ name: 'a/b' })).json(), { status: 400, errors: [{ field: 'name' }] },
      'without upload, the form of an item without content: its complaints only')
    t.equal((await fetch(namelessUrl, { method: 'HEAD', headers: tusHeaders('owner') })).headers.get('upload-offset'), '5', 'every refusal kept the upload')
    t.match(await (await make({ upload: namelessUrl, name: 'named' })).json(), { name: 'named', size: 5 }, 'which then makes an item')

    // Past the quota: the item is refused once the bytes are counted, and the upload is put back.
    const first = await createUpload(base, 'owner', 90_000, { filename: 'first' })
    t.equal((await patch(`${base}${first.headers.get('location')!}`, 'owner', 0, randomBytes(90_000))).status, 204)
    t.equal((await make({ upload: first.headers.get('location') })).status, 201)
    const second = await createUpload(base, 'owner', 90_000, { filename: 'second' })
    const secondUrl = `${base}${second.headers.get('location')!}`
    t.equal((await patch(secondUrl, 'owner', 0, randomBytes(90_000))).status, 204)
    const over = await make({ upload: secondUrl })
    t.equal(over.status, 507, 'past the project\'s quota: 507')
    t.match(await over.json(), { type: 'urn:mobyle2:problem:quota-exceeded', quota_bytes: 150_000 })
    const kept = await fetch(secondUrl, { method: 'HEAD', headers: tusHeaders('owner') })
    t.equal(kept.status, 200, 'the upload is put back, for another project or another time')
    t.equal(kept.headers.get('upload-offset'), '90000')
    const other = await make({ upload: secondUrl, name: 'second' })
    t.equal(other.status, 507, 'and refused again while the quota is used')
    t.equal((await fetch(secondUrl, { method: 'DELETE', headers: tusHeaders('owner') })).status, 204, 'or terminated')
  })
}

t.test('a watcher may upload, but makes no item of it in a project it only watches', async (t) => {
  const { app, ...s } = await seededApp(t, 'pglite')
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  const created = await createUpload(base, 'watcher', 3, { filename: 'w' })
  const url = `${base}${created.headers.get('location')!}`
  t.equal((await patch(url, 'watcher', 0, Buffer.from('abc'))).status, 204)
  const refused = await fetch(`${base}/projects/${formatId(s.projectId)}/data`, {
    method: 'POST', headers: { ...basic('watcher' satisfies Role), 'content-type': 'application/json' }, body: JSON.stringify({ upload: url })
  })
  t.equal(refused.status, 403)
  t.equal((await fetch(url, { method: 'HEAD', headers: tusHeaders('watcher') })).status, 200, 'the upload is untouched')
})
