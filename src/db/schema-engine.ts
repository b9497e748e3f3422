/**
 * Prisma's schema engine, compiled to WebAssembly, driven over a driver adapter.
 *
 * Prisma's native engines are downloaded from a host this project may not reach,
 * so migrations are created (`diff`) and applied (`applyMigrations`, which keeps
 * `_prisma_migrations` exactly as `prisma migrate deploy` does) by the WASM build
 * that ships on the npm registry.
 */
import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { bindMigrationAwareSqlAdapterFactory, type SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils'
import * as bindings from '@prisma/schema-engine-wasm/schema_engine_bg'
import type { MigrationList, SchemaEngine } from '@prisma/schema-engine-wasm/schema_engine_bg'

let loaded = false

// @types/node 20 does not declare the WebAssembly global; this is the part used here.
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports: Record<string, unknown>) => { exports: Record<string, unknown> }
}

async function loadWasm (): Promise<void> {
  if (loaded) return
  // The package's ESM entry imports the .wasm file directly, which Node 20 cannot do;
  // instantiate it by hand and hand the exports to the JS glue.
  const url = new URL('./schema_engine_bg.wasm', import.meta.resolve('@prisma/schema-engine-wasm/schema_engine_bg'))
  const module = new WebAssembly.Module(await readFile(url))
  const instance = new WebAssembly.Instance(module, { './schema_engine_bg.js': bindings })
  bindings.__wbg_set_wasm(instance.exports)
  ;(instance.exports.__wbindgen_start as () => void)()
  loaded = true
}

export async function openSchemaEngine (
  factory: SqlMigrationAwareDriverAdapterFactory,
  datamodel: { path: string, content: string } | undefined,
  log: (message: string) => void = () => {}
): Promise<SchemaEngine> {
  await loadWasm()
  const bound = bindMigrationAwareSqlAdapterFactory(factory)
  // The engine calls these as plain functions, not as methods.
  const adapter = {
    provider: bound.provider,
    adapterName: bound.adapterName,
    connect: bound.connect.bind(bound),
    connectToShadowDb: bound.connectToShadowDb.bind(bound)
  }
  return await bindings.SchemaEngine.new(
    { datamodels: datamodel === undefined ? undefined : [[datamodel.path, datamodel.content]] },
    log,
    adapter
  )
}

export const migrationsDir = new URL('../../prisma/migrations/', import.meta.url)
export const schemaFile = new URL('../../prisma/schema.prisma', import.meta.url)

/** Reads prisma/migrations the way Prisma's CLI does, for the engine. */
export async function readMigrations (dir: URL = migrationsDir): Promise<MigrationList> {
  const baseDir = dir.pathname
  const entries = await readdir(dir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return []
    throw error
  })
  const names = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort()
  const migrationDirectories = await Promise.all(names.map(async (name) => {
    const path = join(baseDir, name, 'migration.sql')
    const content = await readFile(path, 'utf8')
      .then((value) => ({ tag: 'ok' as const, value }))
      .catch((error: Error) => ({ tag: 'error' as const, value: error.message }))
    return { path: name, migrationFile: { path: 'migration.sql', content } }
  }))
  const lockPath = join(baseDir, 'migration_lock.toml')
  const lockContent = await readFile(lockPath, 'utf8').catch(() => null)
  return {
    baseDir,
    lockfile: { path: 'migration_lock.toml', content: lockContent },
    shadowDbInitScript: '',
    migrationDirectories
  }
}

export const noFilters = { externalTables: [], externalEnums: [] }
