import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Authenticator } from '../src/auth/authenticator.ts'
import { openDatabase } from '../src/db/client.ts'
import { createDomain } from '../src/domain/index.ts'

async function cli (dataDir: string, args: string[], input?: string): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, ['bin/mobyle2-admin.mjs', ...args], {
    env: { ...process.env, DATA_DIR: dataDir }, stdio: ['pipe', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  child.stdin.end(input ?? '')
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  return { code, stdout, stderr }
}

t.test('the admin command line manages users and keys', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'mobyle2-cli-'))
  t.match(await cli(dataDir, ['migrate']), { code: 0, stdout: /applied \d+_init/ })
  t.match(await cli(dataDir, ['create-user', 'alice', '--password', 'first pass', '--email', 'alice@example.org', '--admin']),
    { code: 0, stdout: /created user alice \(id 1\)/ })
  t.match(await cli(dataDir, ['set-password', 'alice', '--password-stdin'], 'second pass\n'), { code: 0, stdout: /password of alice changed/ })
  const issued = await cli(dataDir, ['issue-key', 'alice', '--label', 'laptop'])
  t.equal(issued.code, 0)
  const key = issued.stdout.trim()
  t.match(key, /^m2_[A-Za-z0-9_-]{43}$/, 'the key alone on stdout, for scripts')
  t.match(await cli(dataDir, ['list-keys', 'alice']), { code: 0, stdout: /^1\tm2_\S+…\tlaptop\tactive$/m })
  t.notMatch((await cli(dataDir, ['list-keys', 'alice'])).stdout, key, 'the secret is never shown again')

  const db = await openDatabase({ dataDir })
  const auth = new Authenticator(createDomain(db.prisma).credentials, { maxFailures: 4, windowSeconds: 600, cacheSeconds: 0 })
  t.match(await auth.authenticate({ kind: 'apiKey', key }, null), { username: 'alice', isAdmin: true })
  t.match(await auth.authenticate({ kind: 'basic', username: 'alice', password: 'second pass' }, null), { username: 'alice' })
  await db.close()

  t.match(await cli(dataDir, ['revoke-key', 'alice', '1']), { code: 0, stdout: /key 1 revoked/ })
  t.match(await cli(dataDir, ['list-keys', 'alice']), { stdout: /\trevoked / })
})

t.test('bad input exits non-zero with a clear message', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'mobyle2-cli-'))
  t.match(await cli(dataDir, ['frobnicate']), { code: 1, stderr: /unknown command frobnicate/ })
  t.match(await cli(dataDir, ['create-user']), { code: 1, stderr: /needs a username/ })
  t.match(await cli(dataDir, ['create-user', 'bad name']), { code: 1, stderr: /username: must match pattern/ })
  t.match(await cli(dataDir, ['revoke-key', 'nobody', 'x']), { code: 1, stderr: /numeric key id/ })
  t.match(await cli(dataDir, ['issue-key', 'nobody']), { code: 1, stderr: /no such user nobody/ })
  const help = await cli(dataDir, [])
  t.match(help, { code: 0, stdout: /usage: mobyle2-admin/ })
})
