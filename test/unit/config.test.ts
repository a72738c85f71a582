import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig, requireDatabaseUrl, ZConfigEnv } from '@/lib/config'

function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    parseConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error(`parseConfig accepted ${JSON.stringify(env)}`)
}

describe('parseConfig', () => {
  it('fills every default from an empty environment', () => {
    expect(parseConfig({})).toEqual({
      nodeEnv: 'production',
      port: 3000,
      host: '0.0.0.0',
      publicUrl: 'http://localhost:3000',
      databaseUrl: undefined,
      dataDir: '.data',
      embeddedPgPort: 54329,
      authSecret: undefined,
      trustProxy: false,
      signIn: { maxAttempts: 5, windowSeconds: 60 },
      sessionTtlHours: 168,
      invitationTtlHours: 168,
      revokedTokenRetentionDays: 30,
      smtpUrl: undefined,
      mailFrom: 'Tenon <no-reply@localhost>',
      hostingZone: 'instances.localhost',
      runWorker: true,
      workerConcurrency: 4,
      logLevel: 'info',
      metricsToken: undefined,
      secretsKeys: undefined,
      ownerTag: 'tenon',
      vmDriver: 'local',
      localAppserverDir: '.data/appservers',
      appservers: {
        pollIntervalMs: 5000,
        provisionTimeoutMs: 1_200_000,
        configureTimeoutMs: 3_600_000,
        healthIntervalMs: 5000,
        healthRequestTimeoutMs: 5000,
        healthDeadlineMs: 900_000,
        drainMs: 300_000,
        rollbackKeep: 2,
        orphanGraceMs: 600_000,
        reconcileIntervalMs: 30_000,
      },
      resources: { retentionDays: 30, retryLimit: 6, exportDir: '.data/exports', exportS3: undefined, mysqldumpPath: 'mysqldump' },
      dns: undefined,
      domains: { resolvers: undefined, verificationDays: 7 },
      acme: undefined,
      certificates: { renewDays: 30, renewalCron: '17 3 * * *', alertDays: 14, lbKeys: undefined },
      alerts: { webhookUrl: undefined, emails: [] },
      crashPoint: undefined,
      ovh: undefined,
      nomad: undefined,
      providerTimeoutMs: 30_000,
      rolloutSchedule: { cron: undefined, minAgeDays: 7, concurrency: 5, failureBudgetPercent: 10 },
      consul: undefined,
      routing: { applyTimeoutMs: 30_000, agentStaleMs: 60_000 },
      lbAgent: {
        nodeName: undefined,
        httpPort: 80,
        httpsPort: 443,
        bindAddress: '0.0.0.0',
        configDir: '/etc/haproxy/tenon',
        masterSocket: '/run/haproxy-master.sock',
        statsSocket: '/run/haproxy/tenon.sock',
        haproxyBin: 'haproxy',
        heartbeatMs: 10_000,
        publicAddresses: [],
        runAs: undefined,
        socketGroup: undefined,
        syslog: undefined,
      },
    })
  })

  it('reads every variable when set', () => {
    const config = parseConfig({
      NODE_ENV: 'development',
      PORT: '8080',
      HOST: '127.0.0.1',
      PUBLIC_URL: 'https://console.example.org/',
      DATABASE_URL: 'postgresql://u:p@db:5432/tenon',
      DATA_DIR: '/var/lib/tenon',
      EMBEDDED_PG_PORT: '6000',
      AUTH_SECRET: 'x'.repeat(32),
      TRUST_PROXY: 'true',
      SIGN_IN_MAX_ATTEMPTS: '10',
      SIGN_IN_WINDOW_SECONDS: '300',
      SESSION_TTL_HOURS: '12',
      INVITATION_TTL_HOURS: '48',
      REVOKED_TOKEN_RETENTION_DAYS: '0',
      SMTP_URL: 'smtps://user:pass@mail.example.org:465',
      MAIL_FROM: 'Ops <ops@example.org>',
      HOSTING_ZONE: 'sites.example.org',
      RUN_WORKER: 'false',
      WORKER_CONCURRENCY: '16',
      LOG_LEVEL: 'debug',
      METRICS_TOKEN: 'm'.repeat(16),
      SECRETS_KEYS: `k1:${'A'.repeat(43)}=`,
      OWNER_TAG: 'acme-prod',
      VM_DRIVER: 'nomad',
      LOCAL_APPSERVER_DIR: '/srv/appservers',
      VM_POLL_INTERVAL_SECONDS: '0.5',
      PROVISION_TIMEOUT_SECONDS: '60',
      CONFIGURE_TIMEOUT_SECONDS: '120',
      HEALTH_CHECK_INTERVAL_SECONDS: '2',
      HEALTH_CHECK_TIMEOUT_SECONDS: '3',
      HEALTH_DEADLINE_SECONDS: '90',
      DRAIN_SECONDS: '10',
      ROLLBACK_KEEP: '0',
      ORPHAN_GRACE_SECONDS: '30',
      RECONCILE_INTERVAL_SECONDS: '15',
      RESOURCE_RETENTION_DAYS: '7',
      RESOURCE_RETRY_LIMIT: '2',
      ARCHIVE_EXPORT_DIR: '/backups/tenon',
      ARCHIVE_EXPORT_S3_CLUSTER: 's3-backups',
      ARCHIVE_EXPORT_S3_BUCKET: 'acme-tenon-exports',
      MYSQLDUMP_PATH: '/usr/bin/mariadb-dump',
      CRASH_POINT: 'appserver.after-create',
      OVH_ENDPOINT: 'ovh-ca',
      OVH_APPLICATION_KEY: 'ak',
      OVH_APPLICATION_SECRET: 'as',
      OVH_CONSUMER_KEY: 'ck',
      OVH_PROJECT_ID: 'p1',
      OVH_REGION: 'BHS5',
      OVH_FLAVOR_ID: 'f1',
      OVH_IMAGE_ID: 'i1',
      OVH_SSH_USER: 'debian',
      OVH_APPSERVER_PORT: '8080',
      OVH_SSH_KEY_SECRET: 's'.repeat(32),
      ANSIBLE_PLAYBOOK: 'playbooks/app.yml',
      ANSIBLE_RUN_DIR: '/var/lib/tenon/ansible',
      NOMAD_ADDR: 'https://nomad.example.org:4646',
      NOMAD_TOKEN: 'nt',
      NOMAD_DATACENTERS: 'dc1, dc2',
      NOMAD_REGION: 'eu',
      NOMAD_NAMESPACE: 'tenon',
      NOMAD_IMAGE: 'acme/openedx',
      NOMAD_CPU_MHZ: '1500',
      NOMAD_MEMORY_MB: '2048',
      PROVIDER_TIMEOUT_SECONDS: '10',
      CONSUL_HTTP_ADDR: 'https://consul.example.org:8501/',
      CONSUL_HTTP_TOKEN: 'ct',
      CONSUL_PREFIX: 'acme/tenon',
      ROUTING_APPLY_TIMEOUT_SECONDS: '45',
      LB_AGENT_STALE_SECONDS: '90',
      LB_NODE_NAME: 'lb-1',
      LB_HTTP_PORT: '8080',
      LB_HTTPS_PORT: '8443',
      LB_BIND_ADDRESS: '127.0.0.1',
      HAPROXY_CONFIG_DIR: '/srv/haproxy',
      HAPROXY_MASTER_SOCKET: '/run/m.sock',
      HAPROXY_STATS_SOCKET: '/run/s.sock',
      HAPROXY_BIN: '/usr/local/sbin/haproxy',
      LB_HEARTBEAT_SECONDS: '5',
      HAPROXY_USER: 'haproxy',
      HAPROXY_GROUP: 'haproxy',
      HAPROXY_SOCKET_GROUP: 'haproxy',
      HAPROXY_SYSLOG: '/dev/log',
      ROLLOUT_SCHEDULE: '0 2 * * 0',
      ROLLOUT_MIN_AGE_DAYS: '14',
      ROLLOUT_CONCURRENCY: '20',
      ROLLOUT_FAILURE_BUDGET_PERCENT: '5',
      GANDI_TOKEN: 'gt',
      GANDI_API_URL: 'https://dns.example.org/v5/livedns/',
      DNS_TTL_SECONDS: '600',
      DNS_LB_ADDRESSES: '192.0.2.1, 2001:db8::1',
      DNS_RESOLVERS: '192.0.2.53,192.0.2.54:5353',
      DOMAIN_VERIFICATION_DAYS: '3',
      ACME_DIRECTORY_URL: 'https://acme.example.org/directory',
      ACME_EMAIL: 'certs@example.org',
      ACME_CA_BUNDLE: '/etc/tenon/acme-ca.pem',
      ACME_CERTIFICATES_PER_WEEK: '300',
      ACME_DUPLICATES_PER_WEEK: '4',
      ACME_FAILURES_PER_HOUR: '3',
      ACME_ORDERS_PER_3_HOURS: '100',
      ACME_BUDGET_RESERVE_PERCENT: '20',
      CERTIFICATE_RENEW_DAYS: '20',
      CERTIFICATE_RENEWAL_SCHEDULE: '0 4 * * *',
      CERTIFICATE_ALERT_DAYS: '10',
      ALERT_WEBHOOK_URL: 'https://hooks.example.org/tenon',
      ALERT_EMAIL: 'ops@example.org, oncall@example.org',
      LB_CERTIFICATE_KEYS: `lb1:${'B'.repeat(43)}=`,
      LB_PUBLIC_ADDRESSES: '192.0.2.1',
    })
    expect(config).toEqual({
      nodeEnv: 'development',
      port: 8080,
      host: '127.0.0.1',
      publicUrl: 'https://console.example.org',
      databaseUrl: 'postgresql://u:p@db:5432/tenon',
      dataDir: '/var/lib/tenon',
      embeddedPgPort: 6000,
      authSecret: 'x'.repeat(32),
      trustProxy: true,
      signIn: { maxAttempts: 10, windowSeconds: 300 },
      sessionTtlHours: 12,
      invitationTtlHours: 48,
      revokedTokenRetentionDays: 0,
      smtpUrl: 'smtps://user:pass@mail.example.org:465',
      mailFrom: 'Ops <ops@example.org>',
      hostingZone: 'sites.example.org',
      runWorker: false,
      workerConcurrency: 16,
      logLevel: 'debug',
      metricsToken: 'm'.repeat(16),
      secretsKeys: `k1:${'A'.repeat(43)}=`,
      ownerTag: 'acme-prod',
      vmDriver: 'nomad',
      localAppserverDir: '/srv/appservers',
      appservers: {
        pollIntervalMs: 500,
        provisionTimeoutMs: 60_000,
        configureTimeoutMs: 120_000,
        healthIntervalMs: 2000,
        healthRequestTimeoutMs: 3000,
        healthDeadlineMs: 90_000,
        drainMs: 10_000,
        rollbackKeep: 0,
        orphanGraceMs: 30_000,
        reconcileIntervalMs: 15_000,
      },
      resources: {
        retentionDays: 7,
        retryLimit: 2,
        exportDir: '/backups/tenon',
        exportS3: { cluster: 's3-backups', bucket: 'acme-tenon-exports' },
        mysqldumpPath: '/usr/bin/mariadb-dump',
      },
      dns: {
        provider: 'gandi',
        apiUrl: 'https://dns.example.org/v5/livedns',
        token: 'gt',
        ttl: 600,
        lbAddresses: ['192.0.2.1', '2001:db8::1'],
      },
      domains: { resolvers: ['192.0.2.53', '192.0.2.54:5353'], verificationDays: 3 },
      acme: {
        directoryUrl: 'https://acme.example.org/directory',
        email: 'certs@example.org',
        caBundlePath: '/etc/tenon/acme-ca.pem',
        limits: { certificatesPerWeek: 300, duplicatesPerWeek: 4, failuresPerHour: 3, ordersPer3Hours: 100 },
        reserve: 0.2,
      },
      certificates: { renewDays: 20, renewalCron: '0 4 * * *', alertDays: 10, lbKeys: `lb1:${'B'.repeat(43)}=` },
      alerts: { webhookUrl: 'https://hooks.example.org/tenon', emails: ['ops@example.org', 'oncall@example.org'] },
      crashPoint: 'appserver.after-create',
      ovh: {
        endpoint: 'ovh-ca',
        appKey: 'ak',
        appSecret: 'as',
        consumerKey: 'ck',
        projectId: 'p1',
        region: 'BHS5',
        flavorId: 'f1',
        imageId: 'i1',
        sshUser: 'debian',
        appserverPort: 8080,
        sshKeySecret: 's'.repeat(32),
        ansiblePlaybook: 'playbooks/app.yml',
        ansibleRunDir: '/var/lib/tenon/ansible',
      },
      nomad: {
        address: 'https://nomad.example.org:4646',
        token: 'nt',
        datacenters: ['dc1', 'dc2'],
        region: 'eu',
        namespace: 'tenon',
        image: 'acme/openedx',
        cpuMhz: 1500,
        memoryMb: 2048,
      },
      providerTimeoutMs: 10_000,
      rolloutSchedule: { cron: '0 2 * * 0', minAgeDays: 14, concurrency: 20, failureBudgetPercent: 5 },
      consul: { address: 'https://consul.example.org:8501', token: 'ct', prefix: 'acme/tenon' },
      routing: { applyTimeoutMs: 45_000, agentStaleMs: 90_000 },
      lbAgent: {
        nodeName: 'lb-1',
        httpPort: 8080,
        httpsPort: 8443,
        bindAddress: '127.0.0.1',
        configDir: '/srv/haproxy',
        masterSocket: '/run/m.sock',
        statsSocket: '/run/s.sock',
        haproxyBin: '/usr/local/sbin/haproxy',
        heartbeatMs: 5_000,
        publicAddresses: ['192.0.2.1'],
        runAs: { user: 'haproxy', group: 'haproxy' },
        socketGroup: 'haproxy',
        syslog: '/dev/log',
      },
    })
  })

  it('refuses load-balancer addresses that are not IP addresses, naming the variable', () => {
    expect(() => parseConfig({ DNS_LB_ADDRESSES: '192.0.2.1, lb.example.org' })).toThrow(/DNS_LB_ADDRESSES: must be IPv4 or IPv6/)
    expect(() => parseConfig({ LB_PUBLIC_ADDRESSES: 'nope' })).toThrow(/LB_PUBLIC_ADDRESSES/)
  })

  it('derives PUBLIC_URL from PORT and strips trailing slashes', () => {
    expect(parseConfig({ PORT: '4000' }).publicUrl).toBe('http://localhost:4000')
    expect(parseConfig({ PUBLIC_URL: 'http://console.test///' }).publicUrl).toBe('http://console.test')
  })

  it('accepts postgres:// as well as postgresql:// URLs', () => {
    expect(parseConfig({ DATABASE_URL: 'postgres://h/db' }).databaseUrl).toBe('postgres://h/db')
  })

  it('counts empty strings as unset', () => {
    const empty = Object.fromEntries(Object.keys(ZConfigEnv.shape).map((k) => [k, '']))
    expect(parseConfig(empty)).toEqual(parseConfig({}))
    expect(parseConfig({ PORT: '', TRUST_PROXY: '', RUN_WORKER: '', DATABASE_URL: '', AUTH_SECRET: '' })).toMatchObject({
      port: 3000,
      trustProxy: false,
      runWorker: true,
      databaseUrl: undefined,
      authSecret: undefined,
    })
  })

  it('requires every OVH variable for the OVH driver, naming the missing ones', () => {
    expect(configError({ VM_DRIVER: 'ovh', OVH_APPLICATION_KEY: 'ak' }).issues.map((i) => i.variable)).toEqual([
      'OVH_APPLICATION_SECRET',
      'OVH_CONSUMER_KEY',
      'OVH_PROJECT_ID',
      'OVH_REGION',
      'OVH_FLAVOR_ID',
      'OVH_IMAGE_ID',
    ])
    expect(configError({ VM_DRIVER: 'nomad' }).issues.map((i) => i.variable)).toEqual(['NOMAD_ADDR'])
  })

  it('ignores variables it does not know', () => {
    expect(parseConfig({ PATH: '/usr/bin', HOME: '/root' })).toEqual(parseConfig({}))
  })

  describe.each([
    ['TRUST_PROXY', 'trustProxy'],
    ['RUN_WORKER', 'runWorker'],
  ] as const)('boolean %s', (variable, key) => {
    it.each([
      ['true', true],
      ['1', true],
      ['yes', true],
      ['false', false],
      ['0', false],
      ['no', false],
    ])('%s → %s', (value, expected) => {
      expect(parseConfig({ [variable]: value })[key]).toBe(expected)
    })

    it.each(['maybe', 'on', '2', 'y'])('rejects %s naming the variable', (value) => {
      expect(configError({ [variable]: value }).issues.map((i) => i.variable)).toEqual([variable])
    })
  })

  it.each([
    ['NODE_ENV', 'staging'],
    ['PORT', 'abc'],
    ['PORT', '0'],
    ['PORT', '65536'],
    ['PORT', '80.5'],
    ['PUBLIC_URL', 'not a url'],
    ['DATABASE_URL', 'mysql://localhost/tenon'],
    ['DATABASE_URL', 'localhost:5432'],
    ['EMBEDDED_PG_PORT', '70000'],
    ['AUTH_SECRET', 'too-short'],
    ['SIGN_IN_MAX_ATTEMPTS', '0'],
    ['SIGN_IN_MAX_ATTEMPTS', 'many'],
    ['SIGN_IN_WINDOW_SECONDS', '-5'],
    ['SESSION_TTL_HOURS', '0'],
    ['INVITATION_TTL_HOURS', '1.5'],
    ['REVOKED_TOKEN_RETENTION_DAYS', '-1'],
    ['SMTP_URL', 'http://mail.example.org'],
    ['MAIL_FROM', 'a'],
    ['HOSTING_ZONE', 'Upper.Example.org'],
    ['HOSTING_ZONE', '-bad.example.org'],
    ['HOSTING_ZONE', 'bad-.example.org'],
    ['HOSTING_ZONE', 'under_score.example.org'],
    ['WORKER_CONCURRENCY', '0'],
    ['WORKER_CONCURRENCY', '101'],
    ['LOG_LEVEL', 'verbose'],
    ['ARCHIVE_EXPORT_S3_BUCKET', 'Not_A_Bucket'],
    ['RESOURCE_RETENTION_DAYS', '-1'],
  ])('rejects %s=%s, naming the variable', (variable, value) => {
    const err = configError({ [variable]: value })
    expect(err.issues).toHaveLength(1)
    expect(err.issues[0]!.variable).toBe(variable)
    expect(err.issues[0]!.message).not.toBe('')
    expect(err.message).toContain(variable)
  })

  it('reports every bad variable at once', () => {
    const err = configError({ PORT: 'x', LOG_LEVEL: 'loud', SMTP_URL: 'ftp://x', HOST: 'ok' })
    expect(err.issues.map((i) => i.variable).sort()).toEqual(['LOG_LEVEL', 'PORT', 'SMTP_URL'])
    expect(err.name).toBe('ConfigError')
  })

  it('wants both ARCHIVE_EXPORT_S3_ variables or neither', () => {
    expect(configError({ ARCHIVE_EXPORT_S3_CLUSTER: 's3-backups' }).issues.map((i) => i.variable)).toEqual(['ARCHIVE_EXPORT_S3_BUCKET'])
    expect(configError({ ARCHIVE_EXPORT_S3_BUCKET: 'exports' }).issues.map((i) => i.variable)).toEqual(['ARCHIVE_EXPORT_S3_CLUSTER'])
  })

  it('explains the rule that was broken', () => {
    expect(configError({ AUTH_SECRET: 'short' }).issues[0]!.message).toBe('must be at least 32 characters')
    expect(configError({ DATABASE_URL: 'mysql://x' }).issues[0]!.message).toBe('must be a postgres:// or postgresql:// URL')
    expect(configError({ HOSTING_ZONE: 'A.B' }).issues[0]!.message).toBe('must be a lowercase DNS name')
  })
})

describe('requireDatabaseUrl', () => {
  it('returns the URL when set', () => {
    expect(requireDatabaseUrl(parseConfig({ DATABASE_URL: 'postgresql://h/d' }))).toBe('postgresql://h/d')
  })

  it('throws a ConfigError naming DATABASE_URL when unset', () => {
    let caught: unknown
    try {
      requireDatabaseUrl(parseConfig({}))
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(ConfigError)
    expect((caught as ConfigError).issues.map((i) => i.variable)).toEqual(['DATABASE_URL'])
  })
})
