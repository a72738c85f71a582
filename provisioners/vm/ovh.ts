/**
 * The OVH Public Cloud VM driver: one instance per appserver, reached over SSH with a key made for it,
 * configured by Ansible running in the background. Every call to the OVH API goes through ovh/api.ts.
 */
import { z } from 'zod'
import { type OwnedVm, parseVmName, ProvisionerError, type VmDriver, type VmObservation, type VmPhase, type VmRef, vmName } from '../types'
import { createOvhApi, OvhRequestError } from './ovh/api'
import { type AnsibleRunOptions, progressAnsibleRun, removeAnsibleRun } from './ovh/ansible-run'
import { renderCloudInit } from './ovh/cloud-init'
import { appserverKeyPair, samePublicKey } from './ovh/ssh-key'

export interface OvhDriverOptions {
  /** "ovh-eu", "ovh-ca", "ovh-us" (names the official client knows), or an https:// API base URL. */
  endpoint: string
  appKey: string
  appSecret: string
  consumerKey: string
  /** The Public Cloud project id (the API's `serviceName`). */
  projectId: string
  /** Region new instances are created in, e.g. "GRA11". */
  region: string
  flavorId: string
  imageId: string
  /** The user cloud-init creates and Ansible connects as (default "ubuntu"). */
  sshUser?: string
  /** Port the appserver answers HTTP on (default 80). */
  appserverPort?: number
  /** This installation's owner tag: every instance and key is named `vmName(ownerTag, appserverId)`. */
  ownerTag: string
  /**
   * Secret the appservers' SSH keys are derived from (with the appserver id). Recommended: with it a create
   * retried after a crash recovers the key of the instance it finds; without it keys are random and such an
   * instance cannot be configured (configure then fails, and the appserver is replaced).
   */
  sshKeySecret?: string
  /** Bill new instances monthly instead of hourly (default false). */
  monthlyBilling?: boolean
  ansible: {
    /** Default "ansible/appserver.yml", resolved against the working directory. */
    playbook?: string
    /** Folder for run state and logs, one sub-folder per appserver. Share it between workers that may pick up the same appserver. */
    runDir: string
    extraArgs?: string[]
    /** The ansible-playbook executable (default "ansible-playbook"). */
    command?: string
    /** ansible.cfg to use (default "ansible/ansible.cfg" beside the default playbook; none for another playbook). */
    configFile?: string
    /** A run recorded by another machine and unfinished after this long is started again (default 2 hours). */
    staleAfterMs?: number
  }
  /** Timeout of one OVH API call (default 30 s). */
  requestTimeoutMs?: number
}

const ZIpAddress = z.object({ ip: z.string(), type: z.string(), version: z.number() })
const ZInstance = z.object({
  id: z.string(),
  name: z.string(),
  status: z.string(),
  region: z.string(),
  sshKeyId: z.string().nullish(),
  ipAddresses: z.array(ZIpAddress).nullish(),
})
type TInstance = z.infer<typeof ZInstance>
const ZSshKey = z.object({ id: z.string(), name: z.string(), publicKey: z.string() })
const ZAnything = z.unknown()

// Statuses an instance passes through on its way to ACTIVE (or back to it): look again later.
const TRANSIENT = new Set([
  'BUILD',
  'BUILDING',
  'REBOOT',
  'HARD_REBOOT',
  'REBUILD',
  'RESIZE',
  'RESIZED',
  'VERIFY_RESIZE',
  'REVERT_RESIZE',
  'MIGRATING',
  'PASSWORD',
  'RESUMING',
  'UNSHELVING',
  'SHELVING',
  'SNAPSHOTTING',
  'RESCUING',
  'UNRESCUING',
  'UNKNOWN',
])
const GONE = new Set(['DELETED', 'DELETING', 'SOFT_DELETED'])

