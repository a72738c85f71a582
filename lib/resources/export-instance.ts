import { createWriteStream } from 'node:fs'
import { mkdir, rename, rm } from 'node:fs/promises'
import path from 'node:path'
import { systemActor } from '@/lib/auth/actor'
import { recordAudit } from '@/lib/audit/record-audit'
import { lockInstance } from '@/lib/deployments/locks'
import { exportMysqlDatabases } from '@/provisioners/mysql-export'
import { clusterConnection, type ResourceContext } from './resource-context'
import { toFailure } from './resource-failure'
import { namesOf } from './resource-lock'

/** A running export older than this is taken to have died with its worker (the job's own expiry). */
const EXPORT_STALE_MS = 60 * 60_000

type ExportPlan = { kind: 'done' } | { kind: 'busy' } | { kind: 'schedule' } | { kind: 'export'; exportId: string }

/**
 * The archive job: takes the final export of the instance's MySQL databases (gzipped SQL in ARCHIVE_EXPORT_DIR),
 * then schedules the deletion of its resources RESOURCE_RETENTION_DAYS later and marks them retained. Nothing is
 * scheduled for deletion before an export has succeeded; a failed export is retried by the queue and the
 * reconciler. Restoring the instance meanwhile wins: the job then leaves everything as it is.
 */
export async function exportInstance(ctx: ResourceContext, instanceId: string): Promise<'scheduled' | 'skipped' | 'busy'> {
  const plan = await ctx.db.$transaction(async (tx): Promise<ExportPlan> => {
    const instance = await lockInstance(tx, instanceId)
    if (instance.status !== 'archived' || instance.purgeAfter || instance.purgedAt || !instance.archivedAt) return { kind: 'done' }
    const since = instance.archivedAt
    const exports = await tx.instanceExport.findMany({ where: { instanceId, createdAt: { gte: since } }, orderBy: { createdAt: 'desc' } })
    if (exports.some((e) => e.state === 'succeeded')) return { kind: 'schedule' }
    const now = ctx.now().getTime()
    if (exports.some((e) => e.state === 'running' && now - e.createdAt.getTime() < EXPORT_STALE_MS)) return { kind: 'busy' }
    const mysql = await tx.resource.findFirst({ where: { instanceId, kind: 'mysql', state: { not: 'destroyed' }, readyAt: { not: null } } })
    // Never provisioned: no database was ever handed to an appserver, so there is nothing to keep.
    if (!mysql) return { kind: 'schedule' }
    const databases = Object.values(namesOf(mysql).databases ?? {})
    const created = await tx.instanceExport.create({
      data: { instanceId, databases, location: path.resolve(ctx.config.resources.exportDir, `${instance.slug}-${Date.now()}.sql.gz`) },
    })
    return { kind: 'export', exportId: created.id }
  })
  if (plan.kind === 'done') return 'skipped'
  if (plan.kind === 'busy') return 'busy'
  if (plan.kind === 'export') await runExport(ctx, instanceId, plan.exportId)
  return schedulePurge(ctx, instanceId)
}

async function runExport(ctx: ResourceContext, instanceId: string, exportId: string): Promise<void> {
  const row = await ctx.db.instanceExport.findUniqueOrThrow({ where: { id: exportId } })
  const mysql = await ctx.db.resource.findFirstOrThrow({
    where: { instanceId, kind: 'mysql', state: { not: 'destroyed' } },
    include: { cluster: true, instance: { select: { organizationId: true } } },
  })
  const settings = clusterConnection(ctx.box, mysql.cluster)
  if (settings.kind !== 'mysql') throw new Error(`cluster ${mysql.cluster.name} is not a MySQL cluster`)
  const partial = `${row.location}.partial`
  try {
    await mkdir(path.dirname(row.location), { recursive: true, mode: 0o700 })
    const out = createWriteStream(partial, { mode: 0o600 })
    const result = await exportMysqlDatabases(settings.connection, row.databases, out, {
      mysqldumpPath: ctx.config.resources.mysqldumpPath,
      timeoutMs: EXPORT_STALE_MS - 5 * 60_000,
    })
    await rename(partial, row.location)
    await ctx.db.$transaction(async (tx) => {
      await tx.instanceExport.update({
        where: { id: exportId },
        data: { state: 'succeeded', bytes: BigInt(result.bytes), sha256: result.sha256, finishedAt: ctx.now() },
      })
      await recordAudit(tx, {
        actor: systemActor('resources'),
        action: 'instance.exported',
        targetType: 'instance',
        targetId: instanceId,
        organizationId: mysql.instance.organizationId,
        after: { location: row.location, databases: row.databases, bytes: result.bytes, sha256: result.sha256 },
      })
    })
  } catch (err) {
    await rm(partial, { force: true })
    const failure = toFailure(err)
    await ctx.db.instanceExport.update({
      where: { id: exportId },
      data: { state: 'failed', error: failure.message, finishedAt: ctx.now() },
    })
    ctx.log.warn({ instanceId, exportId, error: failure.message }, 'final export failed; the queue retries it')
    throw err
  }
}

async function schedulePurge(ctx: ResourceContext, instanceId: string): Promise<'scheduled' | 'skipped'> {
  return ctx.db.$transaction(async (tx) => {
    const instance = await lockInstance(tx, instanceId)
    if (instance.status !== 'archived' || instance.purgeAfter || instance.purgedAt) return 'skipped' as const
    const purgeAfter = new Date(ctx.now().getTime() + ctx.config.resources.retentionDays * 86_400_000)
    await tx.instance.update({ where: { id: instanceId }, data: { purgeAfter } })
    await tx.resource.updateMany({
      where: { instanceId, state: { in: ['provisioning', 'ready', 'failed'] } },
      data: { state: 'retained', nextAttemptAt: null },
    })
    await recordAudit(tx, {
      actor: systemActor('resources'),
      action: 'instance.purge_scheduled',
      targetType: 'instance',
      targetId: instanceId,
      organizationId: instance.organizationId,
      after: { purgeAfter: purgeAfter.toISOString() },
    })
    return 'scheduled' as const
  })
}
