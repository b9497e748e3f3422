/**
 * The admin command line as its binary, on its own, on the embedded database
 * (test/admin/control.test.ts runs it beside a server).
 */
import t from 'tap'
import { Authenticator } from '../src/auth/authenticator.ts'
import { openDatabase } from '../src/db/client.ts'
import { openDomain } from '../src/domain/index.ts'
import { migratedDataDir, tempDir } from './helper.ts'
import { cli } from './processes.ts'

t.test('the admin command line manages users and keys', async (t) => {
  const env = { DATA_DIR: await tempDir(t, 'mobyle2-cli-') }
  t.match(await cli(env, ['migrate']), { code: 0, stdout: /applied \d+_init/ })
  t.match(await cli(env, ['create-user', 'alice', '--password', 'first pass', '--email', 'alice@example.org', '--admin']),
    { code: 0, stdout: /created user alice \(id 1\)/ })
  t.match(await cli(env, ['set-password', 'alice', '--password-stdin'], 'second pass\n'), { code: 0, stdout: /password of alice changed/ })
  const issued = await cli(env, ['issue-key', 'alice', '--label', 'laptop'])
  t.equal(issued.code, 0)
  const key = issued.stdout.trim()
  t.match(key, /^m2_[A-Za-z0-9_-]{43}$/, 'the key alone on stdout, for scripts')
  t.match(await cli(env, ['list-keys', 'alice']), { code: 0, stdout: /^1\tm2_\S+…\tlaptop\tactive$/m })
  t.notMatch((await cli(env, ['list-keys', 'alice'])).stdout, key, 'the secret is never shown again')

  const db = await openDatabase({ dataDir: env.DATA_DIR })
  const auth = new Authenticator(openDomain(db).logins, { maxFailures: 4, windowSeconds: 600, cacheSeconds: 0 })
  t.match(await auth.authenticate({ kind: 'apiKey', key }, null), { username: 'alice', isAdmin: true })
  t.match(await auth.authenticate({ kind: 'basic', username: 'alice', password: 'second pass' }, null), { username: 'alice' })
  await db.close()

  t.match(await cli(env, ['revoke-key', 'alice', '1']), { code: 0, stdout: /key 1 revoked/ })
  t.match(await cli(env, ['list-keys', 'alice']), { stdout: /\trevoked / })
})

t.test('bad input exits non-zero with a clear message', async (t) => {
  const env = { DATA_DIR: await migratedDataDir(t) }
  t.match(await cli(env, ['frobnicate']), { code: 1, stderr: /unknown command frobnicate/ })
  t.match(await cli(env, ['create-user']), { code: 1, stderr: /needs a username/ })
  t.match(await cli(env, ['create-user', 'bad name']), { code: 1, stderr: /username: must match pattern/ })
  t.match(await cli(env, ['revoke-key', 'nobody', 'x']), { code: 1, stderr: /numeric key id/ })
  t.match(await cli(env, ['issue-key', 'nobody']), { code: 1, stderr: /no such user nobody/ })
  t.match(await cli(env, ['create-user', 'x', '--colour']), { code: 1, stderr: /Unknown option '--colour'/ })
  const help = await cli(env, [])
  t.match(help, { code: 0, stdout: /usage: mobyle2-admin/ })
})
