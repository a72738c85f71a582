import type { Logger } from 'pino'
import { z } from 'zod'
import type { Config } from '@/lib/config'
import type { Db } from '@/lib/db/client'
import { advanceAppserver } from '@/lib/appservers/advance-appserver'
import { reconcileAppservers } from '@/lib/appservers/reconcile-appservers'
import { advanceDeployment } from '@/lib/deployments/advance-deployment'
import type { Orchestrator } from '@/lib/deployments/orchestrator'
import { retireInstance } from '@/lib/deployments/retire-instance'
import { advanceRollout } from '@/lib/rollouts/advance-rollout'
import { startScheduledRollout } from '@/lib/rollouts/scheduled-rollout'
import { destroyResource } from '@/lib/resources/destroy-resource'
import { ensureResource } from '@/lib/resources/ensure-resource'
import { exportInstance } from '@/lib/resources/export-instance'
import { purgeInstance } from '@/lib/resources/purge-instance'
import { reconcileResources } from '@/lib/resources/reconcile-resources'
import type { ResourceContext } from '@/lib/resources/resource-context'
import { rotateResource } from '@/lib/resources/rotate-resource'
import { reconcileRouting } from '@/lib/routing/reconcile-routing'
import { publishRouting } from '@/lib/routing/publish-routing'
import { deliverCertificate } from '@/lib/certificates/deliver-certificate'
import { issueCertificate } from '@/lib/certificates/issue-certificate'
import { reconcileCertificates } from '@/lib/certificates/reconcile-certificates'
import { removeDeliveredCertificate } from '@/lib/certificates/remove-certificate'
import { renewCertificates } from '@/lib/certificates/renew-certificates'
import { reconcileDns } from '@/lib/dns/reconcile-dns'
import { syncDnsOrWait } from '@/lib/dns/sync-instance-dns'
import type { DomainContext } from '@/lib/domains/domain-context'
import { verifyDomain } from '@/lib/domains/verify-domain'
import { expireCredentials } from './expire-credentials'
import { QUEUES, type QueueDefinition } from './queues'

export interface JobContext {
  db: Db
  config: Config
  log: Logger
  orchestrator: Orchestrator
  resources: ResourceContext
  domains: DomainContext
}

/**
 * Jobs as data: a queue (name, retry policy, timeout, optional schedule), a payload schema and a handler.
 * Every handler is idempotent: pg-boss may run a job again after a crash or a timeout.
 */
export interface JobDefinition<T extends z.ZodType = z.ZodType> extends QueueDefinition {
  payload: T
  handler: (payload: z.infer<T>, ctx: JobContext) => Promise<unknown>
}

const define = <T extends z.ZodType>(queue: QueueDefinition, payload: T, handler: JobDefinition<T>['handler']): JobDefinition =>
  ({ ...queue, payload, handler }) as JobDefinition

export const expireCredentialsJob = define(QUEUES.expireCredentials, z.object({}).passthrough(), (_p, { db, config }) =>
  expireCredentials(db, config),
)

export const advanceAppserverJob = define(QUEUES.advanceAppserver, z.object({ appserverId: z.uuid() }), (p, { orchestrator }) =>
  advanceAppserver(orchestrator, p.appserverId),
)

export const advanceDeploymentJob = define(QUEUES.advanceDeployment, z.object({ deploymentId: z.uuid() }), (p, { orchestrator }) =>
  advanceDeployment(orchestrator, p.deploymentId),
)

export const advanceRolloutJob = define(QUEUES.advanceRollout, z.object({ rolloutId: z.uuid() }), (p, { orchestrator }) =>
  advanceRollout(orchestrator, p.rolloutId),
)

export const reconcileAppserversJob = define(QUEUES.reconcileAppservers, z.object({}).passthrough(), (_p, { orchestrator }) =>
  reconcileAppservers(orchestrator),
)

export const retireInstanceJob = define(QUEUES.retireInstance, z.object({ instanceId: z.uuid() }), (p, { orchestrator }) =>
  retireInstance(orchestrator, p.instanceId),
)

