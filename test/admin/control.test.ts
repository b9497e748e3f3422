/**
 * The admin command line beside a running server: on the embedded database the
 * command goes through the server, on PostgreSQL both are clients of one
 * database; either way the server's very next request sees the effect.
 */
import t, { type Test } from 'tap'
import { postgresDatabase, migratedDataDir } from '../helper.ts'
import { basic, cli, listeningServer } from '../processes.ts'

/** Every command, run while `server` serves the same database, seen by its very next request. */
async function commandsBesideServer (t: Test, env: Record<string, string>, server: { url: string }): Promise<void> {
  const get = async (path: string, headers: Record<string, string>): Promise<number> =>
    (await fetch(`${server.url}${path}`, { headers })).status

  t.equal(await get('/users/', basic('root', 'first pass')), 401, 'root does not exist yet')
  t.match(await cli(env, ['create-user', 'root', '--password-stdin', '--admin'], 'first pass\n'), { code: 0, stdout: /created user root \(id \d+\)/ })
  t.equal(await get('/users/', basic('root', 'first pass')), 200, 'the server knows root at once')

  t.match(await cli(env, ['set-password', 'root', '--password', 'second pass']), { code: 0, stdout: /password of root changed/ })
  t.equal(await get('/users/', basic('root', 'first pass')), 401, 'the old password is refused at once')
  t.equal(await get('/users/', basic('root', 'second pass')), 200)

  const issued = await cli(env, ['issue-key', 'root', '--label', 'script'])
  t.match(issued, { code: 0, stderr: /issued to root; it is not shown again/ })
  const key = issued.stdout.trim()
  t.equal(await get('/users/', { 'x-api-key': key }), 200, 'the new key works at once')
  const listed = await cli(env, ['list-keys', 'root'])
  const id = /^(\d+)\t.*\tscript\tactive$/m.exec(listed.stdout)?.[1]
  t.ok(id, 'list-keys shows the key')
  t.match(await cli(env, ['revoke-key', 'root', id!]), { code: 0, stdout: `key ${id!} revoked` })
  t.equal(await get('/users/', { 'x-api-key': key }), 401, 'the revoked key is refused at once')

  t.match(await cli(env, ['migrate']), { code: 0, stdout: /no pending migrations/ })
  t.match(await cli(env, ['create-user', 'root']), { code: 1, stderr: /mobyle2-admin: .*root/ }, 'a domain refusal reads the same as without a server')
  t.match(await cli(env, ['frobnicate']), { code: 1, stderr: /unknown command frobnicate\nusage: mobyle2-admin/ })
}

t.test('beside a running server on the embedded database, every command goes through the server', async (t) => {
  const env = { DATA_DIR: await migratedDataDir(t) }
  const server = await listeningServer(t, env)
  await commandsBesideServer(t, env, server)
  t.match(server.output(), /"command":"create-user","args":\["root"\],"msg":"administrative command"/, 'the server ran the commands')
  t.notMatch(server.output(), /first pass|second pass/, 'and logged no password')

  server.child.kill('SIGTERM')
  t.equal(await server.exited, 0)
  const restarted = await listeningServer(t, env)
  t.equal((await fetch(`${restarted.url}/users/`, { headers: basic('root', 'second pass') })).status, 200,
    'what the command line did survives a restart')
})

const serverUrl = process.env.TEST_DATABASE_URL
t.test('on PostgreSQL, the command line and a running server share the database',
  { skip: serverUrl === undefined ? 'TEST_DATABASE_URL is not set' : false }, async (t) => {
    const env = { DATABASE_URL: await postgresDatabase(t) }
    t.match(await cli(env, ['migrate']), { code: 0, stdout: /applied \d+_init/ })
    const server = await listeningServer(t, env)
    await commandsBesideServer(t, env, server)
    t.notMatch(server.output(), /administrative command/, 'the command line used PostgreSQL itself')
  })
