#!/usr/bin/env node
// The admin command line as an installed binary: runs the build, as `npm start` runs the server.
import { existsSync } from 'node:fs'

if (!existsSync(new URL('../dist/cli.js', import.meta.url))) {
  process.stderr.write('mobyle2-admin: the command line is not built (no dist/cli.js): run npm run build\n')
  process.exit(1)
}
process.env.MOBYLE2_CLI = '1'
await import('../dist/cli.js')
