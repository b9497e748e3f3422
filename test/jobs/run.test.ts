/**
 * Jobs run through the server, over HTTP, on the local executor: a program's
 * interface set by an administrator, content uploaded, a job submitted, its
 * outputs kept as data items of the project.
 */
import { execFileSync } from 'node:child_process'
import { createReadStream } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { formatId } from '../../src/rest/common.ts'
import { basic, seededApp } from '../fixtures.ts'
import { databaseKinds, tempDir, until } from '../helper.ts'

const sortTool = {
  cwlVersion: 'v1.2', class: 'CommandLineTool', baseCommand: 'sort',
  inputs: { reverse: { type: 'boolean?', inputBinding: { position: 1, prefix: '-r' } }, input: { type: 'File', inputBinding: { position: 2 } } },
  outputs: { sorted: { type: 'stdout', format: 'http://edamontology.org/format_2330' } },
  stdout: 'sorted.txt'
}

const pythonTool = (code: string, outputs: Record<string, unknown> = {}) => ({
  cwlVersion: 'v1.2', class: 'CommandLineTool', baseCommand: ['python3', '-c', code],
  inputs: { word: { type: 'string?', inputBinding: { position: 1 } } }, outputs
})

for (const kind of databaseKinds) {
  t.test(`${kind}: jobs run real programs and keep their outputs`, async (t) => {
    const { app, db, ...s } = await seededApp(t, kind, { env: { JOB_CONCURRENCY: '2', JOB_WORK_DIR: await tempDir(t) } })
    const project = `/projects/${formatId(s.projectId)}`
    const setInterface = async (service: string, tool: unknown) => {
      const answer = await app.inject({ method: 'PUT', url: `/services/${service}/interface`, headers: basic('admin'), payload: tool as object })
      t.ok(answer.statusCode === 200 || answer.statusCode === 201, `interface of ${service}: ${answer.body}`)
    }
    const submit = async (payload: object) => await app.inject({ method: 'POST', url: `${project}/jobs`, headers: basic('contributor'), payload })
    const state = async (id: number) => {
      const [row] = await db.prisma.$queryRaw<Array<{ state: string, reason: string | null, exitCode: number | null, outputs: Record<string, number[]> }>>`
        SELECT state::text, reason, exit_code AS "exitCode", outputs FROM "job" WHERE id = ${id}`
      return row!
    }
    const ended = async (id: number) => await until(`job ${id} to end`, async () => {
      const row = await state(id)
      return ['ok', 'error', 'cancelled'].includes(row.state) ? row : undefined
    })
    const download = async (dataId: number) => (await app.inject({ method: 'GET', url: `${project}/data/${formatId(dataId)}/content`, headers: basic('watcher') })).rawPayload

    await setInterface('blast::pasteur', sortTool)
    const lines = Array.from({ length: 2000 }, (_, i) => `${(i * 7919) % 2000} line`).join('\n') + '\n'
    const dir = await tempDir(t)
    await writeFile(join(dir, 'numbers.txt'), lines)
    // Uploaded through the domain's own path (the REST upload has tests of its own, test/rest/data.test.ts).
    const blob = await app.domain.projects.stageData(s.actors.contributor, s.projectId, createReadStream(join(dir, 'numbers.txt')))
    const item = await app.domain.projects.addData(s.actors.contributor, s.projectId, { name: 'numbers.txt' }, { blob, mediaType: 'text/plain' })

    const created = await submit({ service: 'blast::pasteur', inputs: { input: { data: formatId(item.id) }, reverse: true }, name: 'sorted' })
    t.equal(created.statusCode, 201, created.body)
    const jobId = Number(created.json<{ id: string }>().id)
    const sorted = await ended(jobId)
    t.match(sorted, { state: 'ok', exitCode: 0 })
    const expected = execFileSync('sort', ['-r', join(dir, 'numbers.txt')], { env: { PATH: process.env.PATH, LANG: 'C.UTF-8' } })
    t.ok((await download(sorted.outputs.sorted![0]!)).equals(expected), 'the output is byte-identical to sort run here')
    const output = await app.domain.projects.getData(s.actors.watcher, sorted.outputs.sorted![0]!, s.projectId)
    t.match(output, { name: 'sorted.txt', mediaType: 'text/plain', format: 'http://edamontology.org/format_2330', job: jobId })
    const shown = (await app.inject({ method: 'GET', url: `${project}/jobs/${formatId(jobId)}`, headers: basic('watcher') })).json<{ outputs: Record<string, string[]> }>()
    t.same(shown.outputs, { sorted: [formatId(output.id)] }, 'the job names the data items its outputs became')
    const outputItem = (await app.inject({ method: 'GET', url: `${project}/data/${formatId(output.id)}`, headers: basic('watcher') })).json<{ job: string }>()
    t.equal(outputItem.job, formatId(jobId), 'and each item names its job')

    await setInterface('blast::pasteur', pythonTool('import sys; sys.stderr.write("no good\\n"); sys.exit(3)'))
    const failing = Number((await submit({ service: 'blast::pasteur', inputs: {} })).json<{ id: string }>().id)
    t.match(await ended(failing), { state: 'error', reason: 'exit', exitCode: 3 })
    const stderr = await app.inject({ method: 'GET', url: `${project}/jobs/${formatId(failing)}/stderr`, headers: basic('watcher') })
    t.equal(stderr.statusCode, 200)
    t.equal(stderr.body, 'no good\n', 'its standard error is kept')
    t.equal((await app.inject({ method: 'GET', url: `${project}/jobs/${formatId(failing)}/stdout`, headers: basic('outsider') })).statusCode, 404, 'an outsider sees no job')

    await setInterface('blast::pasteur', pythonTool('import json, sys; open("argv.json", "w").write(json.dumps(sys.argv[1:]))',
      { argv: { type: 'File', outputBinding: { glob: 'argv.json' } } }))
    for (const word of ['; rm -rf ~', '--help']) {
      const job = Number((await submit({ service: 'blast::pasteur', inputs: { word } })).json<{ id: string }>().id)
      const done = await ended(job)
      t.equal(done.state, 'ok')
      t.same(JSON.parse((await download(done.outputs.argv![0]!)).toString()), [word], `${word} reaches the program as one argument`)
    }
  })
}

