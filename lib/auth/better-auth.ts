import { betterAuth } from 'better-auth'
import { prismaAdapter } from 'better-auth/adapters/prisma'
import { randomUUID } from 'node:crypto'
import { getConfig, type Config } from '@/lib/config'
import { getDb, type Db } from '@/lib/db/client'
import { recordAudit } from '@/lib/audit/record-audit'
import { loadUserActor } from './resolve-actor'

/** Header our HTTP server sets to the client address (see scripts/lib/server.ts); rate limits key on it. */
export const CLIENT_IP_HEADER = 'x-tenon-client-ip'
export const MIN_PASSWORD_LENGTH = 10

/**
 * Email + password sign-in through better-auth: sessions in PostgreSQL (the sessions table), httpOnly
 * SameSite=Lax cookies (Secure when PUBLIC_URL is https), origin checks on every state-changing auth call,
 * and a database-backed sign-in rate limit per client address. Public sign-up is off: accounts come from
 * the setup page, invitations and the admin CLI.
 */
export function createAuth(config: Config, db: Db) {
  return betterAuth({
    appName: 'Tenon',
    baseURL: config.publicUrl,
    basePath: '/api/auth',
    secret: config.authSecret,
    trustedOrigins: [config.publicUrl],
    database: prismaAdapter(db, { provider: 'postgresql' }),
    emailAndPassword: {
      enabled: true,
      disableSignUp: true,
      minPasswordLength: MIN_PASSWORD_LENGTH,
      maxPasswordLength: 256,
    },
    session: {
      expiresIn: config.sessionTtlHours * 3600,
      updateAge: Math.min(24, config.sessionTtlHours) * 3600,
    },
    rateLimit: {
      enabled: true,
      storage: 'database',
      window: 60,
      max: 100,
      customRules: {
        '/sign-in/email': { window: config.signIn.windowSeconds, max: config.signIn.maxAttempts },
      },
    },
    advanced: {
      useSecureCookies: config.publicUrl.startsWith('https://'),
      // better-auth skips its origin check when NODE_ENV is "test"; ours must hold in every environment.
      disableOriginCheck: false,
      ipAddress: { ipAddressHeaders: [CLIENT_IP_HEADER] },
      database: { generateId: () => randomUUID() },
    },
    databaseHooks: {
      session: {
        create: { after: (session) => auditSession(db, 'user.signed_in', session) },
        delete: { after: (session) => auditSession(db, 'user.signed_out', session) },
      },
    },
    telemetry: { enabled: false },
  })
}

/** Sign-ins and sign-outs are audited like any other change (the session row is created or deleted). */
async function auditSession(db: Db, action: string, session: { userId: string; ipAddress?: string | null; userAgent?: string | null }) {
  const actor = await loadUserActor(db, session.userId)
  if (!actor) return
  await db.$transaction((tx) =>
    recordAudit(tx, {
      actor,
      action,
      targetType: 'user',
      targetId: session.userId,
      organizationId: null,
      after: { ipAddress: session.ipAddress ?? null, userAgent: session.userAgent ?? null },
    }),
  )
}

export type Auth = ReturnType<typeof createAuth>

const globalForAuth = globalThis as unknown as { tenonAuth?: Auth }

export function getAuth(): Auth {
  globalForAuth.tenonAuth ??= createAuth(getConfig(), getDb())
  return globalForAuth.tenonAuth
}
