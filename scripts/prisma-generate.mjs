#!/usr/bin/env node
// Runs `prisma generate` without downloading Prisma's native schema engine, which
// generate never runs but looks for: point it at any executable (this Node binary).
// Migrations use the WASM schema engine instead (src/db/schema-engine.ts).
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const cli = require.resolve('prisma/build/index.js')
const result = spawnSync(process.execPath, [cli, 'generate'], {
  stdio: 'inherit',
  env: {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
    CHECKPOINT_DISABLE: '1'
  }
})
process.exit(result.status ?? 1)
