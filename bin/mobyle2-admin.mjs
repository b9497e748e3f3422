#!/usr/bin/env node
// The admin command line as an installed binary: loads the TypeScript sources through tsx.
import { register } from 'tsx/esm/api'

register()
process.env.MOBYLE2_CLI = '1'
await import('../src/cli.ts')
