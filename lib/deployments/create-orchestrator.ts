import path from 'node:path'
import type { Logger } from 'pino'
import type { Config } from '@/lib/config'
import type { Db } from '@/lib/db/client'
import type { VmDriverKind } from '@/lib/db/generated/enums'
import type { JobSender } from '@/lib/jobs/send'
import { createRouter } from '@/lib/routing/create-router'
import { getSecretBox } from '@/lib/secrets'
import { createVmDriver, type VmDriverSettings } from '@/provisioners/vm'
import { ProvisionerError, type Router, type VmDriver } from '@/provisioners/types'
import type { Orchestrator } from './orchestrator'

/** The settings of a VM driver from the config, or undefined when that driver is not configured. */
export function vmDriverSettings(config: Config, kind: VmDriverKind): VmDriverSettings | undefined {
  const common = { ownerTag: config.ownerTag }
  switch (kind) {
    case 'local':
      return { kind, options: { ...common, stateDir: path.resolve(config.localAppserverDir) } }
    case 'ovh': {
      const c = config.ovh
      if (!c) return undefined
      return {
        kind,
        options: {
          ...common,
          endpoint: c.endpoint,
          appKey: c.appKey,
          appSecret: c.appSecret,
          consumerKey: c.consumerKey,
          projectId: c.projectId,
          region: c.region,
          flavorId: c.flavorId,
          imageId: c.imageId,
          sshUser: c.sshUser,
          appserverPort: c.appserverPort,
          sshKeySecret: c.sshKeySecret,
          ansible: { playbook: c.ansiblePlaybook, runDir: path.resolve(c.ansibleRunDir) },
          requestTimeoutMs: config.providerTimeoutMs,
        },
      }
    }
    case 'nomad': {
      const c = config.nomad
      if (!c) return undefined
      return {
        kind,
        options: {
          ...common,
          address: c.address,
          token: c.token,
          datacenters: c.datacenters,
          region: c.region,
          namespace: c.namespace,
          image: c.image,
          cpu: c.cpuMhz,
          memoryMb: c.memoryMb,
          requestTimeoutMs: config.providerTimeoutMs,
        },
      }
    }
  }
}

/** The worker's orchestrator: drivers are created on first use, one per kind. */
export function createOrchestrator(opts: {
  db: Db
  config: Config
  log: Logger
  jobs: JobSender
  router?: Router
  now?: () => Date
}): Orchestrator {
  const drivers = new Map<VmDriverKind, VmDriver>()
  return {
    db: opts.db,
    config: opts.config,
    box: getSecretBox(opts.config),
    log: opts.log,
    jobs: opts.jobs,
    router: opts.router ?? createRouter(opts.config),
    now: opts.now ?? (() => new Date()),
    driver(kind) {
      let driver = drivers.get(kind)
      if (!driver) {
        const settings = vmDriverSettings(opts.config, kind)
        if (!settings)
          throw new ProvisionerError(
            kind,
            'configure driver',
            `the ${kind} driver is not configured (see the README's configuration table)`,
          )
        driver = createVmDriver(settings)
        drivers.set(kind, driver)
      }
      return driver
    },
  }
}
