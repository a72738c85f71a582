import { createWriteStream } from 'node:fs'
import { mkdir, rename, rm } from 'node:fs/promises'
import path from 'node:path'
import { systemActor } from '@/lib/auth/actor'
import { recordAudit } from '@/lib/audit/record-audit'
import { lockInstance } from '@/lib/deployments/locks'
import type { Writable } from 'node:stream'
import { exportMysqlDatabases } from '@/provisioners/mysql-export'
import { uploadStream } from '@/provisioners/s3-upload'
import { ProvisionerError, type S3ClusterConnection } from '@/provisioners/types'
import { clusterConnection } from '@/lib/clusters/cluster-connection'
import type { ResourceContext } from './resource-context'
import { toFailure } from './resource-failure'
import { namesOf } from './resource-lock'

/** A running export older than this is taken to have died with its worker (the job's own expiry). */
const EXPORT_STALE_MS = 60 * 60_000

type ExportPlan = { kind: 'done' } | { kind: 'busy' } | { kind: 'schedule' } | { kind: 'export'; exportId: string }

/**
 * The archive job: takes the final export of the instance's MySQL databases (gzipped SQL, streamed to the
 * ARCHIVE_EXPORT_S3_* bucket or written to ARCHIVE_EXPORT_DIR),
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
    const file = `${instance.slug}-${new Date().toISOString().replace(/[:.]/g, '-')}.sql.gz`
    const target = ctx.config.resources.exportS3
    const location = target ? `s3://${target.bucket}/exports/${file}` : path.resolve(ctx.config.resources.exportDir, file)
    const created = await tx.instanceExport.create({ data: { instanceId, databases, location } })
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
  const dump = (output: Writable) =>
    exportMysqlDatabases(settings.connection, row.databases, output, {
      mysqldumpPath: ctx.config.resources.mysqldumpPath,
      timeoutMs: EXPORT_STALE_MS - 5 * 60_000,
    })
  try {
    let result: { bytes: number; sha256: string }
    if (row.location.startsWith('s3://')) {
      const target = await exportBucket(ctx)
      result = await uploadStream(
        target.connection,
        { bucket: target.bucket, key: row.location.slice(`s3://${target.bucket}/`.length) },
        dump,
        {
          timeoutMs: ctx.config.providerTimeoutMs,
        },
      )
    } else {
      await mkdir(path.dirname(row.location), { recursive: true, mode: 0o700 })
      result = await dump(createWriteStream(partial, { mode: 0o600 }))
      await rename(partial, row.location)
    }
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
    if (!row.location.startsWith('s3://')) await rm(partial, { force: true })
    const failure = toFailure(err)
    await ctx.db.instanceExport.update({
      where: { id: exportId },
      data: { state: 'failed', error: failure.message, finishedAt: ctx.now() },
    })
    ctx.log.warn({ instanceId, exportId, error: failure.message }, 'final export failed; the queue retries it')
    throw err
  }
}

/** The registered S3 cluster and bucket of ARCHIVE_EXPORT_S3_*, or a clear error when that cluster is not registered. */
async function exportBucket(ctx: ResourceContext): Promise<{ connection: S3ClusterConnection; bucket: string }> {
  const target = ctx.config.resources.exportS3
  if (!target) throw new Error('no S3 export target is configured')
  const cluster = await ctx.db.cluster.findFirst({ where: { kind: 's3', name: target.cluster } })
  if (!cluster)
    throw new ProvisionerError('S3', 'export', `ARCHIVE_EXPORT_S3_CLUSTER names "${target.cluster}", which is not a registered S3 cluster`)
  const settings = clusterConnection(ctx.box, cluster)
  if (settings.kind !== 's3') throw new Error(`cluster ${cluster.name} is not an S3 cluster`)
  return { connection: settings.connection, bucket: target.bucket }
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
