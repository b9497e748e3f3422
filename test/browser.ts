/**
 * The Chromium that browser tests drive, in this order: CHROMIUM_PATH if set;
 * else Debian's /usr/bin/chromium if installed; else the build that the npm
 * package @sparticuz/chromium carries in its tarball (for x86_64 Linux), so that
 * `npm ci && npm test` needs no browser on the machine. CHROMIUM_PATH=npm picks
 * the npm build even where Debian's is installed.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { chromium, type BrowserContext } from 'playwright-core'

interface Test { teardown: (fn: () => unknown) => void, comment: (...message: unknown[]) => void }

interface Candidate { name: string, options: (scratch: string) => Promise<{ executablePath: string, env?: Record<string, string> }> }

const systemChromium = '/usr/bin/chromium'

// Without the networking switches Chromium keeps calling Google's hosts, which a closed
// network refuses. Not @sparticuz/chromium's own list: its --disable-web-security
// would switch off the CORS checks that the tests are about.
const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']

const npmChromium: Candidate = {
  name: '@sparticuz/chromium',
  options: async (scratch) => {
    const dir = join(scratch, 'npm-chromium')
    await mkdir(dir)
    // The package unpacks into os.tmpdir() and reuses whatever it finds there, even
    // half written: a TMPDIR of our own keeps each run apart. Only where it believes
    // it runs on AWS Lambda does it also unpack the libnss3 and libnspr4 it ships,
    // which a bare Debian lacks too. It reads both from the environment, and changes
    // the environment when it sees Lambda, hence a child process of its own.
    const unpack = 'const { default: chromium } = await import(process.argv[1]); process.stdout.write(await chromium.executablePath())'
    const { stdout: executablePath } = await promisify(execFile)(process.execPath,
      ['--input-type=module', '-e', unpack, import.meta.resolve('@sparticuz/chromium')],
      { env: { ...process.env, TMPDIR: dir, AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs20.x' } })
      .catch((error: Error & { stderr?: string }) => {
        throw new Error(`unpacking it into ${dir} failed: ${error.stderr?.trim() || error.message}`)
      })
    // Its own fonts.conf names /tmp/fonts; this one names where the fonts are.
    const fontsConf = join(dir, 'fonts.conf')
    await writeFile(fontsConf, '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n' +
      `<fontconfig><dir>${join(dir, 'fonts', 'fonts')}</dir><cachedir>${join(dir, 'fonts-cache')}</cachedir></fontconfig>\n`)
    return { executablePath, env: { LD_LIBRARY_PATH: join(dir, 'al2023', 'lib'), FONTCONFIG_FILE: fontsConf } }
  }
}

function candidates (): Candidate[] {
  const chosen = process.env.CHROMIUM_PATH
  if (chosen === 'npm') return [npmChromium]
  if (chosen !== undefined && chosen !== '') return [{ name: 'CHROMIUM_PATH', options: async () => ({ executablePath: chosen }) }]
  const found: Candidate[] = existsSync(systemChromium) ? [{ name: "Debian's chromium", options: async () => ({ executablePath: systemChromium }) }] : []
  return [...found, npmChromium]
}

/** A headless Chromium with a fresh profile, closed and removed, with everything it unpacked, when `t` ends. */
export async function launchChromium (t: Test): Promise<BrowserContext> {
  const scratch = await mkdtemp(join(tmpdir(), 'mobyle2-chromium-'))
  let context: BrowserContext | undefined
  t.teardown(async () => {
    await context?.close()
    await rm(scratch, { recursive: true, force: true })
  })
  const failures: string[] = []
  for (const candidate of candidates()) {
    try {
      const { executablePath, env } = await candidate.options(scratch)
      context = await chromium.launchPersistentContext(await mkdtemp(join(scratch, 'profile-')),
        { executablePath, args, headless: true, env: { ...process.env, ...env } })
      t.comment(`browser: ${executablePath} (${candidate.name})`)
      return context
    } catch (error) {
      failures.push(`Tried ${candidate.name}: ${(error as Error).message.trim()}`)
    }
  }
  throw new Error(`No Chromium could be launched.\n${failures.join('\n')}\n` +
    'To choose one, set CHROMIUM_PATH to a Chromium binary, or to "npm" for the build of the devDependency ' +
    '@sparticuz/chromium (`npm ci` installs it); or install Debian\'s with `apt-get install -y chromium`.')
}
