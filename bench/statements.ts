/**
 * The embedded database's cost per statement, side by side in one run: PGlite's own
 * `query` (six calls into its WebAssembly PostgreSQL: parse, describe, bind,
 * describe, execute, sync) against the one call src/db/pglite-one-trip.ts makes, on
 * the same database, interleaved. CPU time of this process (where PGlite runs) per
 * statement, and the ratio. See bench/README.md, "The embedded database".
 *
 *   npm run bench:statements
 */
import { PGlite } from '@electric-sql/pglite'
import { embeddedStartParams } from '../src/db/embedded-init.ts'
import { oneTripClient } from '../src/db/pglite-one-trip.ts'
import { median } from './stats.ts'

const statements: Array<{ name: string, sql: string, values: (i: number) => unknown[] }> = [
  { name: 'SELECT 1', sql: 'SELECT 1', values: () => [] },
  { name: 'a row by its key', sql: 'SELECT * FROM job WHERE id = $1', values: (i) => [i % 10_000 + 1] },
  { name: 'an UPDATE by key', sql: 'UPDATE job SET handle = $1 WHERE id = $2', values: (i) => [String(i), i % 10_000 + 1] },
  { name: 'an INSERT … RETURNING', sql: 'INSERT INTO job (name, inputs) VALUES ($1, $2) RETURNING id', values: (i) => [`job ${i}`, JSON.stringify({ n: i })] }
]
const perRun = 2000
const runs = 5

const pglite = new PGlite('memory://', { startParams: embeddedStartParams })
await pglite.waitReady
await pglite.exec(`CREATE TABLE job (id serial PRIMARY KEY, name text NOT NULL, state text NOT NULL DEFAULT 'queued', handle text, inputs jsonb);
  CREATE INDEX ON job (state, id);
  INSERT INTO job (name) SELECT 'job ' || g FROM generate_series(1, 10000) g;`)
const oneTrip = oneTripClient(pglite)
const ways = { query: pglite, 'one trip': oneTrip }

/** CPU microseconds per statement of `runs` of `statement` through `client`. */
async function cpuPerStatement (client: PGlite, statement: typeof statements[number]): Promise<number> {
  for (let i = 0; i < 200; i++) await client.query(statement.sql, statement.values(i))
  const from = process.cpuUsage()
  for (let i = 0; i < perRun; i++) await client.query(statement.sql, statement.values(i))
  const used = process.cpuUsage(from)
  return (used.user + used.system) / perRun
}

const rows: string[][] = []
for (const statement of statements) {
  const measured: Record<string, number[]> = { query: [], 'one trip': [] }
  for (let run = 0; run < runs; run++) {
    for (const [way, client] of Object.entries(ways)) measured[way]!.push(await cpuPerStatement(client, statement))
  }
  const query = median(measured.query!)
  const one = median(measured['one trip']!)
  rows.push([statement.name, query.toFixed(0), one.toFixed(0), (one / query).toFixed(2)])
}
await pglite.close()

const header = ['statement', 'query µs CPU', 'one trip µs CPU', 'one trip ÷ query']
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)))
const line = (cells: string[]): string => cells.map((cell, i) => i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)).join('  ')
process.stdout.write([line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n') + '\n')
process.stdout.write(`CPU of this process per statement: median of ${runs} interleaved runs of ${perRun} each, on an in-memory PGlite\n`)
