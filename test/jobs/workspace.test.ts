/**
 * src/jobs/workspace.ts: each attempt of a job runs in a directory of its own,
 * empty but for what the job brings, laid out by its executor (src/jobs/layout.ts).
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { JobQueue, type ClaimedJob } from '../../src/domain/job-queue.ts'
import { layOut } from '../../src/jobs/layout.ts'
import { jobWorkspace } from '../../src/jobs/workspace.ts'
import { freshDatabase, tempDir, testStorage } from '../helper.ts'

t.test('an attempt\'s directory starts empty, even over one an earlier database left behind for the same job id', async (t) => {
  const db = await freshDatabase(t)
  const storage = await testStorage(t)
  const root = await tempDir(t)
  const workspace = jobWorkspace(new JobQueue(db.prisma, storage), storage, { root, timeoutSeconds: 60, maxOutputBytes: 1000 })
  const job: ClaimedJob = {
    id: 7, attempt: 1, projectId: 1, serviceId: null, submitterId: null, inputs: {},
    interfaceDocument: { cwlVersion: 'v1.2', class: 'CommandLineTool', baseCommand: 'true', inputs: {}, outputs: {} }
  }
  await mkdir(join(root, '7', '1', 'work', 'inputs'), { recursive: true })
  await writeFile(join(root, '7', '1', 'work', 'leftover.txt'), 'from another job 7')
  await writeFile(join(root, '7', '1', 'stdout'), 'its output')

  const first = await workspace.prepare(job)
  t.same((await readdir(join(root, '7', '1'))).sort(), ['stdout', 'work'], 'preparing describes the directory and touches nothing')
  await layOut(first.layout!)
  t.same((await readdir(join(root, '7', '1'))).sort(), ['tmp', 'work'], 'laid out by the executor: nothing of the old one left')
  t.same(await readdir(first.workDir), [], 'an empty working directory: no inputs, no inputs directory')
  t.same(first.argv, ['true'])

  const second = await workspace.prepare({ ...job, attempt: 2 })
  await layOut(second.layout!)
  t.equal(second.workDir, join(root, '7', '2', 'work'), 'the next attempt has its own')
  t.same(await readdir(second.workDir), [])
  t.same((await readdir(join(root, '7'))).sort(), ['1', '2'])
})
