import type { Actor } from '@/lib/auth/actor'
import { assertStaff } from '@/lib/auth/policy'
import { recordAudit } from '@/lib/audit/record-audit'
import type { Config } from '@/lib/config'
import type { JobSender } from '@/lib/jobs/send'
import type { Db } from '@/lib/db/client'
import { isUniqueViolation } from '@/lib/db/errors'
import type { Prisma } from '@/lib/db/generated/client'
import { conflict, invalidInput } from '@/lib/errors'
import { sealJson, type SecretBox } from '@/lib/secrets'
import { splitSecrets } from './cluster-settings'
import type { TCluster, TCreateClusterRequest } from './schemas'
import { tryConnection } from './test-connection'
import { toCluster } from './to-cluster'

export interface ClusterContext {
  db: Db
  box: SecretBox
  config: Config
  jobs: JobSender
}

/**
 * Staff register a shared cluster. Settings are checked by the kind's schema (by the route), then by a real
 * connection test unless `testConnection` is false; the administrator's secret is stored encrypted, apart.
 */
export async function createCluster(ctx: ClusterContext, actor: Actor, input: TCreateClusterRequest): Promise<TCluster> {
  assertStaff(actor)
  let testedAt: Date | null = null
  if (input.testConnection) {
    const problem = await tryConnection(input, { ownerTag: ctx.config.ownerTag, timeoutMs: ctx.config.providerTimeoutMs })
    if (problem) throw invalidInput([{ field: 'connection', message: problem }], `The connection test failed: ${problem}`)
    testedAt = new Date()
  }
  const { settings, secrets } = splitSecrets(input.kind, input.connection)
  try {
    const row = await ctx.db.$transaction(async (tx) => {
      const created = await tx.cluster.create({
        data: {
          kind: input.kind,
          name: input.name,
          acceptsNew: input.acceptsNew,
          settings: settings as Prisma.InputJsonValue,
          secrets: sealJson(ctx.box, secrets),
          lastTestedAt: testedAt,
        },
      })
      await recordAudit(tx, {
        actor,
        action: 'cluster.created',
        targetType: 'cluster',
        targetId: created.id,
        organizationId: null,
        after: { kind: created.kind, name: created.name, acceptsNew: created.acceptsNew, connection: settings },
      })
      return created
    })
    return toCluster(row, 0)
  } catch (err) {
    if (isUniqueViolation(err, 'name') || isUniqueViolation(err, 'kind')) {
      throw conflict(`A ${input.kind} cluster named "${input.name}" already exists`, undefined, [
        { field: 'name', message: 'is already taken' },
      ])
    }
    throw err
  }
}
