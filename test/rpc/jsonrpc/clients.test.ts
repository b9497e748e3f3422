/**
 * Real clients against a listening server: RhodeCode's documented curl call, and
 * a Python script using only the standard library.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { request } from 'node:http'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { databaseKinds } from '../../helper.ts'
import { world } from './fixture.ts'

const run = promisify(execFile)
const pythonClient = fileURLToPath(new URL('./rhodecode_client.py', import.meta.url))

// curl is not on every machine that runs `npm test`; where it is missing, the same
// request goes out through node:http and its answer is written out as curl writes it.
const curlOnPath = (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, 'curl')))

/** curl -s [-i] <url> -X POST -H 'content-type:text/plain' --data-binary <body>, without curl. */
function curlLike (url: string, body: string, withHeaders: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const sent = request(url, { method: 'POST', agent: false, headers: { Accept: '*/*', 'content-type': 'text/plain' } }, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('error', reject)
      response.on('end', () => {
        let head = `HTTP/${response.httpVersion} ${response.statusCode} ${response.statusMessage}\r\n`
        for (let i = 0; i < response.rawHeaders.length; i += 2) head += `${response.rawHeaders[i]}: ${response.rawHeaders[i + 1]}\r\n`
        resolve(`${withHeaders ? `${head}\r\n` : ''}${Buffer.concat(chunks).toString()}`)
      })
    })
    sent.on('error', reject)
    sent.end(body)
  })
}

for (const kind of databaseKinds) {
  t.test(kind, async (t) => {
    const w = await world(t, kind)
    const server = await w.app.listen({ host: '127.0.0.1', port: 0 })
    const url = `${server}/_admin/api`

    t.test('curl, as RhodeCode documents it', async (t) => {
      if (!curlOnPath) t.comment('curl is not on PATH: node:http sends the same requests')
      /** Where curl is, runs the command line through the shell, exactly as a user would type it. */
      const curl = async (body: string, options: '' | '-i' = ''): Promise<string> => curlOnPath
        ? (await run('sh', ['-c', `curl -s ${options} ${url} -X POST -H 'content-type:text/plain' --data-binary '${body}'`])).stdout
        : await curlLike(url, body, options === '-i')

      // RhodeCode 1.2's example, word for word but the key: no id, and its name `repo` for the remote (here a server).
      const seed = await curl(`{"api_key":"${w.keys.admin}","method":"pull","args":{"repo":"CPython"}}`)
      t.same(JSON.parse(seed), { id: null, result: null, error: 'server `CPython` does not exist' })

      const pull = await curl(`{"id":1,"api_key":"${w.keys.admin}","method":"pull","args":{"repoid":"genomics"}}`)
      t.same(JSON.parse(pull), { id: 1, result: null, error: 'server `genomics` does not exist' })

      const withHeaders = await curl(`{"id":"x","api_key":"${w.keys.watcher}","method":"get_repo","args":{"repoid":"genomics"}}`, '-i')
      const [head = '', body = ''] = withHeaders.split('\r\n\r\n')
      t.match(head, /^HTTP\/1\.1 200 OK\r\n/)
      t.match(head, /\r\ncontent-type: application\/json/i)
      t.match(JSON.parse(body), { id: 'x', result: { repo_name: 'genomics', owner: 'owner' }, error: null })

      const wrongKey = await curl('{"id":2,"api_key":"nope","method":"get_users","args":{}}')
      t.same(JSON.parse(wrongKey), { id: 2, result: null, error: 'Invalid API KEY' })
    })

    t.test('a Python script with urllib', async (t) => {
      const { stdout } = await run('python3', [pythonClient, url, w.keys.outsider])
      const [created, granted, repo, nodes, missing] = JSON.parse(stdout)
      for (const exchange of [created, granted, repo, nodes, missing]) {
        t.equal(exchange.status, 200)
        t.match(exchange.content_type, /^application\/json/)
      }
      t.match(created.response, { id: 1, error: null, result: { msg: 'Created new repository `from-python`', repo: { owner: 'outsider' } } })
      t.same(granted.response, { id: 2, error: null, result: { msg: 'Granted perm: `repository.read` for user: `watcher` in repo: `from-python`', success: true } })
      t.same(repo.response.result.members.map((m: any) => [m.username, m.permission]),
        [['outsider', 'repository.admin'], ['watcher', 'repository.read']])
      t.same(nodes.response.result.map((n: any) => n.name), ['services', 'jobs', 'data'])
      t.same(missing.response, { id: 5, result: null, error: 'Missing non optional `userid` arg in JSON DATA' })
    })
  })
}
