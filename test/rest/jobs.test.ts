/**
 * `/projects/{id}/jobs`: a job submitted as `{service, inputs, name}` and what
 * it shows (state, reason, exit code, inputs, history, submitter), each refusal
 * of a submission with the field it names, cancelling (at once, asked, ended) and
 * removing (only once ended). No dispatcher runs here: the tests move jobs along
 * with the queue's own calls (src/domain/job-queue.ts), as a dispatcher would.
 */
import t from 'tap'
import { systemActor } from '../../src/domain/index.ts'
import { formatId } from '../../src/rest/common.ts'
import { databaseKinds } from '../helper.ts'
import { seededApp } from '../fixtures.ts'
import { basic, problemOf } from './fixtures.ts'

/** A program with required, optional and File inputs: the shape of `sort`. */
const sortTool = {
  cwlVersion: 'v1.2',
  class: 'CommandLineTool',
  baseCommand: 'sort',
  inputs: {
    reverse: { type: 'boolean?', inputBinding: { prefix: '-r' } },
    key: { type: 'int?', inputBinding: { prefix: '-k' } },
    file: { type: 'File', format: ['http://edamontology.org/format_2330', 'http://edamontology.org/format_1964'], inputBinding: { position: 1 } }
  },
  outputs: { sorted: 'stdout' },
  stdout: 'sorted.txt'
}

const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

