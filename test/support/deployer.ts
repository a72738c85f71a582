import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type PgBoss from 'pg-boss'
import pino from 'pino'
import { systemActor } from '@/lib/auth/actor'
import { parseConfig, type Config } from '@/lib/config'
import type { Db } from '@/lib/db/client'
import { createOrchestrator } from '@/lib/deployments/create-orchestrator'
import type { Orchestrator } from '@/lib/deployments/orchestrator'
import { createInstance } from '@/lib/instances/create-instance'
import { startQueue, startWorkers } from '@/lib/jobs/queue'
import { bossSender } from '@/lib/jobs/send'
import { freshDatabase, type FreshDatabase } from '../integration/helpers'
import { uniq } from './fixtures'

export interface Deployer {
  fresh: FreshDatabase
  db: Db
  config: Config
  boss: PgBoss
  orchestrator: Orchestrator
  stateDir: string
  /** creates an organization and an instance in it */
  createInstance(opts?: { extraSettings?: string; appserverCount?: number }): Promise<{ id: string; organizationId: string; slug: string }>
  stop(): Promise<void>
}

/** Fast lifecycle timings for tests: checks every 100 ms, short drains and deadlines. */
export const FAST_ENV = {
  VM_POLL_INTERVAL_SECONDS: '0.1',
  HEALTH_CHECK_INTERVAL_SECONDS: '0.1',
  HEALTH_CHECK_TIMEOUT_SECONDS: '2',
  HEALTH_DEADLINE_SECONDS: '4',
  PROVISION_TIMEOUT_SECONDS: '20',
  DRAIN_SECONDS: '0.3',
  RECONCILE_INTERVAL_SECONDS: '1',
  ORPHAN_GRACE_SECONDS: '0',
}

/**
 * A deployment environment on a database of its own: a worker (pg-boss + handlers) in this process, the
 * local driver in a temporary folder with a unique owner tag (so parallel test files never see each
 * other's appservers).
 */
export async function startDeployer(env: Record<string, string> = {}, opts: { worker?: boolean } = {}): Promise<Deployer> {
  const fresh = await freshDatabase()
  const stateDir = await mkdtemp(path.join(os.tmpdir(), 'tenon-appservers-'))
  const config = parseConfig({
    ...process.env,
    DATABASE_URL: fresh.url,
    LOCAL_APPSERVER_DIR: stateDir,
    OWNER_TAG: `t${uniq()}`,
    WORKER_CONCURRENCY: '4',
    ...FAST_ENV,
    ...env,
  })
  const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' })
  const boss = await startQueue(fresh.url, log)
  const orchestrator = createOrchestrator({ db: fresh.db, config, log, jobs: bossSender(boss) })
  const workers = opts.worker === false ? undefined : await startWorkers({ boss, db: fresh.db, config, log, orchestrator })
  const staff = systemActor('tests')
  return {
    fresh,
    db: fresh.db,
    config,
    boss,
    orchestrator,
    stateDir,
    async createInstance(o = {}) {
      const org = await fresh.db.organization.create({ data: { name: `Org ${uniq()}`, slug: `org-${uniq()}` } })
      const instance = await createInstance({
        db: fresh.db,
        actor: staff,
        hostingZone: config.hostingZone,
        resources: { box: orchestrator.box, ownerTag: config.ownerTag, jobs: orchestrator.jobs },
        input: {
          organizationId: org.id,
          name: `Site ${uniq()}`,
          blueprint: 'openedx',
          settings: { contactEmail: 'ops@example.test' },
          extraSettings: o.extraSettings ?? '',
          appserverCount: o.appserverCount ?? 1,
        },
      })
      return { id: instance.id, organizationId: org.id, slug: instance.slug }
    },
    async stop() {
      workers?.stop()
      await boss.stop({ graceful: false, wait: true })
      // Every appserver this environment started, whatever state the test left it in.
      const driver = orchestrator.driver('local')
      for (const vm of await driver.list()) await driver.destroy({ externalId: vm.externalId }, () => {})
      await fresh.drop()
      await rm(stateDir, { recursive: true, force: true })
    },
  }
}
