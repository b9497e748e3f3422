import { defineConfig } from 'prisma/config'

// Only `prisma generate` reads this file; migrations run through src/db/migrate.ts,
// which drives Prisma's WASM schema engine over the configured driver adapter.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' }
})
