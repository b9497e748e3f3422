/**
 * A server process killed (SIGKILL) in the middle of an upload: no item was
 * made, the file it was staging stays behind, and the next server to start on the
 * same storage sweeps it before it listens. On both databases.
 */
import { readdir, stat } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { databaseKinds, postgresDatabase, migratedDataDir, tempDir } from './helper.ts'
import { listeningServer } from './processes.ts'

const admin = { authorization: `Basic ${Buffer.from('admin:admin-secret').toString('base64')}` }

async function staged (storage: string): Promise<string[]> {
  return await readdir(join(storage, 'blobs', 'tmp')).catch(() => [])
}

for (const kind of databaseKinds) {
  t.test(`${kind}: a server killed mid-upload leaves no item, and the next start sweeps what it was writing`, async (t) => {
    const storage = await tempDir(t, 'mobyle2-storage-')
    const database: Record<string, string> = kind === 'pglite'
      ? { DATA_DIR: await migratedDataDir(t) }
      : { DATABASE_URL: await postgresDatabase(t), MIGRATE_ON_START: 'true' }
    const env = { ...database, STORAGE_DIR: storage, MOBYLE_ADMIN_USERNAME: 'admin', MOBYLE_ADMIN_PASSWORD: 'admin-secret' }
    const first = await listeningServer(t, env)
    const created = await fetch(`${first.url}/projects`, {
      method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'crash' })
    })
    t.equal(created.status, 201)
    const data = `${created.headers.get('location')!}/data`

    // An upload of 64 MiB, of which 1 MiB is sent: the server is staging it when it dies.
    const socket = connect(Number(new URL(first.url).port), '127.0.0.1')
    socket.on('error', () => {})
    const preamble = '--b0undary\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n\r\n'
    socket.write(`POST ${data} HTTP/1.1\r\nHost: x\r\nAuthorization: ${admin.authorization}\r\n` +
      `Content-Type: multipart/form-data; boundary=b0undary\r\nContent-Length: ${64 * 1024 * 1024}\r\n\r\n${preamble}`)
    socket.write(Buffer.alloc(1024 * 1024, 7))
    let writing: string[] = []
    for (let i = 0; i < 200; i++) {
      writing = await staged(storage)
      if (writing.length === 1 && (await stat(join(storage, 'blobs', 'tmp', writing[0]!))).size === 1024 * 1024) break
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    t.equal(writing.length, 1, 'the server stages the upload as it arrives')
    first.child.kill('SIGKILL')
    await first.exited
    socket.destroy()
    t.same(await staged(storage), writing, 'a killed server leaves its staged file behind')

    const second = await listeningServer(t, env)
    t.match(second.output(), /"staged":1[,}].*"msg":"swept the blob store"/, 'swept before listening')
    t.same(await staged(storage), [], 'the next start swept it')
    t.same(await readdir(join(storage, 'blobs', 'sha256')).catch(() => []), [], 'no blob')
    const listed = await fetch(`${second.url}${data}`, { headers: admin })
    t.same(await listed.json(), {}, 'no item')
  })
}
