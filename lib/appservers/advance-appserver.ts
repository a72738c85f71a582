import type { Prisma } from '@/lib/db/generated/client'
import type { AppserverState } from '@/lib/db/generated/enums'
import type { Orchestrator } from '@/lib/deployments/orchestrator'
import { QUEUES } from '@/lib/jobs/queues'
import { openJson, sealJson } from '@/lib/secrets'
import { ProvisionerError, type VmDriver, type VmRef, type VmSpec } from '@/provisioners/types'
import { appendAppserverLog, transitionAppserver, type AppserverRef } from './appserver-log'
import { crashPoint } from './crash-point'
import { decideConfiguring, decideDraining, decideDriverError, decideProvisioning, decideStarting, type StepDecision } from './decide-step'
import { checkHealth } from './health-check'

type Tx = Prisma.TransactionClient

const APPSERVER_WITH_DEPLOYMENT = {
  deployment: { select: { id: true, configuration: true, configurationSecrets: true, healthPath: true } },
  instance: { select: { slug: true, organizationId: true } },
} satisfies Prisma.AppserverInclude

type Row = Prisma.AppserverGetPayload<{ include: typeof APPSERVER_WITH_DEPLOYMENT }>

/** The outcome of one step, for the job handler: go on, look again later, or stop. */
type StepResult =
  | { kind: 'continue'; notifyDeployment?: string }
  | { kind: 'wait'; at: Date; notifyDeployment?: string }
  | { kind: 'idle'; notifyDeployment?: string }
  /** another worker holds the appserver: it will schedule what comes next */
  | { kind: 'busy' }

/** States whose step waits on something outside; a job arriving well before the planned check leaves it to that check. */
const WAITING: readonly AppserverState[] = ['provisioning', 'configuring', 'starting', 'draining']

/** How long a step may hold its row lock (driver calls have their own shorter timeouts). */
const STEP_TIMEOUT_MS = 10 * 60_000

/**
 * Moves one appserver forward as far as it can go without waiting: each step runs in a transaction that
 * holds the appserver's row lock (a crashed worker's lock goes with its connection), performs one
 * idempotent effect and records the transition. A wait becomes a new job for later; the worker is free.
 */
export async function advanceAppserver(o: Orchestrator, appserverId: string): Promise<{ state?: AppserverState; steps: number }> {
  let steps = 0
  let state: AppserverState | undefined
  for (;;) {
    const result = await o.db.$transaction((tx) => runStep(o, tx, appserverId, (s) => (state = s)), {
      timeout: STEP_TIMEOUT_MS,
      maxWait: 30_000,
    })
    steps++
    if (result.kind !== 'busy' && result.notifyDeployment)
      await o.jobs.send(QUEUES.advanceDeployment.name, { deploymentId: result.notifyDeployment })
    if (result.kind === 'wait') await o.jobs.send(QUEUES.advanceAppserver.name, { appserverId }, { startAfter: result.at })
    if (result.kind !== 'continue') return { state, steps }
  }
}