for (const kind of databaseKinds) {
  t.test(`${kind}: the server's limits end a job: past JOB_TIMEOUT_SECONDS, error/timeout; past JOB_MAX_OUTPUT_BYTES, error/output-limit`, async (t) => {
    const { app, ...s } = await seededApp(t, kind, { env: { JOB_CONCURRENCY: '2', JOB_WORK_DIR: await tempDir(t), JOB_TIMEOUT_SECONDS: '1', JOB_MAX_OUTPUT_BYTES: '1024' } })
    const project = `/projects/${formatId(s.projectId)}`
    const answer = await app.inject({ method: 'PUT', url: '/services/blast::pasteur/interface', headers: basic('admin'), payload: pythonTool('import sys, time; sys.stdout.write("x" * 4096 if sys.argv[1:] == ["talk"] else ""); sys.stdout.flush(); time.sleep(30)') })
    t.ok(answer.statusCode === 200 || answer.statusCode === 201, answer.body)
    const run = async (word: string) => {
      const created = await app.inject({ method: 'POST', url: `${project}/jobs`, headers: basic('contributor'), payload: { service: 'blast::pasteur', inputs: { word } } })
      const id = created.json<{ id: string }>().id
      return await until(`job ${id} to end`, async () => {
        const job = (await app.inject({ method: 'GET', url: `${project}/jobs/${id}`, headers: basic('watcher') })).json<{ state: string }>()
        return ['queued', 'running'].includes(job.state) ? undefined : { id, job }
      })
    }
    const [slow, talkative] = await Promise.all([run('quiet'), run('talk')])
    t.match(slow.job, { state: 'error', reason: 'timeout', message: 'ran longer than 1 s' })
    t.match(talkative.job, { state: 'error', reason: 'output-limit', message: 'wrote more than 1024 bytes to stdout' })
    const kept = await app.inject({ method: 'GET', url: `${project}/jobs/${talkative.id}/stdout`, headers: basic('watcher') })
    t.equal(kept.body, 'x'.repeat(1024), 'its first 1024 bytes are kept')
  })
}

/** The events of a server-sent event stream, read to its end. */
async function events (url: string, headers: Record<string, string>): Promise<Array<{ id: string, event: string, data: { state: string } }>> {
  const answer = await fetch(url, { headers })
  if (answer.status !== 200) throw new Error(`${answer.status}: ${await answer.text()}`)
  if (!(answer.headers.get('content-type') ?? '').startsWith('text/event-stream')) throw new Error('not an event stream')
  const text = await answer.text()
  return text.split('\n\n').filter((block) => block.includes('data:')).map((block) => {
    const field = (name: string) => block.split('\n').find((line) => line.startsWith(`${name}: `))!.slice(name.length + 2)
    return { id: field('id'), event: field('event'), data: JSON.parse(field('data')) as { state: string } }
  })
}

for (const kind of databaseKinds) {
  t.test(`${kind}: a job's transitions arrive as server-sent events, in order, and resume after Last-Event-ID`, async (t) => {
    const { app, ...s } = await seededApp(t, kind, { env: { JOB_CONCURRENCY: '1', JOB_WORK_DIR: await tempDir(t) } })
    const base = await app.listen({ host: '127.0.0.1', port: 0 })
    const project = `/projects/${formatId(s.projectId)}`
    await app.inject({ method: 'PUT', url: '/services/blast::pasteur/interface', headers: basic('admin'), payload: pythonTool('import time; time.sleep(0.5)') })
    const created = await app.inject({ method: 'POST', url: `${project}/jobs`, headers: basic('contributor'), payload: { service: 'blast::pasteur', inputs: {} } })
    const url = `${base}${project}/jobs/${created.json<{ id: string }>().id}/events`
    const seen = await events(url, basic('watcher'))
    t.same(seen.map((event) => event.data.state), ['queued', 'running', 'ok'], 'queued, running, ok, and the stream ends')
    t.ok(seen.every((event) => event.event === 'state'))
    t.ok(seen.every((event, i) => i === 0 || BigInt(event.id) > BigInt(seen[i - 1]!.id)), 'ids increase')
    const resumed = await events(url, { ...basic('watcher'), 'last-event-id': seen[0]!.id })
    t.same(resumed.map((event) => event.data.state), ['running', 'ok'], 'resumed after the first')
    t.same(await events(url, { ...basic('watcher'), 'last-event-id': seen[2]!.id }), [], 'nothing after the last: the stream ends at once')
    const outsider = await fetch(url, { headers: basic('outsider') })
    t.equal(outsider.status, 404)
  })
}
