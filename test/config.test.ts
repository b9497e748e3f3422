import t from 'tap'
import { corsOrigins, loadConfig } from '../src/config.ts'

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
