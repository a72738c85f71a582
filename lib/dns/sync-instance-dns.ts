import { getBlueprint } from '@/lib/blueprints'
import { QUEUES } from '@/lib/jobs/queues'
import type { DomainContext } from '@/lib/domains/domain-context'
import { ProvisionerError, type DnsRecordType } from '@/provisioners/types'
import { loadBalancerAddresses } from './lb-addresses'
import { desiredRecordSets, planRecords, type LedgerRecord } from './plan-records'

export interface DnsSyncReport {
  written: number
  removed: number
  skipped?: string
}

/**
 * Makes the hosting zone hold exactly the records an instance needs: its hostnames → the load balancers while it
 * is live, nothing once archived. Each record set is replaced in one request (a name never disappears midway),
 * and the ledger row is written after the provider answered, so a crash between the two only repeats a PUT.
 */
export async function syncInstanceDns(ctx: DomainContext, instanceId: string): Promise<DnsSyncReport> {
  const dns = ctx.dns
  if (!dns) return { written: 0, removed: 0, skipped: 'DNS is not configured (GANDI_TOKEN)' }
  const instance = await ctx.db.instance.findUnique({
    where: { id: instanceId },
    select: { id: true, slug: true, blueprint: true, status: true },
  })
  const rows = await ctx.db.dnsRecord.findMany({ where: { instanceId, zone: dns.zone } })
  const ledger: LedgerRecord[] = rows.map((r) => ({ name: r.name, type: r.type, values: r.values, ttl: r.ttl, state: r.state }))
  const live = instance && instance.status !== 'archived'
  const desired = live
    ? desiredRecordSets(
        getBlueprint(instance.blueprint)
          .hostnames(instance, ctx.config.hostingZone)
          .map((h) => h.hostname),
        dns.zone,
        await loadBalancerAddresses(ctx),
        ctx.config.dns?.ttl ?? 300,
      )
    : []
  const plan = planRecords(desired, ledger)
  const key = (r: { name: string; type: string }) => `${r.name} ${r.type}`
  const byKey = new Map(rows.map((r) => [key(r), r]))

  for (const set of plan.write) {
    const row = await ctx.db.dnsRecord.upsert({
      where: { zone_name_type: { zone: dns.zone, name: set.name, type: set.type } },
      create: { instanceId, zone: dns.zone, name: set.name, type: set.type, values: [], ttl: set.ttl, state: 'pending' },
      // A set another (archived, or deleted) instance held moves to this one: the hostname is this instance's now.
      update: { instanceId },
    })
    try {
      await dns.replace(set)
    } catch (err) {
      await recordFailure(ctx, row, err)
      throw err
    }
    await ctx.db.dnsRecord.update({
      where: { id: row.id },
      data: { values: set.values, ttl: set.ttl, state: 'synced', attempts: 0, lastError: null, syncedAt: ctx.now() },
    })
  }
  for (const gone of plan.remove) {
    const row = byKey.get(key(gone))
    if (!row) continue
    await ctx.db.dnsRecord.update({ where: { id: row.id }, data: { state: 'deleting' } })
    try {
      await dns.remove(gone.name, row.type as DnsRecordType)
    } catch (err) {
      await recordFailure(ctx, { ...row, state: 'deleting' }, err)
      throw err
    }
    await ctx.db.dnsRecord.delete({ where: { id: row.id } })
  }
  return { written: plan.write.length, removed: plan.remove.length }
}

/** A set the provider refused: failed (a set being deleted stays deleting, so the next sync deletes it again). */
async function recordFailure(ctx: DomainContext, row: { id: string; attempts: number; state: string }, err: unknown) {
  const message = err instanceof Error ? err.message : String(err)
  await ctx.db.dnsRecord.update({
    where: { id: row.id },
    data: { state: row.state === 'deleting' ? 'deleting' : 'failed', attempts: row.attempts + 1, lastError: message.slice(0, 1000) },
  })
}

/**
 * The dns.sync job: a provider that says how long to wait (429 with Retry-After) gets exactly that — the job is sent
 * again for then, rather than retried on pg-boss's own schedule; other failures are thrown for pg-boss to retry.
 */
export async function syncDnsOrWait(ctx: DomainContext, instanceId: string): Promise<DnsSyncReport | { waitingUntil: string }> {
  try {
    return await syncInstanceDns(ctx, instanceId)
  } catch (err) {
    if (!(err instanceof ProvisionerError) || !err.retryable || !err.retryAfterMs) throw err
    const startAfter = new Date(ctx.now().getTime() + err.retryAfterMs)
    await ctx.jobs.send(QUEUES.syncDns.name, { instanceId }, { startAfter })
    return { waitingUntil: startAfter.toISOString() }
  }
}
