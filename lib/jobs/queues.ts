import type PgBoss from 'pg-boss'

/**
 * Every queue and its retry policy, without the handlers (so senders do not load the whole domain).
 * lib/jobs/definitions.ts attaches a payload schema and a handler to each.
 */
export interface QueueDefinition {
  name: string
  retryLimit: number
  retryDelaySeconds: number
  expireInSeconds: number
  /** cron (UTC) when the job runs on a schedule; pg-boss makes sure one worker enqueues it per tick */
  schedule?: string
}

export const QUEUES = {
  expireCredentials: {
    name: 'maintenance.expire-credentials',
    retryLimit: 3,
    retryDelaySeconds: 60,
    expireInSeconds: 300,
    schedule: '*/15 * * * *',
  },
  // One step of an appserver's lifecycle. Waits are new jobs with startAfter, so no worker is ever parked.
  advanceAppserver: { name: 'appserver.advance', retryLimit: 5, retryDelaySeconds: 5, expireInSeconds: 600 },
  advanceDeployment: { name: 'deployment.advance', retryLimit: 5, retryDelaySeconds: 5, expireInSeconds: 300 },
  advanceRollout: { name: 'rollout.advance', retryLimit: 5, retryDelaySeconds: 5, expireInSeconds: 300 },
  reconcileAppservers: { name: 'appservers.reconcile', retryLimit: 1, retryDelaySeconds: 30, expireInSeconds: 600, schedule: '* * * * *' },
  retireInstance: { name: 'instance.retire', retryLimit: 5, retryDelaySeconds: 10, expireInSeconds: 300 },
  // Resources (lib/resources): each job is one resource's (or one archived instance's) next step.
  ensureResource: { name: 'resource.ensure', retryLimit: 3, retryDelaySeconds: 10, expireInSeconds: 900 },
  rotateResource: { name: 'resource.rotate', retryLimit: 5, retryDelaySeconds: 15, expireInSeconds: 900 },
  destroyResource: { name: 'resource.destroy', retryLimit: 5, retryDelaySeconds: 30, expireInSeconds: 1800 },
  exportInstance: { name: 'instance.export', retryLimit: 5, retryDelaySeconds: 60, expireInSeconds: 3600 },
  purgeInstance: { name: 'instance.purge', retryLimit: 5, retryDelaySeconds: 60, expireInSeconds: 3600 },
  reconcileResources: { name: 'resources.reconcile', retryLimit: 1, retryDelaySeconds: 60, expireInSeconds: 900, schedule: '* * * * *' },
  reconcileRouting: { name: 'routing.reconcile', retryLimit: 1, retryDelaySeconds: 30, expireInSeconds: 600, schedule: '* * * * *' },
  // Domains, DNS and certificates (lib/domains, lib/dns, lib/certificates).
  syncDns: { name: 'dns.sync', retryLimit: 8, retryDelaySeconds: 30, expireInSeconds: 600 },
  reconcileDns: { name: 'dns.reconcile', retryLimit: 1, retryDelaySeconds: 60, expireInSeconds: 900, schedule: '*/5 * * * *' },
  publishRouting: { name: 'routing.publish', retryLimit: 8, retryDelaySeconds: 15, expireInSeconds: 600 },
  verifyDomain: { name: 'domain.verify', retryLimit: 2, retryDelaySeconds: 60, expireInSeconds: 300 },
  issueCertificate: { name: 'certificate.issue', retryLimit: 2, retryDelaySeconds: 120, expireInSeconds: 1800 },
  deliverCertificate: { name: 'certificate.deliver', retryLimit: 8, retryDelaySeconds: 15, expireInSeconds: 600 },
  removeCertificate: { name: 'certificate.remove', retryLimit: 8, retryDelaySeconds: 15, expireInSeconds: 600 },
  // Daily, on CERTIFICATE_RENEWAL_SCHEDULE (scheduled in lib/jobs/queue.ts).
  renewCertificates: { name: 'certificates.renew', retryLimit: 2, retryDelaySeconds: 600, expireInSeconds: 1800 },
  reconcileCertificates: {
    name: 'certificates.reconcile',
    retryLimit: 1,
    retryDelaySeconds: 60,
    expireInSeconds: 900,
    schedule: '*/10 * * * *',
  },
  scheduledRollout: { name: 'rollout.scheduled', retryLimit: 1, retryDelaySeconds: 60, expireInSeconds: 300 },
} as const satisfies Record<string, QueueDefinition>

export const QUEUE_LIST: QueueDefinition[] = Object.values(QUEUES)

/** Creates (or updates) every queue; idempotent, safe from many processes at once. */
export async function createQueues(boss: PgBoss): Promise<void> {
  for (const q of QUEUE_LIST) {
    await boss.createQueue(q.name, {
      name: q.name,
      retryLimit: q.retryLimit,
      retryDelay: q.retryDelaySeconds,
      retryBackoff: true,
      expireInSeconds: q.expireInSeconds,
    })
  }
}
