import { getBlueprint } from '@/lib/blueprints'
import type { DomainContext } from '@/lib/domains/domain-context'
import { QUEUES } from '@/lib/jobs/queues'
import type { DnsRecordType } from '@/provisioners/types'
import { loadBalancerAddresses } from './lb-addresses'
import { desiredRecordSets, planRecords, type LedgerRecord } from './plan-records'

export interface DnsDriftReport {
  /** instances whose records were missing, different or failed: a dns.sync job was sent for each */
  queued: string[]
  /** record sets changed in the zone behind Tenon's back, queued to be written again */
  drifted: number
  /** record sets of instances that no longer exist, removed */
  orphansRemoved: number
}

/**
 * Compares the hosting zone with what every instance needs (the load balancers' addresses may have changed, a
 * record may have been edited by hand, a sync may have failed) and sends a dns.sync job for each instance that is
 * off. Reads the zone once; writes nothing itself except removing record sets of deleted instances.
 */
export async function reconcileDns(ctx: DomainContext): Promise<DnsDriftReport> {
  const dns = ctx.dns
  const report: DnsDriftReport = { queued: [], drifted: 0, orphansRemoved: 0 }
  if (!dns) return report
  const addresses = await loadBalancerAddresses(ctx)
  const ttl = ctx.config.dns?.ttl ?? 300
  const [instances, rows, zone] = await Promise.all([
    ctx.db.instance.findMany({ select: { id: true, slug: true, blueprint: true, status: true } }),
    ctx.db.dnsRecord.findMany({ where: { zone: dns.zone } }),
    dns.list(),
  ])
  const inZone = new Map(zone.map((s) => [`${s.name} ${s.type}`, s]))
  const byInstance = new Map<string, typeof rows>()
  for (const row of rows) {
    if (!row.instanceId) continue
    byInstance.set(row.instanceId, [...(byInstance.get(row.instanceId) ?? []), row])
  }

  const queue = new Set<string>()
  const drifted: string[] = []
  for (const instance of instances) {
    const ledgerRows = byInstance.get(instance.id) ?? []
    if (instance.status === 'archived') {
      if (ledgerRows.length) queue.add(instance.id)
      continue
    }
    const hostnames = getBlueprint(instance.blueprint)
      .hostnames(instance, ctx.config.hostingZone)
      .map((h) => h.hostname)
    const ledger: LedgerRecord[] = ledgerRows.map((r) => {
      const actual = inZone.get(`${r.name} ${r.type}`)
      const same = actual && actual.ttl === r.ttl && [...actual.values].sort().join(' ') === [...r.values].sort().join(' ')
      if (r.state === 'synced' && !same) {
        report.drifted++
        drifted.push(r.id)
      }
      // What the zone really holds decides: a set edited or deleted by hand is written again.
      return { name: r.name, type: r.type, values: r.values, ttl: r.ttl, state: same ? r.state : 'pending' }
    })
    const plan = planRecords(desiredRecordSets(hostnames, dns.zone, addresses, ttl), ledger)
    if (plan.write.length || plan.remove.length) queue.add(instance.id)
  }

  // The sync job plans from the ledger: sets changed behind our back are marked to be written again.
  if (drifted.length) await ctx.db.dnsRecord.updateMany({ where: { id: { in: drifted }, state: 'synced' }, data: { state: 'pending' } })
  for (const row of rows.filter((r) => !r.instanceId)) {
    await dns.remove(row.name, row.type as DnsRecordType)
    await ctx.db.dnsRecord.delete({ where: { id: row.id } })
    report.orphansRemoved++
  }
  for (const instanceId of queue) await ctx.jobs.send(QUEUES.syncDns.name, { instanceId })
  report.queued = [...queue]
  return report
}
