/**
 * Every public method of a domain service says what it is where it is written
 * (src/domain/read-model.ts): a read remembered, a write waited for (or, the
 * system's own, not), an uncached read or bookkeeping. Nothing is decided by a method's name: an undeclared method
 * would be neither remembered nor waited for, so the sources are read for it.
 */
import { readdir, readFile } from 'node:fs/promises'
import t from 'tap'
import ts from 'typescript'

const declaring = new Set(['reads', 'readsBookkeeping', 'writes', 'systemWrites', 'uncached', 'bookkeeping'])
const domainDir = new URL('../../src/domain/', import.meta.url)

/** The public async methods of each class that declares any, and how each is declared. */
async function domainMethods (): Promise<Array<{ where: string, decorators: string[] }>> {
  const found: Array<{ where: string, decorators: string[] }> = []
  for (const file of (await readdir(domainDir)).filter((name) => name.endsWith('.ts'))) {
    const source = ts.createSourceFile(file, await readFile(new URL(file, domainDir), 'utf8'), ts.ScriptTarget.Latest, true)
    for (const statement of source.statements) {
      if (!ts.isClassDeclaration(statement) || statement.name === undefined) continue
      const methods = statement.members.filter(ts.isMethodDeclaration).map((member) => ({
        member,
        modifiers: (ts.getModifiers(member) ?? []).map((m) => m.kind),
        decorators: (ts.getDecorators(member) ?? []).map((d) => d.expression.getText().replace(/\(.*$/s, ''))
      }))
      if (!methods.some(({ decorators }) => decorators.some((d) => declaring.has(d)))) continue
      for (const { member, modifiers, decorators } of methods) {
        // Private methods are only called inside the service, where nothing is remembered or waited for.
        if (!modifiers.includes(ts.SyntaxKind.AsyncKeyword) || modifiers.includes(ts.SyntaxKind.PrivateKeyword)) continue
        found.push({ where: `${file}: ${statement.name.text}.${member.name.getText()}`, decorators })
      }
    }
  }
  return found
}

t.test('every public method of a domain service declares whether it reads or writes, and what', async (t) => {
  const methods = await domainMethods()
  t.ok(methods.length > 50, `the domain services' public methods are found (${methods.length})`)
  const undeclared = methods.filter(({ decorators }) => decorators.filter((d) => declaring.has(d)).length !== 1)
  t.same(undeclared.map(({ where }) => where), [], 'each has exactly one of @reads, @readsBookkeeping, @writes, @systemWrites, @uncached, @bookkeeping')
})
