/**
 * The `nomad` VM driver: one Nomad service job per appserver, running the appserver's container image with the
 * docker task driver. The job spec carries the frozen configuration, so there is nothing to configure afterwards.
 */
import { z } from 'zod'
import { parseAnswer } from '../parse-answer'
import {
  ProvisionerError,
  parseVmName,
  vmName,
  type ConfigureProgress,
  type LogSink,
  type OwnedVm,
  type VmDriver,
  type VmObservation,
  type VmPhase,
  type VmRef,
  type VmSpec,
} from '../types'

export interface NomadDriverOptions {
  /** NOMAD_ADDR, e.g. https://nomad.example.net:4646 (a path prefix is kept). */
  address: string
  /** ACL token (X-Nomad-Token); needs submit-job, read-job and list-jobs in the namespace. */
  token?: string
  datacenters: string[]
  region?: string
  namespace?: string
  /** This installation's owner tag: job IDs are `vmName(ownerTag, appserverId)`. */
  ownerTag: string
  /** Container image of the appserver, run by the docker task driver. */
  image: string
  /** CPU reservation in MHz. */
  cpu: number
  memoryMb: number
  requestTimeoutMs: number
  /** Port the appserver listens on inside its container; Nomad maps a dynamic host port labelled "http" to it. Default 8000. */
  containerPort?: number
  /** Where the service and its HTTP check are registered: Nomad's own service discovery or Consul. Default "nomad". */
  serviceProvider?: 'nomad' | 'consul'
  /** Placements tried after a failed allocation (the job's reschedule policy) before the job is left dead. Default 2. */
  rescheduleAttempts?: number
}

const PROVIDER = 'nomad'
const GROUP = 'appserver'
const TASK = 'appserver'
/** Inside a docker task Nomad mounts the allocation's secrets directory here (tmpfs, not in the image). */
const CONFIG_FILE = '/secrets/tenon-config.json'
const SECOND_NS = 1_000_000_000

// Only the fields the driver reads; Nomad sends many more.
const ZRegisterResponse = z.looseObject({ EvalID: z.string().optional(), JobModifyIndex: z.number().optional() })
const ZDeregisterResponse = z.looseObject({ EvalID: z.string().optional() })
const ZJob = z.looseObject({ ID: z.string(), Status: z.string(), Stop: z.boolean().optional(), StatusDescription: z.string().optional() })
const ZJobStub = z.looseObject({
  ID: z.string(),
  Status: z.string(),
  Stop: z.boolean().optional(),
  Meta: z.record(z.string(), z.string()).nullish(),
})
const ZTaskEvent = z.looseObject({
  Type: z.string().optional(),
  DisplayMessage: z.string().optional(),
  Message: z.string().optional(),
  DriverError: z.string().optional(),
})
const ZTaskState = z.looseObject({ State: z.string().optional(), Failed: z.boolean().optional(), Events: z.array(ZTaskEvent).nullish() })
const ZAllocStub = z.looseObject({
  ID: z.string(),
  ClientStatus: z.string(),
  ClientDescription: z.string().optional(),
  DesiredStatus: z.string(),
  CreateIndex: z.number(),
  TaskStates: z.record(z.string(), ZTaskState).nullish(),
})
const ZPort = z.looseObject({ Label: z.string(), Value: z.number(), HostIP: z.string().optional() })
const ZNetwork = z.looseObject({
  IP: z.string().optional(),
  DynamicPorts: z.array(ZPort).nullish(),
  ReservedPorts: z.array(ZPort).nullish(),
})
const ZAllocation = z.looseObject({
  ID: z.string(),
  AllocatedResources: z
    .looseObject({
      Shared: z.looseObject({ Ports: z.array(ZPort).nullish(), Networks: z.array(ZNetwork).nullish() }).nullish(),
      Tasks: z.record(z.string(), z.looseObject({ Networks: z.array(ZNetwork).nullish() })).nullish(),
    })
    .nullish(),
})
type TAllocStub = z.infer<typeof ZAllocStub>
type TAllocation = z.infer<typeof ZAllocation>

/** Task event types that say why a task died, as opposed to bookkeeping such as "Not Restarting" or "Killing". */
const FAILURE_EVENTS = new Set([
  'Driver Failure',
  'Setup Failure',
  'Failed Validation',
  'Task hook failed',
  'Failed Artifact Download',
  'Terminated',
  'Alloc Unhealthy',
  'OOM Killed',
])

interface Answer {
  status: number
  text: string
}

