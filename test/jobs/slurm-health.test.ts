/**
 * A Slurm executor that cannot follow its jobs says so (GET /_admin/executors shows
 * it through the heartbeats); no cluster is needed to see it fail.
 */
import t from 'tap'
import { SlurmExecutor } from '../../src/jobs/slurm-executor.ts'
import { tempDir, until } from '../helper.ts'

t.test('a poll that fails is the executor\'s problem until one works', async (t) => {
  const errors: unknown[] = []
  const dir = await tempDir(t)
  // No Slurm command on this PATH: every squeue fails as a controller out of reach would.
  const executor = new SlurmExecutor({ name: 'cluster', pollMs: 100, path: dir, onError: (error) => { errors.push(error) } })
  t.equal(executor.problem(), undefined, 'nothing is wrong before anything was asked')
  const run = executor.follow('4242', {
    jobId: 1, attempt: 1, argv: ['true'], workDir: dir, tmpDir: dir, stdoutPath: `${dir}/stdout`, stderrPath: `${dir}/stderr`,
    env: {}, timeoutSeconds: 60, maxOutputBytes: 1024
  })
  t.teardown(() => { run.detach?.() })
  const problem = await until('a poll to fail', async () => executor.problem(), 10)
  t.match(problem, /^following its 1 job\(s\) failed: .*squeue/)
  t.ok(errors.length > 0, 'and each failure is reported to the log')
})
