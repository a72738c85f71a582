import { z } from 'zod'

/**
 * Every environment variable the product reads, parsed once. Nothing else reads process.env
 * (scripts/start.ts writes DATABASE_URL when it starts the embedded PostgreSQL, before anything loads).
 * Each field's description is the README's configuration table.
 */
const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes')

export const ZConfigEnv = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('production').describe('Node environment.'),
  PORT: z.coerce.number().int().min(1).max(65535).default(3000).describe('HTTP port of the console and API.'),
  HOST: z.string().min(1).default('0.0.0.0').describe('Address the HTTP server binds to.'),
  PUBLIC_URL: z
    .url()
    .optional()
    .describe('Address users reach the console at (links in invitations, cookie security). Default http://localhost:PORT.'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional()
    .describe('PostgreSQL for the control data and the job queue. Unset: an embedded PostgreSQL is started in DATA_DIR.'),
  DATA_DIR: z.string().min(1).default('.data').describe('Folder for the embedded PostgreSQL and generated local secrets.'),
  EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65535).default(54329).describe('Port of the embedded PostgreSQL (loopback only).'),
  AUTH_SECRET: z
    .string()
    .min(32, 'must be at least 32 characters')
    .optional()
    .describe('Secret that signs session cookies. Unset: one is generated once and kept in DATA_DIR/auth-secret.'),
  TRUST_PROXY: bool(false).describe(
    'Trust X-Forwarded-For for the client address (set when behind a reverse proxy); used by sign-in rate limits.',
  ),
  SIGN_IN_MAX_ATTEMPTS: z.coerce
    .number()
    .int()
    .min(1)
    .default(5)
    .describe('Sign-in attempts allowed per client address per SIGN_IN_WINDOW_SECONDS.'),
  SIGN_IN_WINDOW_SECONDS: z.coerce.number().int().min(1).default(60).describe('Window of the sign-in rate limit.'),
  SESSION_TTL_HOURS: z.coerce.number().int().min(1).default(168).describe('How long a console session lasts.'),
  INVITATION_TTL_HOURS: z.coerce.number().int().min(1).default(168).describe('How long an invitation link stays valid.'),
  REVOKED_TOKEN_RETENTION_DAYS: z.coerce
    .number()
    .int()
    .min(0)
    .default(30)
    .describe('Revoked API tokens are deleted this many days after revocation (audit entries remain).'),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL')
    .optional()
    .describe('SMTP server for invitation emails, e.g. smtp://user:pass@host:587. Unset: links are printed to the log.'),
  MAIL_FROM: z.string().min(3).default('Tenon <no-reply@localhost>').describe('Sender of outgoing email.'),
  HOSTING_ZONE: z
    .string()
    .regex(/^(?=.{1,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/, 'must be a lowercase DNS name')
    .default('instances.localhost')
    .describe('DNS zone under which each instance gets the hostname SLUG.HOSTING_ZONE.'),
  RUN_WORKER: bool(true).describe('Run the job worker inside `npm start`. Set false when separate `npm run worker` processes do the work.'),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(4).describe('Jobs one worker process runs at once.'),
  METRICS_TOKEN: z
    .string()
    .min(16, 'must be at least 16 characters')
    .optional()
    .describe('When set, GET /api/metrics requires "Authorization: Bearer METRICS_TOKEN". Unset: the endpoint is open.'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('Log level (logs are JSON lines on stdout).'),
})

export type TConfigEnv = z.infer<typeof ZConfigEnv>

export interface Config {
  nodeEnv: TConfigEnv['NODE_ENV']
  port: number
  host: string
  publicUrl: string
  databaseUrl: string | undefined
  dataDir: string
  embeddedPgPort: number
  authSecret: string | undefined
  trustProxy: boolean
  signIn: { maxAttempts: number; windowSeconds: number }
  sessionTtlHours: number
  invitationTtlHours: number
  revokedTokenRetentionDays: number
  smtpUrl: string | undefined
  mailFrom: string
  hostingZone: string
  runWorker: boolean
  workerConcurrency: number
  metricsToken: string | undefined
  logLevel: TConfigEnv['LOG_LEVEL']
}

export class ConfigError extends Error {
  constructor(readonly issues: { variable: string; message: string }[]) {
    super('Invalid configuration:\n' + issues.map((i) => `  ${i.variable}: ${i.message}`).join('\n'))
    this.name = 'ConfigError'
  }
}

/** Parses an environment into a Config. Empty strings count as unset. Throws ConfigError naming each bad variable. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''))
  const parsed = ZConfigEnv.safeParse(cleaned)
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => ({ variable: String(i.path[0] ?? '?'), message: i.message })))
  }
  const e = parsed.data
  return {
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    embeddedPgPort: e.EMBEDDED_PG_PORT,
    authSecret: e.AUTH_SECRET,
    trustProxy: e.TRUST_PROXY,
    signIn: { maxAttempts: e.SIGN_IN_MAX_ATTEMPTS, windowSeconds: e.SIGN_IN_WINDOW_SECONDS },
    sessionTtlHours: e.SESSION_TTL_HOURS,
    invitationTtlHours: e.INVITATION_TTL_HOURS,
    revokedTokenRetentionDays: e.REVOKED_TOKEN_RETENTION_DAYS,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    hostingZone: e.HOSTING_ZONE,
    runWorker: e.RUN_WORKER,
    workerConcurrency: e.WORKER_CONCURRENCY,
    metricsToken: e.METRICS_TOKEN,
    logLevel: e.LOG_LEVEL,
  }
}

const globalForConfig = globalThis as unknown as { tenonConfig?: Config }

/** The process's config, read from the environment on first use. */
export function getConfig(): Config {
  globalForConfig.tenonConfig ??= parseConfig(process.env)
  return globalForConfig.tenonConfig
}

/** The database URL; the start-up scripts guarantee it is set before the server or worker runs. */
export function requireDatabaseUrl(config: Config): string {
  if (!config.databaseUrl) {
    throw new ConfigError([
      { variable: 'DATABASE_URL', message: 'is required here (npm start sets it when it starts the embedded PostgreSQL)' },
    ])
  }
  return config.databaseUrl
}
