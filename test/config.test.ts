import t from 'tap'
import { corsOrigins, loadConfig, publicUrl } from '../src/config.ts'

t.test('defaults', async (t) => {
  const config = loadConfig({})
  t.equal(config.HOST, '127.0.0.1')
  t.equal(config.PORT, 8080)
  t.equal(config.DATA_DIR, './data')
  t.equal(config.DATABASE_URL, undefined)
  t.equal(config.LOGIN_MAX_FAILURES, 4)
  t.equal(config.LOGIN_MAX_ADDRESS_FAILURES, 20)
  t.equal(config.LOGIN_USERNAME_SLOW_AFTER, 20)
  t.equal(config.LOGIN_USERNAME_MAX_DELAY_SECONDS, 60)
  t.equal(config.TRUST_PROXY, false)
  t.same(corsOrigins(config), [])
})

t.test('values are converted and checked', async (t) => {
  const config = loadConfig({ PORT: '9000', TRUST_PROXY: 'true', CORS_ORIGINS: 'http://a.example, http://b.example' })
  t.equal(config.PORT, 9000)
  t.equal(config.TRUST_PROXY, true)
  t.same(corsOrigins(config), ['http://a.example', 'http://b.example'])
})

t.test('a bad value names the variable', async (t) => {
  t.throws(() => loadConfig({ PORT: 'eighty' }), { name: 'ConfigError', message: /PORT="eighty"/ })
  t.throws(() => loadConfig({ PORT: '70000' }), { message: /PORT="70000"/ })
  t.throws(() => loadConfig({ DATABASE_URL: 'mysql://x' }), { message: /DATABASE_URL/ })
  t.throws(() => loadConfig({ LOG_LEVEL: 'loud' }), { message: /LOG_LEVEL="loud"/ })
  t.throws(() => loadConfig({ LOGIN_MAX_ADDRESS_FAILURES: '0' }), { message: /LOGIN_MAX_ADDRESS_FAILURES="0"/ })
  t.throws(() => loadConfig({ LOGIN_USERNAME_MAX_DELAY_SECONDS: 'soon' }), { message: /LOGIN_USERNAME_MAX_DELAY_SECONDS="soon"/ })
  t.throws(() => loadConfig({ MOBYLE_ADMIN_USERNAME: 'admin' }), { message: /must be set together/ })
  t.throws(() => loadConfig({ MOBYLE_ADMIN_USERNAME: 'admin', MOBYLE_ADMIN_PASSWORD: 'short' }), { message: /MOBYLE_ADMIN_PASSWORD/ })
})

t.test('federation: this server\'s name and address, and the limits of a sync', async (t) => {
  const config = loadConfig({})
  t.equal(config.SERVER_NAME, 'local')
  t.equal(publicUrl(config), 'http://127.0.0.1:8080')
  t.equal(publicUrl(loadConfig({ HOST: '::1', PORT: '9000' })), 'http://[::1]:9000')
  t.equal(publicUrl(loadConfig({ PUBLIC_URL: 'https://mobyle.example.org/' })), 'https://mobyle.example.org', 'no trailing slash')
  t.same([config.SYNC_INTERVAL_SECONDS, config.SYNC_CONNECT_TIMEOUT_SECONDS, config.SYNC_TIMEOUT_SECONDS, config.SYNC_MAX_REDIRECTS,
    config.SYNC_MAX_BYTES, config.SYNC_MAX_SERVICES, config.PEER_ALLOWLIST], [0, 5, 30, 3, 16 * 1024 * 1024, 10_000, ''])
  t.throws(() => loadConfig({ SERVER_NAME: 'a::b' }), { message: /SERVER_NAME="a::b"/ })
  t.throws(() => loadConfig({ PUBLIC_URL: 'ftp://mobyle.example.org' }), { message: /PUBLIC_URL="ftp:\/\/mobyle.example.org"/ })
  t.throws(() => loadConfig({ SYNC_INTERVAL_SECONDS: '-1' }), { message: /SYNC_INTERVAL_SECONDS="-1"/ })
  t.throws(() => loadConfig({ SYNC_TIMEOUT_SECONDS: '0' }), { message: /SYNC_TIMEOUT_SECONDS="0"/ })
  t.throws(() => loadConfig({ PEER_ALLOWLIST: 'peer.example.org, *.bad*.org' }), { name: 'ConfigError', message: /PEER_ALLOWLIST entry "\*\.bad\*\.org"/ })
})