for (const kind of databaseKinds) {
  t.test(`${kind}: jobs over REST`, async (t) => {
    const { app, domain, ...s } = await seededApp(t, kind)
    const url = `/projects/${formatId(s.projectId)}/jobs`
    await domain.services.setInterface(systemActor, 'shared::genomics::pasteur', sortTool)
    const reads = await domain.projects.addData(s.actors.owner, s.projectId, { name: 'reads.txt' })
    const secret = await domain.projects.addData(s.actors.outsider, s.otherProjectId, { name: 'secret.txt' })
    const submit = async (payload: unknown, who = 'contributor') =>
      await app.inject({ method: 'POST', url, headers: basic(who), payload: payload as Record<string, unknown> })

    t.test('a submission is queued, and shows what it was given', async (t) => {
      const created = await submit({ name: 'sorted', service: 'shared::genomics::pasteur', inputs: { file: { data: String(reads.id) }, reverse: true } })
      t.equal(created.statusCode, 201)
      const job = created.json()
      t.equal(created.headers.location, `${url}/${job.id}`)
      t.match(job, {
        id: /^\d{11}$/,
        name: 'sorted',
        service: 'shared::genomics::pasteur',
        state: 'queued',
        message: '',
        created: iso,
        inputs: { file: { data: String(reads.id) }, reverse: true },
        history: [{ state: 'queued', at: job.created }],
        submitter: formatId(s.ids.contributor)
      })
      for (const absent of ['reason', 'exit_code', 'started', 'finished']) t.notOk(absent in job, `no ${absent} yet`)
      t.same((await app.inject({ url: `${url}/${job.id}`, headers: basic('watcher') })).json(), job, 'members read it as it was answered')
      const listed = (await app.inject({ url, headers: basic('watcher') })).json()
      t.same(Object.keys(listed), [formatId(s.jobId), job.id])
      t.same(listed[job.id], job)
      t.match(listed[formatId(s.jobId)], { name: 'run 1', service: 'blast::pasteur', state: 'queued', inputs: {}, submitter: formatId(s.ids.owner) }, 'the seeded job')
      t.same(Object.keys((await app.inject({ url: `${url}?state=queued&state=running`, headers: basic('watcher') })).json()), [formatId(s.jobId), job.id])
      t.same((await app.inject({ url: `${url}?state=ok`, headers: basic('watcher') })).json(), {})
      problemOf(await app.inject({ url: `${url}?state=done`, headers: basic('watcher') }), 400)
      const other = `/projects/${formatId(s.otherProjectId)}`
      problemOf(await app.inject({ url: `${other}/jobs/${job.id}`, headers: basic('outsider') }), 404)
      problemOf(await app.inject({ url: `${url}/${job.id}`, headers: basic('outsider') }), 404)
      problemOf(await app.inject({ url: `${url}/${job.id}`, headers: {} }), 404)
      t.equal((await submit({ service: 'blast::pasteur' })).statusCode, 201, 'no inputs: all of echo\'s are optional')
      const text = await domain.projects.addData(s.actors.owner, s.projectId, { name: 'plain.txt', format: 'http://edamontology.org/format_1964' })
      t.equal((await submit({ service: 'shared::genomics::pasteur', inputs: { file: { data: String(text.id) } } })).statusCode, 201, 'a file in one of the formats the input takes')
    })

    t.test('a refused submission names what is wrong, and makes no job', async (t) => {
      const before = (await domain.projects.listJobs(systemActor)).length
      const refused = async (what: string, payload: unknown, fields: string[], who = 'contributor') => {
        const problem = problemOf(await submit(payload, who), 400)
        t.same(problem.errors?.map((e) => e.field).sort(), fields.slice().sort(), `${what}: ${problem.detail}`)
        return problem
      }
      t.match((await refused('an unknown service', { service: 'nothing::pasteur', inputs: {} }, ['service'])).detail, /no such service nothing::pasteur/)
      t.match((await refused('a service without an interface', { service: 'assembly::genomics::pasteur', inputs: {} }, ['service'])).detail, /has no interface/)
      t.match((await refused('a disabled service', { service: 'clustalw::pasteur', inputs: {} }, ['service'])).detail, /not yours to call/)
      t.match((await refused('a service out of sight', { service: 'hidden::private::pasteur', inputs: {} }, ['service'])).detail,
        /^service: no such service hidden::private::pasteur \(job\)$/, 'as one that does not exist')
      // An exported program is seen by all, called only by its project's members: the outsider, in a project of its own, may not.
      const outsiders = problemOf(await app.inject({
        method: 'POST', url: `/projects/${formatId(s.otherProjectId)}/jobs`, headers: basic('outsider'), payload: { service: 'shared::genomics::pasteur', inputs: {} }
      }), 400)
      t.match(outsiders.detail, /not yours to call/, 'an exported program of a project the caller is not in')
      const invalid = await refused('invalid inputs, each named', { service: 'shared::genomics::pasteur', inputs: { reverse: 'yes', key: 'two', colour: 'red' } },
        ['inputs/file', 'inputs/reverse', 'inputs/key', 'inputs/colour'])
      t.match(invalid.errors?.find((e) => e.field === 'inputs/file'), { message: /required/ })
      t.match((await refused('a file of another project', { service: 'shared::genomics::pasteur', inputs: { file: { data: String(secret.id) } } }, ['inputs/file'])).detail,
        new RegExp(`no data item ${secret.id} in this project`))
      const fasta = await domain.projects.addData(s.actors.owner, s.projectId, { name: 'reads.fasta', format: 'http://edamontology.org/format_1929' })
      t.match((await refused('a file in a format the input does not take', { service: 'shared::genomics::pasteur', inputs: { file: { data: String(fasta.id) } } }, ['inputs/file'])).detail,
        `data item ${fasta.id} is in format http://edamontology.org/format_1929; this input takes http://edamontology.org/format_2330 or http://edamontology.org/format_1964`)
      await refused('a file that is no id', { service: 'shared::genomics::pasteur', inputs: { file: { data: '../etc/passwd' } } }, ['inputs/file/data'])
      const old = await refused('the old form: a free-text status', { name: 'run 9', service: 'blast::pasteur', status: 'running' }, ['status'])
      t.match(old.detail, /status: is not a known property/)
      await refused('the old form, without a service', { name: 'run 9', status: 'running' }, ['service', 'status'])
      await refused('no service', { name: 'run 9' }, ['service'])
      await refused('inputs that are no object', { service: 'blast::pasteur', inputs: ['x'] }, ['inputs'])
      t.equal((await domain.projects.listJobs(systemActor)).length, before, 'no job was made')
      // What a submission knows of a program is remembered (src/domain/projects.ts, Programs): a change to it is seen at once.
      const admin = { ...basic('admin'), 'content-type': 'application/json' }
      const setDisabled = async (disabled: boolean) => {
        t.equal((await app.inject({ method: 'PATCH', url: '/services/blast::pasteur', headers: admin, payload: { disabled } })).statusCode, 200)
      }
      t.equal((await submit({ service: 'blast::pasteur' })).statusCode, 201, 'a program called once, and so remembered')
      await setDisabled(true)
      t.match((await refused('a program disabled since', { service: 'blast::pasteur', inputs: {} }, ['service'])).detail, /not yours to call/)
      await setDisabled(false)
      t.equal((await submit({ service: 'blast::pasteur' })).statusCode, 201, 'and enabled again')
      problemOf(await submit({ service: 'blast::pasteur', inputs: {} }, 'watcher'), 403)
      problemOf(await submit({ service: 'blast::pasteur', inputs: {} }, 'outsider'), 404)
      problemOf(await app.inject({ method: 'POST', url, payload: { service: 'blast::pasteur' } }), 404)
    })

    t.test('cancelling: at once when queued, asked when running, refused once ended', async (t) => {
      const job = (await submit({ name: 'to cancel', service: 'blast::pasteur', inputs: { message: 'never said' } })).json()
      const cancel = async (id: string, who = 'contributor') => await app.inject({ method: 'POST', url: `${url}/${id}/cancel`, headers: basic(who) })
      problemOf(await cancel(job.id, 'watcher'), 403)
      problemOf(await cancel(job.id, 'outsider'), 404)
      problemOf(await app.inject({ method: 'DELETE', url: `${url}/${job.id}`, headers: basic('contributor') }), 409)
      const cancelled = await cancel(job.id)
      t.equal(cancelled.statusCode, 200, 'a queued job is cancelled at once')
      t.match(cancelled.json(), { state: 'cancelled', finished: iso, message: /cancelled before it ran/, history: [{ state: 'queued' }, { state: 'cancelled' }] })
      t.notOk('started' in cancelled.json(), 'it never started')
      const ended = problemOf(await cancel(job.id), 409)
      t.match(ended.detail, new RegExp(`job ${Number(job.id)} has ended \\(cancelled\\)`))

      // The seeded job and a new one, claimed as a dispatcher claims them.
      const running = (await submit({ name: 'running', service: 'blast::pasteur', inputs: {} })).json()
      const claimed = await domain.jobQueue.claim('test-worker', 'local', 100)
      const held = claimed.find((c) => c.id === Number(running.id))!
      t.ok(held, 'claimed')
      t.match((await app.inject({ url: `${url}/${running.id}`, headers: basic('watcher') })).json(), { state: 'running', started: iso, history: [{ state: 'queued' }, { state: 'running' }] })
      problemOf(await app.inject({ method: 'DELETE', url: `${url}/${running.id}`, headers: basic('owner') }), 409)
      const asked = await cancel(running.id)
      t.equal(asked.statusCode, 202, 'a running job is asked to stop')
      t.equal(asked.json().state, 'running')
      t.equal((await cancel(running.id)).statusCode, 202, 'asking again changes nothing')
      t.same(await domain.jobQueue.cancelRequested('test-worker'), claimed.map((c) => ({ id: c.id, attempt: c.attempt })).filter((c) => c.id === held.id),
        'its dispatcher hears it')
      t.ok(await domain.jobQueue.finish(held, { state: 'cancelled', message: 'cancelled while it ran' }))
      t.match((await app.inject({ url: `${url}/${running.id}`, headers: basic('watcher') })).json(),
        { state: 'cancelled', message: 'cancelled while it ran', history: [{ state: 'queued' }, { state: 'running' }, { state: 'cancelled' }] })
      problemOf(await cancel(running.id), 409)

      // The seeded job ends in error: its reason and exit code show.
      const seeded = claimed.find((c) => c.id === s.jobId)!
      t.ok(await domain.jobQueue.finish(seeded, { state: 'error', reason: 'exit', exitCode: 3, message: 'it exited with 3' }))
      const failed = (await app.inject({ url: `${url}/${formatId(s.jobId)}`, headers: basic('watcher') })).json()
      t.match(failed, { state: 'error', reason: 'exit', exit_code: 3, message: 'it exited with 3', started: iso, finished: iso })
      t.same(failed.history.map((e: { state: string, reason?: string }) => [e.state, e.reason]), [['queued', undefined], ['running', undefined], ['error', 'exit']])
      t.same(Object.keys((await app.inject({ url: `${url}?state=error`, headers: basic('watcher') })).json()), [formatId(s.jobId)])
      problemOf(await cancel(formatId(s.jobId)), 409)

      problemOf(await app.inject({ method: 'DELETE', url: `${url}/${running.id}`, headers: basic('watcher') }), 403)
      t.equal((await app.inject({ method: 'DELETE', url: `${url}/${running.id}`, headers: basic('contributor') })).statusCode, 204, 'an ended job is removed')
      problemOf(await app.inject({ url: `${url}/${running.id}`, headers: basic('owner') }), 404)
      problemOf(await cancel(running.id), 404)
      problemOf(await cancel('99999'), 404)
    })
  })
}
