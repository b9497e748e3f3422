/** What the server (src/main.ts) and the worker (src/worker.ts) do alike before they start: refuse clearly, or read their configuration. */
import { ConfigError, loadConfig, type Config } from './config.ts'

/** Says on stderr, in one line, why `program` cannot start, and exits 1. */
export function fail (program: string, message: string): never {
  process.stderr.write(`${program}: ${message}\n`)
  process.exit(1)
}

/** The configuration from the environment, or the process stops saying which variable is wrong. */
export function configOrFail (program: string): Config {
  try {
    return loadConfig()
  } catch (error) {
    if (error instanceof ConfigError) fail(program, error.message)
    throw error
  }
}
