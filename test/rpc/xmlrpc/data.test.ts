/**
 * Data items over XML-RPC, through Python's xmlrpc.client, on both databases:
 * display() shows their content's metadata (size, sha256, media type, format,
 * uploader), filter() searches it, schema() types it; content itself is REST's.
 */
import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import t from 'tap'
import { emptySha256 } from '../../../src/storage/blob-store.ts'
import { password, seededApp } from '../../fixtures.ts'
import { databaseKinds } from '../../helper.ts'
import { listen, runCalls, type PythonCall } from './python.ts'

for (const kind of databaseKinds) {
  t.test(`${kind}: display, filter and schema of data`, async (t) => {
    const { app, domain, ...s } = await seededApp(t, kind)
    const url = await listen(app)
    const owner = s.actors.owner
    const bytes = randomBytes(4096)
    const sha256 = createHash('sha256').update(bytes).digest('hex')
    const uploaded = await domain.projects.addData(s.actors.contributor, s.projectId, { name: 'contigs.fa', description: 'assembled', format: 'format_1929' },
      { blob: await domain.projects.stageData(s.actors.contributor, s.projectId, Readable.from([bytes])), mediaType: 'text/x-fasta' })
    await domain.projects.addData(owner, s.projectId, { name: 'notes.txt', format: 'http://edamontology.org/format_2330' },
      { blob: await domain.projects.stageData(owner, s.projectId, Readable.from([Buffer.from('notes')])), mediaType: 'text/plain' })
    const ids = Object.fromEntries((await domain.projects.listData(owner, { project: s.projectId })).map((d) => [d.name, String(d.id)]))

    const call = (name: string, method: string, ...params: unknown[]): PythonCall => ({ name, method, params, user: 'watcher', password })
    const answers = await runCalls(url, [
      call('display', 'display', `data${uploaded.id}`),
      call('display some', 'display', `data${uploaded.id}`, 'size', 'sha256', 'media_type'),
      call('by size', 'filter', 'data', null, { size: String(bytes.length) }),
      call('by sizes', 'filter', 'data', null, { size: [0, 5] }),
      call('by a size that is no number', 'filter', 'data', null, { size: 'big' }),
      call('by sha256 prefix', 'filter', 'data', null, { sha256: sha256.slice(0, 12) }),
      call('by media type', 'filter', 'data', null, { media_type: 'TEXT/' }),
      call('by format short form', 'filter', 'data', null, { format: 'format_1929' }),
      // By id: a watcher may not look other users up by name.
      call('by uploader', 'filter', 'data', null, { uploader: String(s.ids.contributor) }),
      call('sorted by size descending', 'filter', 'data', null, {}, [['-', 'size']]),
      call('schema', 'schema'),
      { ...call('create with a format', 'create', 'data', `project=${s.projectId}`, 'name=made.fa', 'format=format_1929'), user: 'owner' },
      { ...call('create with a bad format', 'create', 'data', `project=${s.projectId}`, 'name=bad.fa', 'format=fasta'), user: 'owner' },
      { ...call('size is read-only', 'create', 'data', `project=${s.projectId}`, 'name=x', 'size=5'), user: 'owner' },
      { ...call('an outsider filters', 'filter', 'data', null, { format: 'format_' }), user: 'outsider' }
    ])
    t.match(answers.display, {
      result: {
        project: String(s.projectId),
        name: 'contigs.fa',
        description: 'assembled',
        size: bytes.length,
        sha256,
        media_type: 'text/x-fasta',
        format: 'http://edamontology.org/format_1929',
        uploader: String(s.ids.contributor)
      }
    })
    t.same(Object.keys((answers.display as { result: object }).result).sort(),
      ['creation', 'description', 'format', 'job', 'media_type', 'name', 'project', 'sha256', 'size', 'uploader'], 'every property, content\'s own included')
    t.same(answers['display some'], { result: { size: bytes.length, sha256, media_type: 'text/x-fasta' } })
    t.same(answers['by size'], { result: [ids['contigs.fa']] })
    t.same(answers['by sizes'], { result: [ids['reads.fastq'], ids['notes.txt']] })
    t.match(answers['by a size that is no number'], { fault: [400, /not a whole number/] })
    t.same(answers['by sha256 prefix'], { result: [ids['contigs.fa']] })
    t.same(answers['by media type'], { result: [ids['contigs.fa'], ids['notes.txt']] })
    t.same(answers['by format short form'], { result: [ids['contigs.fa']] }, 'the short form finds the IRI')
    t.same(answers['by uploader'], { result: [ids['contigs.fa']] })
    t.same(answers['sorted by size descending'], { result: [ids['contigs.fa'], ids['notes.txt'], ids['reads.fastq']] })
    t.match(answers.schema, { result: { data: [['creation', '<roundup.hyperdb.Date>'], ['description', '<roundup.hyperdb.String>'], ['format', '<roundup.hyperdb.String>'], ['job', '<roundup.hyperdb.Link to "job">'], ['media_type', '<roundup.hyperdb.String>'], ['name', '<roundup.hyperdb.String>'], ['project', '<roundup.hyperdb.Link to "project">'], ['sha256', '<roundup.hyperdb.String>'], ['size', '<roundup.hyperdb.Number>'], ['uploader', '<roundup.hyperdb.Link to "user">']] } })
    t.match(answers['create with a format'], { result: /^\d+$/ })
    const made = await domain.projects.getData(owner, Number((answers['create with a format'] as { result: string }).result))
    t.match(made, { name: 'made.fa', size: 0, sha256: emptySha256, format: 'http://edamontology.org/format_1929', uploader: s.ids.owner })
    t.match(answers['create with a bad format'], { fault: [400, /format/] })
    t.match(answers['size is read-only'], { fault: [400, /read-only/] })
    t.same(answers['an outsider filters'], { result: [] })
  })
}
