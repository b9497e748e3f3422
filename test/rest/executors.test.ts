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
import { databaseKinds, tempDir } from '../helper.ts'
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
    // An API server: it runs no job (JOB_CONCURRENCY=0), so every job waits where its route sent it.
    const { app, db, domain, ...s } = await seededApp(t, kind, { env: { JOB_ROUTES: file, JOB_CONCURRENCY: '0' } })
    const project = `/projects/${formatId(s.projectId)}`
    const interfaceSet = await app.inject({ method: 'PUT', url: '/services/shared::genomics::pasteur/interface', headers: basic('admin'), payload: { cwlVersion: 'v1.2', class: 'CommandLineTool', baseCommand: 'true', inputs: {}, outputs: {} } })
    t.equal(interfaceSet.statusCode, 201, interfaceSet.body)
    const submit = async (service: string) => (await app.inject({ method: 'POST', url: `${project}/jobs`, headers: basic('contributor'), payload: { service, inputs: {} } })).json<{ id: string }>().id
    const local = await submit('blast::pasteur')
    const clustered = await submit('shared::genomics::pasteur')
    const rows = await db.prisma.$queryRaw<Array<{ id: number, executor: string }>>`SELECT id, executor FROM "job" ORDER BY id`
    t.same(Object.fromEntries(rows.map((row) => [formatId(row.id), row.executor])), { [formatId(s.jobId)]: 'local', [local]: 'local', [clustered]: 'cluster' }, 'the first matching rule, else the default')

    const executors = async () => {
      const answer = await app.inject({ url: '/_admin/executors', headers: basic('admin') })
      t.equal(answer.statusCode, 200, answer.body)
      return answer.json<Record<string, unknown>>()
    }
    t.same(await executors(), {
      local: { type: 'local', default: true, queued: 2, running: 0, workers: [], health: 'no process runs it: its 2 queued job(s) wait' },
      cluster: { type: 'slurm', default: false, partition: 'long', account: 'bio', queued: 1, running: 0, workers: [], health: 'no process runs it: its 1 queued job(s) wait' }
    })
    // A process elsewhere runs the local executor; a job waits for an executor the routes no longer name.
    await domain.jobQueue.heartbeat('elsewhere:7', 'local')
    await db.prisma.$executeRaw`UPDATE "job" SET executor = 'retired' WHERE id = ${Number(local)}`
    t.match(await executors(), {
      local: { queued: 1, workers: [{ name: 'elsewhere:7', seen: /^\d{4}-\d\d-\d\dT/ }], health: 'ok' },
      cluster: { queued: 1 },
      retired: { type: 'unknown', default: false, queued: 1, running: 0, workers: [], health: 'no route names it any more: 1 queued job(s) wait for a process configured with it' }
    })
    // A process that runs the cluster finds its scheduler unreachable; its next beat without a problem clears it.
    await domain.jobQueue.heartbeat('elsewhere:8', 'cluster', 'following its 3 job(s) failed: squeue: Unable to contact slurm controller')
    t.match(await executors(), {
      cluster: { workers: [{ name: 'elsewhere:8', problem: /Unable to contact/ }], health: 'elsewhere:8: following its 3 job(s) failed: squeue: Unable to contact slurm controller' },
      local: { health: 'ok' }
    })
    await domain.jobQueue.heartbeat('elsewhere:8', 'cluster')
    t.match(await executors(), { cluster: { health: 'ok' } })
    t.notOk('problem' in ((await executors()) as { cluster: { workers: object[] } }).cluster.workers[0]!)
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