export const scheduledRolloutJob = define(QUEUES.scheduledRollout, z.object({}).passthrough(), (_p, { orchestrator }) =>
  startScheduledRollout(orchestrator),
)

const resourceId = z.object({ resourceId: z.uuid() })
const instanceId = z.object({ instanceId: z.uuid() })

export const ensureResourceJob = define(QUEUES.ensureResource, resourceId, (p, { resources }) => ensureResource(resources, p.resourceId))
export const rotateResourceJob = define(QUEUES.rotateResource, resourceId, (p, { resources }) => rotateResource(resources, p.resourceId))
export const destroyResourceJob = define(QUEUES.destroyResource, resourceId, (p, { resources }) => destroyResource(resources, p.resourceId))
export const exportInstanceJob = define(QUEUES.exportInstance, instanceId, (p, { resources }) => exportInstance(resources, p.instanceId))
export const purgeInstanceJob = define(QUEUES.purgeInstance, instanceId, (p, { resources }) => purgeInstance(resources, p.instanceId))
export const reconcileResourcesJob = define(QUEUES.reconcileResources, z.object({}).passthrough(), (_p, { resources }) =>
  reconcileResources(resources),
)

export const reconcileRoutingJob = define(QUEUES.reconcileRouting, z.object({}).passthrough(), (_p, { orchestrator }) =>
  reconcileRouting(orchestrator),
)

export const publishRoutingJob = define(QUEUES.publishRouting, instanceId, async (p, { domains }) => {
  const instance = await domains.db.instance.findUnique({ where: { id: p.instanceId }, select: { status: true } })
  // An archived instance's routing is removed by its retirement, not published.
  if (!instance || instance.status === 'archived') return { skipped: true }
  await publishRouting(domains, p.instanceId)
  return { published: true }
})

export const syncDnsJob = define(QUEUES.syncDns, instanceId, (p, { domains }) => syncDnsOrWait(domains, p.instanceId))
export const reconcileDnsJob = define(QUEUES.reconcileDns, z.object({}).passthrough(), (_p, { domains }) => reconcileDns(domains))
export const verifyDomainJob = define(
  QUEUES.verifyDomain,
  z.object({ domainId: z.uuid(), now: z.boolean().optional() }),
  (p, { domains }) => verifyDomain(domains, p.domainId, p.now ?? false),
)
const certificateId = z.object({ certificateId: z.uuid() })
export const issueCertificateJob = define(
  QUEUES.issueCertificate,
  certificateId.extend({ force: z.boolean().optional() }),
  (p, { domains }) => issueCertificate(domains, p.certificateId, p.force ?? false),
)
export const deliverCertificateJob = define(QUEUES.deliverCertificate, certificateId, (p, { domains }) =>
  deliverCertificate(domains, p.certificateId),
)
export const removeCertificateJob = define(
  QUEUES.removeCertificate,
  certificateId.extend({ instanceId: z.uuid().optional() }),
  (p, { domains }) => removeDeliveredCertificate(domains, p.certificateId, p.instanceId),
)
export const renewCertificatesJob = define(QUEUES.renewCertificates, z.object({}).passthrough(), (_p, { domains }) =>
  renewCertificates(domains),
)
export const reconcileCertificatesJob = define(QUEUES.reconcileCertificates, z.object({}).passthrough(), (_p, { domains }) =>
  reconcileCertificates(domains),
)

export const JOBS: JobDefinition[] = [
  expireCredentialsJob,
  advanceAppserverJob,
  advanceDeploymentJob,
  advanceRolloutJob,
  reconcileAppserversJob,
  retireInstanceJob,
  scheduledRolloutJob,
  ensureResourceJob,
  rotateResourceJob,
  destroyResourceJob,
  exportInstanceJob,
  purgeInstanceJob,
  reconcileResourcesJob,
  reconcileRoutingJob,
  publishRoutingJob,
  syncDnsJob,
  reconcileDnsJob,
  verifyDomainJob,
  issueCertificateJob,
  deliverCertificateJob,
  removeCertificateJob,
  renewCertificatesJob,
  reconcileCertificatesJob,
]