export function createOvhDriver(options: OvhDriverOptions): VmDriver {
  const api = createOvhApi({
    endpoint: options.endpoint,
    appKey: options.appKey,
    appSecret: options.appSecret,
    consumerKey: options.consumerKey,
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
  })
  const sshUser = options.sshUser ?? 'ubuntu'
  const appserverPort = options.appserverPort ?? 80
  const project = `/cloud/project/${encodeURIComponent(options.projectId)}`
  const playbook = options.ansible.playbook ?? 'ansible/appserver.yml'
  const ansible: AnsibleRunOptions = {
    playbook,
    runDir: options.ansible.runDir,
    extraArgs: options.ansible.extraArgs ?? [],
    command: options.ansible.command ?? 'ansible-playbook',
    configFile: options.ansible.configFile ?? (options.ansible.playbook === undefined ? 'ansible/ansible.cfg' : undefined),
    staleAfterMs: options.ansible.staleAfterMs ?? 2 * 3600_000,
  }

  const listInstances = (operation: string) => api.call(operation, 'GET', `${project}/instance`, undefined, z.array(ZInstance))

  // Every region: an instance made before the configured region changed is still this appserver's.
  async function findInstance(name: string): Promise<TInstance | undefined> {
    return (await listInstances('find instance')).find((i) => i.name === name && !GONE.has(i.status))
  }

  /** Deletes, treating "already gone" as done. */
  async function deleteIfPresent(operation: string, path: string): Promise<boolean> {
    try {
      await api.call(operation, 'DELETE', path, undefined, ZAnything)
      return true
    } catch (error) {
      if (error instanceof OvhRequestError && error.status === 404) return false
      throw error
    }
  }

  function observation(instance: TInstance): VmObservation {
    const phase = phaseOf(instance.status)
    if (phase !== 'running') return { phase, detail: `OVH instance status ${instance.status}` }
    const ipv4 = (instance.ipAddresses ?? []).find((a) => a.type === 'public' && a.version === 4)
    if (!ipv4) return { phase: 'pending', detail: 'OVH instance is ACTIVE, waiting for its public IPv4 address' }
    return { phase: 'running', address: `http://${ipv4.ip}:${appserverPort}`, detail: `OVH instance status ${instance.status}` }
  }

  return {
    kind: 'ovh',

    async create(spec, log) {
      const name = vmName(options.ownerTag, spec.appserverId)
      const keys = appserverKeyPair(spec.appserverId, name, options.sshKeySecret)
      const existing = await findInstance(name)
      if (existing) {
        log(`OVH instance ${existing.id} (${name}) already exists; using it`)
        if (options.sshKeySecret === undefined) log('its SSH key was random and cannot be recovered: configuring it will fail')
        return {
          externalId: existing.id,
          facts: { region: existing.region, name, ...(existing.sshKeyId ? { sshKeyId: existing.sshKeyId } : {}) },
          ...(options.sshKeySecret === undefined ? {} : { secrets: { sshPrivateKey: keys.privateKey } }),
        }
      }

      const sshKeyId = await registerKey(name, keys.publicKey, log)
      const userData = renderCloudInit({ appserverId: spec.appserverId, hostname: name, sshUser, publicKey: keys.publicKey })
      let instance: TInstance
      try {
        instance = await api.call(
          'create instance',
          'POST',
          `${project}/instance`,
          {
            name,
            region: options.region,
            flavorId: options.flavorId,
            imageId: options.imageId,
            sshKeyId,
            userData,
            monthlyBilling: options.monthlyBilling ?? false,
          },
          ZInstance,
        )
      } catch (error) {
        if (error instanceof OvhRequestError && error.status !== undefined && error.status < 500 && /quota/i.test(error.message)) {
          throw new ProvisionerError(
            'ovh',
            'create instance',
            `the Public Cloud project's quota is used up (${error.message.replace(/^ovh create instance: /, '')}); free instances or raise the quota`,
            true,
            { cause: error },
          )
        }
        throw error
      }
      log(`OVH instance ${instance.id} (${name}) created in ${options.region}, status ${instance.status}`)
      return { externalId: instance.id, facts: { sshKeyId, region: options.region, name }, secrets: { sshPrivateKey: keys.privateKey } }
    },

    async observe(ref) {
      try {
        return observation(
          await api.call('get instance', 'GET', `${project}/instance/${encodeURIComponent(ref.externalId)}`, undefined, ZInstance),
        )
      } catch (error) {
        if (error instanceof OvhRequestError && error.status === 404) return { phase: 'gone', detail: 'OVH instance not found' }
        throw error
      }
    },

    async configure(ref, spec, address, log) {
      const sshPrivateKey = ref.secrets?.sshPrivateKey
      if (!sshPrivateKey)
        return { state: 'failed', error: 'no SSH private key for this VM (it cannot be reached by Ansible): replace the appserver' }
      let host: string
      try {
        host = new URL(address).hostname.replace(/^\[(.*)\]$/, '$1')
      } catch {
        return { state: 'failed', error: `not a URL: ${address}` }
      }
      return progressAnsibleRun(
        ansible,
        {
          appserverId: spec.appserverId,
          name: ref.facts?.name ?? vmName(options.ownerTag, spec.appserverId),
          host,
          sshUser,
          sshPrivateKey,
          variables: {
            ...spec.configuration,
            // The whole configuration under one name too, for playbooks that write it out as a document.
            tenon_configuration: spec.configuration,
            tenon_appserver_id: spec.appserverId,
            tenon_instance_slug: spec.instanceSlug,
            tenon_health_path: spec.healthPath,
            tenon_appserver_port: appserverPort,
          },
        },
        log,
      )
    },

    async destroy(ref, log) {
      const appserverId = appserverIdOf(ref)
      if (await deleteIfPresent('delete instance', `${project}/instance/${encodeURIComponent(ref.externalId)}`)) {
        log(`OVH instance ${ref.externalId} deleted`)
      }
      const keyIds = ref.facts?.sshKeyId ? [ref.facts.sshKeyId] : await keyIdsNamed(ref.facts?.name)
      for (const keyId of keyIds) {
        if (await deleteIfPresent('delete ssh key', `${project}/sshkey/${encodeURIComponent(keyId)}`)) log(`OVH SSH key ${keyId} deleted`)
      }
      if (appserverId) await removeAnsibleRun(ansible, appserverId)
    },

    async list(): Promise<OwnedVm[]> {
      const owned: OwnedVm[] = []
      for (const instance of await listInstances('list instances')) {
        const appserverId = parseVmName(options.ownerTag, instance.name)
        if (appserverId) owned.push({ appserverId, externalId: instance.id, phase: observation(instance).phase })
      }
      return owned
    },

    async testConnection() {
      await api.call('test connection', 'GET', project, undefined, ZAnything)
    },
  }

  /** Registers the appserver's public key, reusing one of the same name left by an earlier try. */
  async function registerKey(name: string, publicKey: string, log: (line: string) => void): Promise<string> {
    const existing = (await api.call('list ssh keys', 'GET', `${project}/sshkey`, undefined, z.array(ZSshKey))).filter(
      (k) => k.name === name,
    )
    const same = existing.find((k) => samePublicKey(k.publicKey, publicKey))
    if (same) {
      log(`OVH SSH key ${same.id} (${name}) already registered; using it`)
      return same.id
    }
    // A key of our name holding another public key (a random key from a try that crashed): ours replaces it.
    for (const stale of existing) await deleteIfPresent('delete ssh key', `${project}/sshkey/${encodeURIComponent(stale.id)}`)
    const created = await api.call('register ssh key', 'POST', `${project}/sshkey`, { name, publicKey, region: options.region }, ZSshKey)
    log(`OVH SSH key ${created.id} (${name}) registered`)
    return created.id
  }

  async function keyIdsNamed(name: string | undefined): Promise<string[]> {
    if (!name) return []
    return (await api.call('list ssh keys', 'GET', `${project}/sshkey`, undefined, z.array(ZSshKey)))
      .filter((k) => k.name === name)
      .map((k) => k.id)
  }

  function appserverIdOf(ref: VmRef): string | undefined {
    return ref.facts?.name ? parseVmName(options.ownerTag, ref.facts.name) : undefined
  }
}

function phaseOf(status: string): VmPhase {
  if (status === 'ACTIVE') return 'running'
  if (status === 'ERROR') return 'failed'
  if (GONE.has(status)) return 'gone'
  if (TRANSIENT.has(status)) return 'pending'
  // Stopped, suspended, shelved, in rescue: not serving, and appservers are replaced rather than repaired.
  return 'failed'
}