async function runStep(o: Orchestrator, tx: Tx, id: string, seen: (s: AppserverState) => void): Promise<StepResult> {
  const locked = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM appservers WHERE id = ${id}::uuid FOR UPDATE SKIP LOCKED`
  if (!locked.length) return { kind: 'busy' }
  const row = await tx.appserver.findUnique({ where: { id }, include: APPSERVER_WITH_DEPLOYMENT })
  if (!row) return { kind: 'idle' }
  seen(row.state)
  const now = o.now()
  if (WAITING.includes(row.state) && row.nextCheckAt && row.nextCheckAt.getTime() > now.getTime() + 250) return { kind: 'idle' }

  const ref: AppserverRef = { id: row.id, state: row.state, instanceId: row.instanceId, organizationId: row.instance.organizationId }
  const lines: string[] = []
  const log = (line: string) => lines.push(line)
  const flush = () => appendAppserverLog(tx, row.id, lines.splice(0), 'info', now)
  const timing = (deadline: Date | null, retryMs: number) => ({ now, deadline, retryMs })
  const cfg = o.config.appservers

  const apply = async (decision: StepDecision, extra: Prisma.AppserverUncheckedUpdateInput = {}): Promise<StepResult> => {
    await flush()
    if (decision.kind === 'idle') return { kind: 'idle' }
    if (decision.kind === 'wait') {
      const at = new Date(now.getTime() + decision.ms)
      const note = decision.note ?? null
      // One line per new reason, not one per check: a slow boot should not bury the log.
      if (note && note !== row.error) await appendAppserverLog(tx, row.id, [note], note.includes('fail') ? 'error' : 'info', now)
      await tx.appserver.update({ where: { id: row.id }, data: { ...extra, nextCheckAt: at, error: note } })
      return { kind: 'wait', at }
    }
    const to = decision.to
    if (decision.address) await appendAppserverLog(tx, row.id, [`answers at ${decision.address}`], 'info', now)
    // The last error stays readable after a failed appserver is removed.
    const data: Prisma.AppserverUncheckedUpdateInput = {
      ...extra,
      nextCheckAt: now,
      ...(to === 'terminating' || to === 'terminated' ? {} : { error: null }),
    }
    if (decision.address) data.address = decision.address
    if (to === 'configuring') data.phaseDeadline = new Date(now.getTime() + cfg.configureTimeoutMs)
    if (to === 'starting') Object.assign(data, { phaseDeadline: new Date(now.getTime() + cfg.healthDeadlineMs), healthChecks: 0 })
    if (to === 'healthy' || to === 'inactive') Object.assign(data, { phaseDeadline: null, nextCheckAt: null })
    if (to === 'failed') Object.assign(data, { failedPhase: row.state, error: decision.error ?? decision.message, phaseDeadline: null })
    await transitionAppserver(tx, ref, to, decision.message, data, now)
    if (to === 'healthy' || to === 'inactive') return { kind: 'idle', notifyDeployment: row.deploymentId }
    if (to === 'failed') return { kind: 'continue', notifyDeployment: row.deploymentId }
    return { kind: 'continue' }
  }

  const onDriverError = (err: unknown, deadline: Date | null) => {
    const e = err instanceof ProvisionerError ? err : { message: err instanceof Error ? err.message : String(err), retryable: true }
    if (!(err instanceof ProvisionerError)) o.log.error({ err, appserverId: row.id }, 'appserver step failed unexpectedly')
    return apply(decideDriverError({ message: e.message, retryable: e.retryable }, row.state, timing(deadline, cfg.pollIntervalMs)))
  }

  switch (row.state) {
    case 'new': {
      let driver: VmDriver
      let vm: VmRef
      try {
        driver = o.driver(row.driver)
        vm = await driver.create(vmSpec(o, row), log)
      } catch (err) {
        return onDriverError(err, null)
      }
      crashPoint(o.config.crashPoint, 'appserver.after-create')
      return apply(
        { kind: 'transition', to: 'provisioning', message: `${driver.kind} VM ${vm.externalId} requested` },
        {
          externalId: vm.externalId,
          vmFacts: vm.facts ?? {},
          vmSecrets: vm.secrets ? sealJson(o.box, vm.secrets) : null,
          phaseDeadline: new Date(now.getTime() + cfg.provisionTimeoutMs),
        },
      )
    }
    case 'provisioning': {
      crashPoint(o.config.crashPoint, 'appserver.after-provisioning')
      try {
        const obs = await o.driver(row.driver).observe(vmRef(o, row))
        crashPoint(o.config.crashPoint, 'appserver.after-observe')
        return apply(decideProvisioning(obs, timing(row.phaseDeadline, cfg.pollIntervalMs)))
      } catch (err) {
        return onDriverError(err, row.phaseDeadline)
      }
    }
    case 'configuring': {
      try {
        const progress = await o.driver(row.driver).configure(vmRef(o, row), vmSpec(o, row), row.address ?? '', log)
        return apply(decideConfiguring(progress, timing(row.phaseDeadline, cfg.pollIntervalMs)))
      } catch (err) {
        return onDriverError(err, row.phaseDeadline)
      }
    }
    case 'starting': {
      const health = await checkHealth(row.address ?? '', row.deployment.healthPath, cfg.healthRequestTimeoutMs)
      await tx.appserver.update({ where: { id: row.id }, data: { healthChecks: { increment: 1 } } })
      if (health.ok) crashPoint(o.config.crashPoint, 'appserver.after-health')
      return apply(decideStarting(health, timing(row.phaseDeadline, cfg.healthIntervalMs)))
    }
    case 'draining':
      return apply(decideDraining(row.drainUntil, now))
    case 'failed':
      return apply({ kind: 'transition', to: 'terminating', message: "removing the failed appserver's VM" })
    case 'terminating': {
      try {
        const driver = o.driver(row.driver)
        const vm = row.externalId ? vmRef(o, row) : await findVm(driver, row.id)
        if (vm) await driver.destroy(vm, log)
        else log('no VM was created')
      } catch (err) {
        return onDriverError(err, null)
      }
      crashPoint(o.config.crashPoint, 'appserver.after-destroy')
      const result = await apply(
        { kind: 'transition', to: 'terminated', message: 'VM destroyed' },
        { terminatedAt: now, nextCheckAt: null },
      )
      return { ...result, kind: 'idle', notifyDeployment: row.deploymentId }
    }
    default:
      return { kind: 'idle' }
  }
}

/** What the driver needs: the frozen configuration with its secrets, decrypted only here and only in memory. */
function vmSpec(o: Orchestrator, row: Row): VmSpec {
  const configuration = {
    ...(row.deployment.configuration as Record<string, unknown>),
    ...openJson<Record<string, unknown>>(o.box, row.deployment.configurationSecrets),
  }
  return { appserverId: row.id, instanceSlug: row.instance.slug, configuration, healthPath: row.deployment.healthPath }
}

function vmRef(o: Orchestrator, row: Row): VmRef {
  return {
    externalId: row.externalId ?? '',
    facts: (row.vmFacts ?? {}) as Record<string, string>,
    secrets: row.vmSecrets ? openJson<Record<string, string>>(o.box, row.vmSecrets) : undefined,
  }
}

/** A VM created just before a crash, before its id was recorded: find it by its tag. */
async function findVm(driver: VmDriver, appserverId: string): Promise<VmRef | undefined> {
  const found = (await driver.list()).find((vm) => vm.appserverId === appserverId)
  return found ? { externalId: found.externalId } : undefined
}
