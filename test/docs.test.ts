/**
 * The documentation holds together as files move and code changes: every relative
 * link of README.md, docs/*.md and bench/README.md reaches a file, and the heading it
 * names (GitHub's anchors); the configuration table lists exactly the variables
 * src/config.ts reads; README.md stays short enough to be read first, and leads to
 * every page of docs/. No database, no server.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, extname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { ConfigSchema } from '../src/config.ts'

const root = resolve(fileURLToPath(new URL('..', import.meta.url)))
const docsDir = join(root, 'docs')
const documents = ['README.md', 'bench/README.md',
  ...readdirSync(docsDir).filter((name) => name.endsWith('.md')).sort().map((name) => `docs/${name}`)]

const read = (file: string): string => readFileSync(join(root, file), 'utf8')

/** The lines of a markdown file with fenced code blocks blanked, so that line numbers still match. */
function outsideCode (markdown: string): string[] {
  let fence: string | undefined
  return markdown.split('\n').map((line) => {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1]
    if (fence === undefined) {
      if (marker !== undefined) fence = marker
      return fence === undefined ? line : ''
    }
    if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker) fence = undefined
    return ''
  })
}

/** GitHub's anchor for a heading (github-slugger): lowercase, punctuation but `-` and `_` dropped, spaces to `-`. */
function slug (heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
  return text.toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-')
}

/** Every anchor a markdown file's ATX headings give, repeated headings numbered -1, -2 … as GitHub does. */
function anchors (markdown: string): Set<string> {
  const taken = new Map<string, number>()
  const found = new Set<string>()
  for (const line of outsideCode(markdown)) {
    const heading = /^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/.exec(line)?.[1]
    if (heading === undefined) continue
    const base = slug(heading)
    let anchor = base
    while (taken.has(anchor)) {
      const count = (taken.get(base) ?? 0) + 1
      taken.set(base, count)
      anchor = `${base}-${count}`
    }
    taken.set(anchor, 0)
    found.add(anchor)
  }
  return found
}

interface Link { line: number, text: string, target: string }

/** Inline links outside code: code spans are dropped first, so `[x](y)` in backticks is no link. */
function links (markdown: string): Link[] {
  const found: Link[] = []
  outsideCode(markdown).forEach((raw, index) => {
    const line = raw.replace(/(`+)(?:.*?[^`])?\1(?!`)/g, '')
    for (const match of line.matchAll(/\[((?:[^\]\\]|\\.)*)\]\(\s*<?([^()\s<>]*)>?(?:\s+"[^"]*")?\s*\)/g)) {
      found.push({ line: index + 1, text: match[1]!, target: match[2]! })
    }
  })
  return found
}

/** Why a relative link does not resolve, or undefined when it does. */
function brokenLink (from: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined
  const hash = target.indexOf('#')
  const path = hash === -1 ? target : target.slice(0, hash)
  const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1))
  const file = path === '' ? join(root, from) : resolve(dirname(join(root, from)), decodeURIComponent(path))
  const shown = relative(root, file)
  if (file !== root && !file.startsWith(root + sep)) return `${path} leaves the repository`
  if (!existsSync(file)) return `no file ${shown}`
  if (anchor === undefined) return undefined
  if (extname(file) !== '.md') {
    return /^L\d+(-L\d+)?$/.test(anchor) ? undefined : `#${anchor}: ${shown} is not markdown, only #L<line> anchors work there`
  }
  return anchors(readFileSync(file, 'utf8')).has(anchor) ? undefined : `no heading #${anchor} in ${shown}`
}

t.test('anchors follow GitHub\'s rules', async (t) => {
  t.same([...anchors('# Reads from memory\n## `GET /servers/`, and more!\n## Errors\n## Errors\n### Errors\n```\n# not a heading\n```\n')],
    ['reads-from-memory', 'get-servers-and-more', 'errors', 'errors-1', 'errors-2'])
  t.equal(slug('JSON-RPC 2.0'), 'json-rpc-20')
  t.equal(slug('Faults, and what clients see'), 'faults-and-what-clients-see')
  t.equal(slug('`LOG_LEVEL` and [links](x.md)'), 'log_level-and-links')
  t.same(links('[a](b.md#c) `[no](link.md)` [web](https://example.org)\n```\n[no](code.md)\n```\n'),
    [{ line: 1, text: 'a', target: 'b.md#c' }, { line: 1, text: 'web', target: 'https://example.org' }])
})

for (const document of documents) {
  t.test(`the links of ${document} resolve`, async (t) => {
    const found = links(read(document))
    for (const link of found) {
      const why = brokenLink(document, link.target)
      if (why !== undefined) t.fail(`${document}:${link.line}: [${link.text}](${link.target}): ${why}`)
    }
    t.pass(`${found.length} links`)
  })
}

/** The variables of each table headed `variable | default | meaning`, as the backticked names of its first column. */
function configurationTables (markdown: string): string[][] {
  const tables: string[][] = []
  const lines = outsideCode(markdown)
  const cells = (line: string) => line.trim().replace(/^\||\|$/g, '').split('|').map((cell) => cell.trim())
  lines.forEach((line, index) => {
    if (cells(line).join(' | ') !== 'variable | default | meaning' || !/^\s*\|?\s*:?-+/.test(lines[index + 1] ?? '')) return
    const names: string[] = []
    for (const row of lines.slice(index + 2)) {
      if (!row.trim().startsWith('|')) break
      for (const match of cells(row)[0]!.matchAll(/`([A-Za-z_][A-Za-z0-9_]*)`/g)) names.push(match[1]!)
    }
    tables.push(names)
  })
  return tables
}

const configured = Object.keys(ConfigSchema.properties).sort()

for (const [document, required] of [['docs/configuration.md', true], ['README.md', false]] as const) {
  t.test(`the configuration table of ${document} lists exactly what src/config.ts reads`, async (t) => {
    const tables = configurationTables(read(document))
    if (required) t.equal(tables.length, 1, `${document} has one table headed | variable | default | meaning |`)
    else if (tables.length === 0) t.pass(`${document} has no configuration table of its own`)
    for (const listed of tables) {
      const missing = configured.filter((name) => !listed.includes(name))
      const extra = listed.filter((name) => !configured.includes(name))
      const twice = listed.filter((name, index) => listed.indexOf(name) !== index)
      t.same(missing, [], `${document} lacks ${missing.join(', ') || 'nothing'} (read by src/config.ts)`)
      t.same(extra, [], `${document} lists ${extra.join(', ') || 'nothing'} beyond src/config.ts's variables`)
      t.same(twice, [], `${document} lists ${twice.join(', ') || 'nothing'} more than once`)
    }
  })
}

t.test('README.md is at most 200 lines and links to every page of docs/', async (t) => {
  const readme = read('README.md')
  const lines = readme.split('\n').length - (readme.endsWith('\n') ? 1 : 0)
  t.ok(lines <= 200, `README.md has ${lines} lines, at most 200 (move the rest into docs/)`)
  const targets = new Set(links(readme).map((link) => link.target.split('#')[0]))
  for (const document of documents.filter((name) => name.startsWith('docs/'))) {
    t.ok(targets.has(document), `README.md links to ${document}`)
  }
})

t.test('each page of docs/ starts with its title and a one-line summary', async (t) => {
  for (const document of documents.filter((name) => name.startsWith('docs/'))) {
    const [title, blank, summary, after] = read(document).split('\n')
    t.ok(/^# \S/.test(title ?? '') && blank === '' && (summary ?? '').trim() !== '' && after === '',
      `${document}: "# Title", a blank line, one line of summary, a blank line`)
  }
})
