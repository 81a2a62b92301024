import { readdirSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DEFAULTS, closestName, isKnownVariable, readSettings } from './settings.ts'
import { checkEnvLines } from './_env-file.ts'

const REPO = resolve(import.meta.dirname, '../../..')

describe('readSettings()', () => {
  it('works: defaults when nothing is set', () => {
    expect(readSettings({}, {})).toEqual({
      settings: {
        runtime: 'auto',
        projectName: DEFAULTS.COMPOSE_PROJECT_NAME,
        timeoutMs: 60_000,
        composeFile: 'compose/docker-compose.yml',
        confFile: 'conf/redis.conf',
        dataDir: '.data',
        nodeTimeoutMs: undefined,
        publishBusPorts: false,
        backupDir: 'backups',
        backupKeep: undefined,
        backupKeepDays: undefined,
        seeds: [],
        passwordFile: undefined,
        secretsDir: 'secrets',
        user: 'admin',
        acl: { appKeyPatterns: ['*'], defaultUser: false },
        tls: false,
      },
      problems: [],
      invalid: new Set(),
      notices: [],
    })
  })

  it('ACL settings: key patterns split on blanks, user names checked; the retired REDIS_PASSWORD_FILE gets a notice', () => {
    const { settings, problems, notices } = readSettings({ RC_APP_KEY_PATTERN: ' app:* jobs:{*} ', RC_DEFAULT_USER: 'yes', REDIS_PASSWORD_FILE: '../secrets/redis_password.txt' }, { RC_USER: 'ops' })
    expect(problems).toEqual([])
    expect(settings).toMatchObject({ user: 'ops', acl: { appKeyPatterns: ['app:*', 'jobs:{*}'], defaultUser: true } })
    expect(notices).toEqual([expect.stringMatching(/^REDIS_PASSWORD_FILE is no longer read: each ACL user has its own secret/)])
    expect(readSettings({}, { RC_USER: 'a b', RC_APP_KEY_PATTERN: "it's" }).problems).toEqual([
      "RC_USER='a b' is not a user name (letters, digits, _ . -)",
      `RC_APP_KEY_PATTERN='it's' is not a list of key patterns (like app:* or "app:* jobs:*", space separated)`,
    ])
  })

  it('the process environment wins over .env; an empty value means unset', () => {
    const { settings, problems } = readSettings({ RC_TIMEOUT_MS: '5000', RC_RUNTIME: 'local' }, { RC_TIMEOUT_MS: '7000', RC_RUNTIME: '' })
    expect(problems).toEqual([])
    expect(settings).toMatchObject({ timeoutMs: 7000, runtime: 'auto' })
  })

  it('reads RC_PUBLISH_BUS_PORTS as a flag and rejects anything else', () => {
    expect(readSettings({}, { RC_PUBLISH_BUS_PORTS: 'yes' }).settings.publishBusPorts).toBe(true)
    expect(readSettings({}, { RC_PUBLISH_BUS_PORTS: '0' }).settings.publishBusPorts).toBe(false)
    expect(readSettings({}, { RC_PUBLISH_BUS_PORTS: 'on please' }).problems).toEqual(["RC_PUBLISH_BUS_PORTS='on please': expected 1 or 0 (or true/false, yes/no)"])
  })

  it('reads the backup settings; retention counts are whole numbers of at least 1', () => {
    expect(readSettings({ RC_BACKUP_DIR: '/srv/backups' }, { RC_BACKUP_KEEP: '7', RC_BACKUP_KEEP_DAYS: '30' }).settings).toMatchObject({ backupDir: '/srv/backups', backupKeep: 7, backupKeepDays: 30 })
    expect(readSettings({}, { RC_BACKUP_KEEP: '0' }).problems).toEqual(["RC_BACKUP_KEEP='0' is not a count (a whole number, at least 1)"])
  })

  it('reads RC_SEEDS into addresses (IPv4, [IPv6], host names) and names a malformed list', () => {
    expect(readSettings({ RC_SEEDS: '10.0.0.5:6379, [fd00::1]:7000,redis-a.internal:6380' }, {}).settings.seeds).toEqual([
      { host: '10.0.0.5', port: 6379 },
      { host: 'fd00::1', port: 7000 },
      { host: 'redis-a.internal', port: 6380 },
    ])
    for (const bad of ['10.0.0.5', '10.0.0.5:0', 'a:6379,,b:6379', 'http://a:6379', 'a:65536', 'a:06379']) {
      expect(readSettings({}, { RC_SEEDS: bad }).problems, bad).toEqual([`RC_SEEDS='${bad}' is not a seed list (host:port[,host:port...], like 10.0.0.5:6379,10.0.0.6:6379)`])
    }
  })

  it('checks the compose file\'s variables too, and collects every problem', () => {
    const { problems, invalid } = readSettings(
      { REDIS0_IP: '172.19.0.300', INFRA_NET_SUBNET: '172.19.0.0', REDIS_IMAGE: 'redis 8', REDIS_INIT_TIMEOUT_S: '1m', REDIS5_PORT: '06384' },
      { DEFAULT_URL: 'https://x.local' },
    )
    expect(problems).toEqual([
      "REDIS0_IP='172.19.0.300' is not an IPv4 address (like 172.19.0.60)",
      "INFRA_NET_SUBNET='172.19.0.0' is not an IPv4 subnet (like 172.19.0.0/16)",
      "REDIS_IMAGE='redis 8' is not an image reference (like redis:8.2.3-bookworm)",
      "REDIS_INIT_TIMEOUT_S='1m' is not a duration (a whole number of seconds, at least 1)",
      "REDIS5_PORT='06384' is not a port (an integer 1-65535)",
      "DEFAULT_URL='https://x.local' is not a host name (like hy-home.local)",
    ])
    expect([...invalid]).toContain('REDIS5_PORT')
  })

  it('leaves other software\'s REDIS* variables in the process environment alone', () => {
    expect(readSettings({}, { REDIS_URL: 'redis://x', REDISCLI_AUTH: 'pw', REDIS_PORT: 'abc' })).toMatchObject({ problems: [], notices: [] })
  })

  it('knows every variable the compose files and .env.example name', () => {
    const composeFiles = readdirSync(resolve(REPO, 'compose')).filter((f) => f.endsWith('.yml')).map((f) => `compose/${f}`)
    expect(composeFiles).toContain('compose/docker-compose.tls.yml')
    const texts = [...composeFiles, '.env.example'].map((f) => readFileSync(resolve(REPO, f), 'utf8'))
    const names = new Set(texts.flatMap((text) => [...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)|^#? ?([A-Z_][A-Z0-9_]*)=/gm)].map((m) => m[1] ?? m[2]!)))
    expect(names.size).toBeGreaterThan(30)
    expect([...names].filter((name) => !isKnownVariable(name))).toEqual([])
  })
})

describe('closestName()', () => {
  it('suggests the nearest known name for a typo, nothing for a stranger', () => {
    expect(closestName('RC_TIMOUT_MS')).toBe('RC_TIMEOUT_MS')
    expect(closestName('RC_PUBLISH_BUSPORTS')).toBe('RC_PUBLISH_BUS_PORTS')
    expect(closestName('REDIS4_BUS_PROT')).toBe('REDIS4_BUS_PORT')
    expect(closestName('RC_COLOUR_SCHEME')).toBeUndefined()
  })
})

describe('checkEnvLines()', () => {
  it('accepts blank lines, comments, export, spaces around =, CRLF and quoted values over several lines', () => {
    expect(checkEnvLines('# c\r\n\r\nexport A=1\r\nB = 2\r\nC="x\ny"\nD=\'\'\nE=`a`\n', '.env')).toEqual([])
  })

  it('reports a line without =, a bad name, a colon and an unclosed quote with file:line', () => {
    expect(checkEnvLines('A=1\nREDIS1_PORT\n1X=2\nB: 3\nC="open\n', '/x/.env')).toEqual([
      "/x/.env:2: 'REDIS1_PORT' is not NAME=value",
      "/x/.env:3: '1X' is not a variable name (letters, digits and _, not starting with a digit)",
      "/x/.env:4: 'B: 3' is not NAME=value",
      '/x/.env: a " quote is never closed',
    ])
  })
})
