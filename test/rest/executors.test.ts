/**
 * Routes send each submitted job to an executor (JOB_ROUTES); a process's
 * dispatchers claim only their own executor's jobs; `GET /_admin/executors`
 * shows administrators where jobs run and what waits.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../../src/config.ts'
import { formatId } from '../../src/rest/common.ts'
import { basic, seededApp } from '../fixtures.ts'
import { databaseKinds, tempDir, until } from '../helper.ts'
import { problemOf } from './fixtures.ts'

const routes = `
executors:
  cluster: {type: slurm, partition: long, account: bio}
rules:
  - match: {service: 'shared::*'}
    executor: cluster
`

for (const kind of databaseKinds) {
  t.test(`${kind}: each job goes where its route says, and administrators see where jobs run`, async (t) => {
    const file = join(await tempDir(t), 'routes.yaml')
    await writeFile(file, routes)
    const { app, db, ...s } = await seededApp(t, kind, { env: { JOB_ROUTES: file, JOB_CONCURRENCY: '1', JOB_WORK_DIR: await tempDir(t) } })
    const project = `/projects/${formatId(s.projectId)}`
    const interfaceSet = await app.inject({ method: 'PUT', url: '/services/shared::genomics::pasteur/interface', headers: basic('admin'), payload: { cwlVersion: 'v1.2', class: 'CommandLineTool', baseCommand: 'true', inputs: {}, outputs: {} } })
    t.equal(interfaceSet.statusCode, 201, interfaceSet.body)
    const submit = async (service: string) => (await app.inject({ method: 'POST', url: `${project}/jobs`, headers: basic('contributor'), payload: { service, inputs: {} } })).json<{ id: string }>().id
    const local = await submit('blast::pasteur')
    const clustered = await submit('shared::genomics::pasteur')
    const stateOf = async (id: string) => (await app.inject({ url: `${project}/jobs/${id}`, headers: basic('watcher') })).json<{ state: string }>().state
    await until('the local job to end', async () => await stateOf(local) === 'ok' ? true : undefined)
    const rows = await db.prisma.$queryRaw<Array<{ id: number, executor: string }>>`SELECT id, executor FROM "job" ORDER BY id`
    t.same(Object.fromEntries(rows.map((row) => [formatId(row.id), row.executor])), { [formatId(s.jobId)]: 'local', [local]: 'local', [clustered]: 'cluster' }, 'the first matching rule, else the default')
    t.equal(await stateOf(clustered), 'queued', 'no process here runs the cluster: its job waits, unclaimed')

    const answer = await app.inject({ url: '/_admin/executors', headers: basic('admin') })
    t.equal(answer.statusCode, 200, answer.body)
    const executors = answer.json<Record<string, { workers: Array<{ name: string }> }>>()
    t.match(executors, {
      local: { type: 'local', default: true, queued: 0, running: 0, health: 'ok' },
      cluster: { type: 'slurm', default: false, partition: 'long', account: 'bio', queued: 1, running: 0, workers: [], health: 'no process runs it: its 1 queued job(s) wait' }
    })
    t.same(executors.local!.workers.map((worker) => worker.name.endsWith(`:${process.pid}`)), [true], 'this process runs the local executor')
    for (const who of ['owner', 'contributor']) problemOf(await app.inject({ url: '/_admin/executors', headers: basic(who) }), 403)
    problemOf(await app.inject({ url: '/_admin/executors' }), 401)
  })
}

t.test('a routes file that cannot be used stops the configuration, naming it', async (t) => {
  const dir = await tempDir(t)
  t.throws(() => loadConfig({ JOB_ROUTES: join(dir, 'none.yaml') }), { name: 'ConfigError', message: /JOB_ROUTES=.*none.yaml: cannot read it/ })
  await writeFile(join(dir, 'bad.yaml'), 'rules: [{match: {}, executor: cluster}]')
  t.throws(() => loadConfig({ JOB_ROUTES: join(dir, 'bad.yaml') }), { name: 'ConfigError', message: /\/rules\/0\/executor: no executor named cluster/ })
  t.throws(() => loadConfig({ JOB_EXECUTOR: 'kubernetes' }), { name: 'ConfigError', message: /JOB_EXECUTOR/ })
})