export function createNomadDriver(options: NomadDriverOptions): VmDriver {
  const base = options.address.replace(/\/+$/, '')
  const containerPort = options.containerPort ?? 8000
  const prefix = vmName(options.ownerTag, '')

  function statusError(operation: string, answer: Answer): ProvisionerError {
    const body = answer.text.trim().replace(/\s+/g, ' ').slice(0, 300)
    const hint = answer.status === 403 ? ' (check the Nomad ACL token and its policy)' : ''
    const retryable = answer.status === 429 || answer.status >= 500
    return new ProvisionerError(PROVIDER, operation, `HTTP ${answer.status}: ${body || '(empty body)'}${hint}`, retryable)
  }

  /** Every call to Nomad goes through here: timeout, token, namespace/region, status check. */
  async function call(
    operation: string,
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    opts: { query?: Record<string, string | undefined>; body?: unknown; accept?: number[]; namespace?: string } = {},
  ): Promise<Answer> {
    const params = new URLSearchParams()
    const namespace = opts.namespace ?? options.namespace
    if (namespace) params.set('namespace', namespace)
    if (options.region) params.set('region', options.region)
    for (const [key, value] of Object.entries(opts.query ?? {})) if (value !== undefined) params.set(key, value)
    const query = params.toString() ? `?${params.toString()}` : ''
    const headers: Record<string, string> = { accept: 'application/json' }
    if (options.token) headers['x-nomad-token'] = options.token
    if (opts.body !== undefined) headers['content-type'] = 'application/json'
    let answer: Answer
    try {
      const response = await fetch(`${base}${path}${query}`, {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: AbortSignal.timeout(options.requestTimeoutMs),
      })
      answer = { status: response.status, text: await response.text() }
    } catch (err) {
      if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
        throw new ProvisionerError(PROVIDER, operation, `no answer from ${base} within ${options.requestTimeoutMs} ms`, true, {
          cause: err,
        })
      }
      const reason = err instanceof Error ? (causeMessage(err) ?? err.message) : String(err)
      throw new ProvisionerError(PROVIDER, operation, `cannot reach ${base}: ${reason}`, true, { cause: err })
    }
    if (!(opts.accept ?? [200]).includes(answer.status)) throw statusError(operation, answer)
    return answer
  }

  function parse<S extends z.ZodType>(operation: string, schema: S, text: string): z.infer<S> {
    return parseAnswer(PROVIDER, operation, schema, text, 'Nomad')
  }

  const jobPath = (jobId: string) => `/v1/job/${encodeURIComponent(jobId)}`
  const namespaceOf = (ref: VmRef) => ref.facts?.namespace || options.namespace

  async function readJob(jobId: string, namespace?: string) {
    const answer = await call('read job', 'GET', jobPath(jobId), { accept: [200, 404], namespace })
    return answer.status === 404 ? undefined : parse('read job', ZJob, answer.text)
  }

  function jobSpec(spec: VmSpec, jobId: string) {
    const attempts = options.rescheduleAttempts ?? 2
    const configJson = JSON.stringify(spec.configuration)
    return {
      ID: jobId,
      Name: jobId,
      Type: 'service',
      Datacenters: options.datacenters,
      ...(options.region ? { Region: options.region } : {}),
      ...(options.namespace ? { Namespace: options.namespace } : {}),
      Meta: { tenon_owner: options.ownerTag, tenon_appserver_id: spec.appserverId, tenon_instance: spec.instanceSlug },
      TaskGroups: [
        {
          Name: GROUP,
          Count: 1,
          Networks: [{ Mode: 'host', DynamicPorts: [{ Label: 'http', To: containerPort }] }],
          Services: [
            {
              Name: serviceName(options.ownerTag, spec.instanceSlug),
              PortLabel: 'http',
              Provider: options.serviceProvider ?? 'nomad',
              Tags: [`appserver-${spec.appserverId}`],
              Checks: [{ Name: 'health', Type: 'http', Path: spec.healthPath, Interval: 10 * SECOND_NS, Timeout: 3 * SECOND_NS }],
            },
          ],
          // Nomad's default for service jobs reschedules forever; a bounded policy lets a broken appserver end "dead"
          // so the deployment sees it failed instead of waiting out its timeout.
          ReschedulePolicy: {
            Attempts: attempts,
            Interval: 3600 * SECOND_NS,
            Delay: 15 * SECOND_NS,
            DelayFunction: 'constant',
            Unlimited: false,
          },
          RestartPolicy: { Attempts: 2, Interval: 1800 * SECOND_NS, Delay: 15 * SECOND_NS, Mode: 'fail' },
          Tasks: [
            {
              Name: TASK,
              Driver: 'docker',
              Config: { image: options.image, ports: ['http'] },
              Env: {
                TENON_APPSERVER_ID: spec.appserverId,
                TENON_INSTANCE: spec.instanceSlug,
                TENON_CONFIG_FILE: CONFIG_FILE,
                TENON_HEALTH_PATH: spec.healthPath,
                PORT: String(containerPort),
              },
              // Base64 inside the template, because the template engine would read "{{" in the configuration as its own syntax.
              Templates: [
                {
                  EmbeddedTmpl: `{{ base64Decode "${Buffer.from(configJson, 'utf8').toString('base64')}" }}`,
                  DestPath: 'secrets/tenon-config.json',
                  ChangeMode: 'noop',
                },
              ],
              Resources: { CPU: options.cpu, MemoryMB: options.memoryMb },
            },
          ],
        },
      ],
    }
  }

  async function allocationAddress(allocId: string, namespace?: string): Promise<string | undefined> {
    const answer = await call('read allocation', 'GET', `/v1/allocation/${encodeURIComponent(allocId)}`, { accept: [200, 404], namespace })
    if (answer.status === 404) return undefined
    return httpAddress(parse('read allocation', ZAllocation, answer.text))
  }

  return {
    kind: 'nomad',

    async create(spec: VmSpec, log: LogSink): Promise<VmRef> {
      const jobId = vmName(options.ownerTag, spec.appserverId)
      const ref: VmRef = { externalId: jobId, facts: { jobId, ...(options.namespace ? { namespace: options.namespace } : {}) } }
      const existing = await readJob(jobId)
      if (existing && !existing.Stop) {
        log(`Nomad job ${jobId} is already registered (status ${existing.Status}); not registering it again`)
        return ref
      }
      // EnforceIndex with index 0 registers only if the job does not exist, so two racing creates make one job.
      const enforce = existing ? {} : { EnforceIndex: true, JobModifyIndex: 0 }
      const answer = await call('register job', 'POST', '/v1/jobs', { body: { Job: jobSpec(spec, jobId), ...enforce }, accept: [200, 500] })
      if (answer.status === 500) {
        if (!answer.text.includes('Enforcing job modify index')) throw statusError('register job', answer)
        log(`Nomad job ${jobId} was registered by another attempt meanwhile; using it`)
        return ref
      }
      const registered = parse('register job', ZRegisterResponse, answer.text)
      log(`registered Nomad job ${jobId}${existing ? ' again (it had been stopped)' : ''}, evaluation ${registered.EvalID ?? 'unknown'}`)
      return { ...ref, facts: { ...ref.facts, evalId: registered.EvalID ?? '' } }
    },

    async observe(ref: VmRef): Promise<VmObservation> {
      const namespace = namespaceOf(ref)
      const job = await readJob(ref.externalId, namespace)
      if (!job) return { phase: 'gone', detail: 'no such Nomad job' }
      if (job.Stop) return { phase: 'gone', detail: 'the Nomad job was stopped' }
      const answer = await call('list allocations', 'GET', `${jobPath(ref.externalId)}/allocations`, { namespace })
      const allocs = parse('list allocations', z.array(ZAllocStub), answer.text).sort((a, b) => b.CreateIndex - a.CreateIndex)
      // The newest allocation the scheduler still wants running; stopped ones linger during updates.
      const newest = allocs.find((a) => a.DesiredStatus === 'run') ?? allocs[0]
      if (!newest) {
        if (job.Status === 'dead')
          return { phase: 'failed', detail: `Nomad job is dead without allocations ${job.StatusDescription ?? ''}`.trim() }
        return { phase: 'pending', detail: 'waiting for Nomad to place an allocation (not enough capacity if this lasts)' }
      }
      const short = newest.ID.slice(0, 8)
      switch (newest.ClientStatus) {
        case 'running': {
          const address = await allocationAddress(newest.ID, namespace)
          if (!address) return { phase: 'pending', detail: `allocation ${short} is running but has no "http" port yet` }
          return { phase: 'running', address, detail: `allocation ${short} running` }
        }
        case 'pending':
          return {
            phase: 'pending',
            detail: allocs.length > 1 ? `allocation ${short} starting (rescheduled)` : `allocation ${short} starting`,
          }
        default: {
          const reason = failureReason(newest)
          if (job.Status === 'dead') return { phase: 'failed', detail: `allocation ${short} ${newest.ClientStatus}: ${reason}` }
          return { phase: 'pending', detail: `allocation ${short} ${newest.ClientStatus} (${reason}); Nomad is rescheduling` }
        }
      }
    },

    async configure(): Promise<ConfigureProgress> {
      return { state: 'done' }
    },

    async destroy(ref: VmRef, log: LogSink): Promise<void> {
      const answer = await call('stop job', 'DELETE', jobPath(ref.externalId), {
        query: { purge: 'true' },
        accept: [200, 404],
        namespace: namespaceOf(ref),
      })
      if (answer.status === 404) {
        log(`Nomad job ${ref.externalId} is already gone`)
        return
      }
      const stopped = parse('stop job', ZDeregisterResponse, answer.text)
      log(`stopped and purged Nomad job ${ref.externalId}, evaluation ${stopped.EvalID ?? 'unknown'}`)
    },

    async list(): Promise<OwnedVm[]> {
      const answer = await call('list jobs', 'GET', '/v1/jobs', { query: { prefix, meta: 'true' } })
      const owned: OwnedVm[] = []
      for (const stub of parse('list jobs', z.array(ZJobStub), answer.text)) {
        const appserverId = parseVmName(options.ownerTag, stub.ID)
        if (!appserverId) continue
        // Older Nomad ignores ?meta=true; where Meta is present it must agree with the name.
        if (stub.Meta && (stub.Meta.tenon_owner !== options.ownerTag || stub.Meta.tenon_appserver_id !== appserverId)) continue
        owned.push({ appserverId, externalId: stub.ID, phase: stubPhase(stub) })
      }
      return owned
    },

    async testConnection(): Promise<void> {
      const leader = await call('read leader', 'GET', '/v1/status/leader')
      if (!parse('read leader', z.string(), leader.text))
        throw new ProvisionerError(PROVIDER, 'read leader', 'the cluster has no leader', true)
      // The status endpoint needs no token; listing our jobs proves the token and namespace work.
      await call('list jobs', 'GET', '/v1/jobs', { query: { prefix, per_page: '1' } })
    },
  }
}

