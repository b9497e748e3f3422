/**
 * src/executor/workdir.ts: staged input names that are safe and distinct; output
 * globs that find files in the working directory and nothing outside it, however
 * the program laid out its links.
 */
import { mkdir, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { globOutputs, safeFileName, stagedNames } from '../../src/executor/workdir.ts'
import { tempDir } from '../helper.ts'

t.test('safe file names', async (t) => {
  const cases: Array<[string, string]> = [
    ['reads.fastq', 'reads.fastq'],
    ['my reads (1).fq', 'my_reads__1_.fq'],
    ['../../etc/passwd', '___.._etc_passwd'],
    ['..', '__'],
    ['.', '_'],
    ['.bashrc', '_bashrc'],
    ['--help', '__help'],
    ['-rf', '_rf'],
    ['~root', '_root'],
    ['a/b\\c', 'a_b_c'],
    ['tab\there\nnew\u0000nul', 'tab_here_new_nul'],
    ['*.txt', '_.txt'],
    ['$(id);`id`', '__id___id_'],
    ['séquences.fa', 'séquences.fa'],
    ['se\u0301quences.fa', 'séquences.fa'],
    ['', 'input'],
    ['genome+v2.fa', 'genome+v2.fa']
  ]
  for (const [name, safe] of cases) t.equal(safeFileName(name), safe, JSON.stringify(name))
  const long = safeFileName(`${'é'.repeat(300)}.fastq`)
  t.ok(Buffer.byteLength(long) <= 200 && long.endsWith('.fastq'), 'at most 200 bytes, the extension kept')
  for (const name of ['a'.repeat(1000), '/'.repeat(300), '.'.repeat(300)]) {
    const safe = safeFileName(name)
    t.ok(safe.length > 0 && Buffer.byteLength(safe) <= 200 && !safe.includes('/') && !/^[.-]/.test(safe), `${name.slice(0, 10)}…`)
  }
})

t.test('staged names are distinct and avoid the reserved ones', async (t) => {
  const names = stagedNames([
    { id: 1, name: 'reads.fastq' },
    { id: 2, name: 'reads.fastq' },
    { id: 3, name: 'reads fastq' },
    { id: 4, name: 'reads_fastq' },
    { id: 1, name: 'reads.fastq' },
    { id: 5, name: 'out.txt' },
    { id: 6, name: 'archive.tar.gz' },
    { id: 7, name: 'archive.tar.gz' }
  ], ['out.txt', 'err.txt'])
  t.same([...names], [
    [1, 'reads.fastq'], [2, 'reads_2.fastq'], [3, 'reads_fastq'], [4, 'reads_fastq_2'],
    [5, 'out_2.txt'], [6, 'archive.tar.gz'], [7, 'archive_2.tar.gz']
  ], 'an item given twice is staged once; the others numbered; the streams\' names kept free')
})

t.test('output globs find files inside the working directory only', async (t) => {
  const dir = await tempDir(t)
  const work = join(dir, 'work')
  const outside = join(dir, 'outside')
  await mkdir(join(work, 'sub'), { recursive: true })
  await mkdir(outside)
  await writeFile(join(outside, 'secret.txt'), 'secret')
  await writeFile(join(work, 'a.txt'), 'a')
  await writeFile(join(work, 'b.log'), 'b')
  await writeFile(join(work, '.hidden.txt'), 'h')
  await writeFile(join(work, 'sub', 'c.txt'), 'c')
  await symlink(join(outside, 'secret.txt'), join(work, 'link.txt'))
  await symlink('../outside/secret.txt', join(work, 'relative.txt'))
  await symlink('a.txt', join(work, 'inner.txt'))
  await symlink(outside, join(work, 'dirlink'))
  await symlink('/', join(work, 'root'))
  await symlink('/nonexistent', join(work, 'dangling.txt'))
  await mkdir(join(work, 'adir.txt'))

  const found = async (patterns: string[]): Promise<{ files: string[], refused: string[] }> => {
    const { files, refused } = await globOutputs(work, patterns)
    for (const file of files) t.ok(file.realPath.startsWith(work), `${file.path} is read from inside`)
    return { files: files.map((file) => file.path), refused: refused.map((r) => `${r.path}: ${r.reason}`) }
  }
  t.same(await found(['*.txt']), {
    files: ['a.txt', 'inner.txt'],
    refused: ['link.txt: leads outside the working directory', 'relative.txt: leads outside the working directory']
  }, 'a link inside is followed, links out are refused, a dangling link and a directory are no files, a hidden file is not matched')
  t.same(await found(['a.txt', '*.txt', 'b.*']), {
    files: ['a.txt', 'b.log', 'inner.txt'],
    refused: ['link.txt: leads outside the working directory', 'relative.txt: leads outside the working directory']
  }, 'each file once, in order of path')
  t.same(await found(['dirlink/*']), { files: [], refused: ['dirlink/secret.txt: leads outside the working directory'] }, 'a directory link out')
  t.same((await found(['root/etc/passwd'])).files, [], 'a link to / leads nowhere')
  t.same(await found(['sub/*.txt']), { files: ['sub/c.txt'], refused: [] })
  t.same((await found(['.*'])).files, ['.hidden.txt'], 'a pattern that says so finds hidden files')
  t.same((await found(['{a,b}.txt'])).files, [], 'no braces, as in Python')
  t.same(await found(['/etc/passwd', '../outside/*', 'x/../../*']), {
    files: [],
    refused: [
      "/etc/passwd: the glob is an absolute path: outputs are found in the job's working directory only",
      '../outside/*: the glob climbs out of the working directory (..): outputs are found in it only',
      'x/../../*: the glob climbs out of the working directory (..): outputs are found in it only'
    ]
  }, 'patterns that would leave are checked again, and never run')
})