t.test('PEER_ALLOWLIST takes addresses and ranges; a malformed entry is named with what is wrong', async (t) => {
  t.notOk(loadConfig({ PEER_ALLOWLIST: 'localhost, 127.0.0.1, 10.0.0.0/8, fd00::/8, [::1]:8080' }).peerAllowlist.empty)
  for (const [entry, why] of [
    ['10.0.0.0/33', 'the prefix length of an IPv4 range must be a number from 0 to 32'],
    ['fd00::/129', 'the prefix length of an IPv6 range must be a number from 0 to 128'],
    ['10.0.0.0/8:8080', 'a range takes no port'],
    ['peer.example.org/24', 'give a host without a path, or an address range as in 10.0.0.0/8 or fd00::/8'],
    ['fd00::1', 'an IPv6 address must be in brackets, as in [::1]:8080']
  ] as const) {
    t.throws(() => loadConfig({ PEER_ALLOWLIST: `localhost, ${entry}` }), { name: 'ConfigError', message: `PEER_ALLOWLIST entry "${entry}": ${why}` }, entry)
  }
})

t.test('data content: where it is stored, and its limits', async (t) => {
  const config = loadConfig({})
  t.equal(config.STORAGE_DIR, undefined, 'DATA_DIR unless set')
  t.same([config.DATA_MAX_BYTES, config.DATA_PROJECT_QUOTA_BYTES, config.DATA_MAX_PARTS, config.DATA_MAX_FIELD_BYTES, config.DATA_SWEEP_INTERVAL_SECONDS],
    [1024 ** 3, 10 * 1024 ** 3, 10, 16 * 1024, 3600])
  t.equal(loadConfig({ STORAGE_DIR: '/srv/mobyle2', DATA_MAX_BYTES: '5000000000' }).DATA_MAX_BYTES, 5_000_000_000, 'beyond 32 bits')
  t.throws(() => loadConfig({ DATA_MAX_BYTES: '-1' }), { message: /DATA_MAX_BYTES="-1"/ })
  t.throws(() => loadConfig({ DATA_PROJECT_QUOTA_BYTES: 'lots' }), { message: /DATA_PROJECT_QUOTA_BYTES="lots"/ })
  t.throws(() => loadConfig({ DATA_MAX_PARTS: '0' }), { message: /DATA_MAX_PARTS="0"/ })
  t.throws(() => loadConfig({ DATA_MAX_FIELD_BYTES: '10' }), { message: /DATA_MAX_FIELD_BYTES="10"/ })
  t.throws(() => loadConfig({ DATA_SWEEP_INTERVAL_SECONDS: '-5' }), { message: /DATA_SWEEP_INTERVAL_SECONDS="-5"/ })
})

t.test('jobs: the executor, and Slurm\'s options', async (t) => {
  const config = loadConfig({})
  t.equal(config.JOB_EXECUTOR, 'local')
  t.same([config.JOB_SLURM_PARTITION, config.JOB_SLURM_ACCOUNT, config.JOB_SLURM_QOS, config.JOB_SLURM_POLL_MS], [undefined, undefined, undefined, 2000])
  const slurm = loadConfig({ JOB_EXECUTOR: 'slurm', JOB_SLURM_PARTITION: 'short,long', JOB_SLURM_ACCOUNT: 'mobyle', JOB_SLURM_QOS: 'normal', JOB_SLURM_POLL_MS: '500' })
  t.same([slurm.JOB_EXECUTOR, slurm.JOB_SLURM_PARTITION, slurm.JOB_SLURM_ACCOUNT, slurm.JOB_SLURM_QOS, slurm.JOB_SLURM_POLL_MS], ['slurm', 'short,long', 'mobyle', 'normal', 500])
  t.throws(() => loadConfig({ JOB_EXECUTOR: 'pbs' }), { message: /JOB_EXECUTOR="pbs"/ })
  t.throws(() => loadConfig({ JOB_SLURM_PARTITION: 'short --wrap=id' }), { message: /JOB_SLURM_PARTITION="short --wrap=id"/ })
  t.throws(() => loadConfig({ JOB_SLURM_POLL_MS: '10' }), { message: /JOB_SLURM_POLL_MS="10"/ })
})