/** A job list stub says less than observe: "running" means a live allocation exists, not that it answers. */
function stubPhase(stub: z.infer<typeof ZJobStub>): VmPhase {
  if (stub.Stop) return 'gone'
  if (stub.Status === 'running') return 'running'
  if (stub.Status === 'dead') return 'failed'
  return 'pending'
}

/** Where Nomad reports the "http" port: AllocatedResources.Shared.Ports (1.x), else the group or task networks. */
export function httpAddress(alloc: TAllocation): string | undefined {
  const resources = alloc.AllocatedResources
  const shared = resources?.Shared?.Ports?.find((p) => p.Label === 'http')
  if (shared?.HostIP) return url(shared.HostIP, shared.Value)
  const networks = [...(resources?.Shared?.Networks ?? []), ...Object.values(resources?.Tasks ?? {}).flatMap((t) => t.Networks ?? [])]
  for (const network of networks) {
    const port = [...(network.DynamicPorts ?? []), ...(network.ReservedPorts ?? [])].find((p) => p.Label === 'http')
    if (port && network.IP) return url(network.IP, port.Value)
  }
  return undefined
}

function url(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`
}

/** The message of the last event that says why a task failed, else the last event, else the client's description. */
export function failureReason(alloc: TAllocStub): string {
  let last: string | undefined
  for (const [task, state] of Object.entries(alloc.TaskStates ?? {})) {
    const events = state.Events ?? []
    for (let i = events.length - 1; i >= 0; i--) {
      const event = events[i]
      const message = event?.DisplayMessage || event?.Message || event?.DriverError
      if (!event || !message) continue
      if (FAILURE_EVENTS.has(event.Type ?? '') || event.DriverError) return `${task}: ${message}`
      last ??= `${task}: ${message}`
    }
  }
  return last ?? alloc.ClientDescription ?? 'no reason given'
}

/** Nomad service names are DNS labels: lowercase letters, digits and dashes, at most 63 characters. */
function serviceName(ownerTag: string, instanceSlug: string): string {
  const name = `${ownerTag}-${instanceSlug}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .slice(0, 63)
    .replace(/^-+|-+$/g, '')
  return name || 'tenon-appserver'
}

function causeMessage(err: Error): string | undefined {
  const cause = err.cause
  return cause instanceof Error ? cause.message : undefined
}
