/**
 * A protocol double of the parts of Nomad's HTTP API the `nomad` VM driver uses (see README.md for what is
 * faithful and what is simplified). Each running allocation really answers HTTP on 127.0.0.1, standing in for
 * the task, so callers can check health for real.
 */
import { randomUUID } from 'node:crypto'
import http from 'node:http'
import { z } from 'zod'

export interface NomadDoubleOptions {
  /** When set, every ACL-guarded endpoint wants this X-Nomad-Token (403 otherwise). */
  token?: string
  /** Time an allocation stays pending before it runs (or fails). Default 100 ms. */
  bootDelayMs?: number
  /** The region this "cluster" is; a request naming another region gets 500 "No path to region". Default "global". */
  region?: string
  /** The datacenter reported by /v1/agent/self. Default "dc1". */
  datacenter?: string
}

/** What a test may look at (and a `failJobsMatching` predicate receives). */
export interface NomadDoubleJob {
  id: string
  namespace: string
  status: 'pending' | 'running' | 'dead'
  stop: boolean
  version: number
  /** How many times the job was registered (including updates that changed nothing). */
  registrations: number
  meta: Record<string, string>
  /** The Job object as submitted (a copy). */
  spec: Record<string, unknown>
  allocations: NomadDoubleAllocation[]
}

export interface NomadDoubleAllocation {
  id: string
  clientStatus: ClientStatus
  desiredStatus: 'run' | 'stop'
  previousAllocation: string
  nextAllocation: string
  /** http://127.0.0.1:PORT while the stand-in task listens. */
  address?: string
}

export interface NomadDouble {
  /** Base URL, e.g. http://127.0.0.1:41234 (what NOMAD_ADDR would be). */
  readonly url: string
  /** The next `n` allocations placed fail when they would have started, with `reason` as the task's failure message. */
  failNextAllocations(n: number, reason?: string): void
  /** Every allocation of matching jobs fails (checked when each would start), so such jobs end "dead". */
  failJobsMatching(predicate: (job: NomadDoubleJob) => boolean, reason?: string): void
  /** Changes the boot delay, also of allocations still pending: each boots `ms` after it was placed (at once if that has passed). */
  setBootDelay(ms: number): void
  /** The stand-in task of this job answers its health path with 503 (or 200 again with `false`). */
  setUnhealthy(jobId: string, unhealthy?: boolean): void
  jobs(): NomadDoubleJob[]
  /** Requests served, by "METHOD /path" without the query, for tests that count calls. */
  requestCounts(): Record<string, number>
  /** Stops every timer, stand-in listener and the API server. */
  close(): Promise<void>
}

type ClientStatus = 'pending' | 'running' | 'failed' | 'complete' | 'lost'

// The submitted job, parsed loosely: Nomad accepts far more fields than the double looks at, and echoes them back.
const ZPort = z.looseObject({ Label: z.string(), Value: z.number().int().optional(), To: z.number().int().optional() })
const ZNetwork = z.looseObject({
  Mode: z.string().optional(),
  DynamicPorts: z.array(ZPort).nullish(),
  ReservedPorts: z.array(ZPort).nullish(),
})
const ZCheck = z.looseObject({ Type: z.string().optional(), Path: z.string().optional() })
const ZService = z.looseObject({ Name: z.string().optional(), PortLabel: z.string().optional(), Checks: z.array(ZCheck).nullish() })
const ZReschedulePolicy = z.looseObject({
  Attempts: z.number().int().min(0).optional(),
  Interval: z.number().min(0).optional(),
  Unlimited: z.boolean().optional(),
})
const ZTask = z.looseObject({ Name: z.string().min(1), Driver: z.string().min(1), Services: z.array(ZService).nullish() })
const ZTaskGroup = z.looseObject({
  Name: z.string().min(1),
  Count: z.number().int().min(0).optional(),
  Networks: z.array(ZNetwork).nullish(),
  Services: z.array(ZService).nullish(),
  ReschedulePolicy: ZReschedulePolicy.nullish(),
  Tasks: z.array(ZTask).min(1, 'Missing tasks for task group'),
})
const ZJob = z.looseObject({
  ID: z
    .string()
    .min(1, 'Missing job ID')
    .refine((id) => !/\s/.test(id), 'Job ID contains a space'),
  Name: z.string().optional(),
  Type: z.string().optional(),
  Namespace: z.string().optional(),
  Region: z.string().optional(),
  Priority: z.number().int().optional(),
  Datacenters: z.array(z.string()).nullish(),
  Meta: z.record(z.string(), z.string()).nullish(),
  TaskGroups: z.array(ZTaskGroup).min(1, 'Missing job task groups'),
})
const ZRegisterRequest = z.looseObject({
  Job: ZJob,
  EnforceIndex: z.boolean().optional(),
  JobModifyIndex: z.number().int().optional(),
})
type TJob = z.infer<typeof ZJob>
type TTaskGroup = z.infer<typeof ZTaskGroup>

interface TaskEvent {
  Type: string
  Time: number
  DisplayMessage: string
  Message: string
  DriverError: string
  FailsTask: boolean
  Details: Record<string, string>
}

interface TaskState {
  State: 'pending' | 'running' | 'dead'
  Failed: boolean
  Restarts: number
  LastRestart: string | null
  StartedAt: string | null
  FinishedAt: string | null
  Events: TaskEvent[]
}

interface RescheduleEvent {
  RescheduleTime: number
  PrevAllocID: string
  PrevNodeID: string
  Delay: number
}

interface JobRecord {
  key: string
  spec: TJob
  /** JSON of the submitted job, to tell a real update from a re-submission of the same spec. */
  specText: string
  namespace: string
  stop: boolean
  version: number
  registrations: number
  createIndex: number
  modifyIndex: number
  jobModifyIndex: number
  submitTime: number
  allocs: AllocRecord[]
}

interface AllocRecord {
  id: string
  evalId: string
  name: string
  job: JobRecord
  /** The job's CreateIndex when placed: allocations of an earlier job with the same ID are not listed by default. */
  jobCreateIndex: number
  jobVersion: number
  group: TTaskGroup
  desiredStatus: 'run' | 'stop'
  desiredDescription: string
  clientStatus: ClientStatus
  clientDescription: string
  taskStates: Record<string, TaskState>
  previousAllocation: string
  nextAllocation: string
  rescheduleEvents: RescheduleEvent[]
  createIndex: number
  modifyIndex: number
  createTime: number
  modifyTime: number
  /** Date.now() at placement, for boot timers that follow setBootDelay. */
  placedAt: number
  /** Set at placement by failNextAllocations. */
  failReason?: string
  timer?: NodeJS.Timeout
  listener?: http.Server
  port?: number
}

const NODE_ID = randomUUID()
const NODE_NAME = 'nomad-double-client-1'
const DEFAULT_HEALTH_PATH = '/heartbeat'
/** Nomad's own answer to a service job without a reschedule block is unlimited attempts; the double uses 1 so failures end. */
const DEFAULT_RESCHEDULE_ATTEMPTS = 1
const MAX_BODY_BYTES = 8 * 1024 * 1024

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

const nowNs = () => Date.now() * 1_000_000

function taskEvent(type: string, displayMessage: string, extra: Partial<TaskEvent> = {}): TaskEvent {
  return {
    Type: type,
    Time: nowNs(),
    DisplayMessage: displayMessage,
    Message: '',
    DriverError: '',
    FailsTask: false,
    Details: {},
    ...extra,
  }
}

function healthPathOf(group: TTaskGroup): string {
  const services = [...(group.Services ?? []), ...group.Tasks.flatMap((t) => t.Services ?? [])]
  for (const service of services) {
    for (const check of service.Checks ?? []) {
      if ((check.Type ?? '').toLowerCase() === 'http' && check.Path) return check.Path
    }
  }
  return DEFAULT_HEALTH_PATH
}

/** The "http" port label's container-side port, if the job maps one. */
function httpPortOf(group: TTaskGroup): { label: string; to: number } {
  for (const network of group.Networks ?? []) {
    for (const port of [...(network.DynamicPorts ?? []), ...(network.ReservedPorts ?? [])]) {
      if (port.Label === 'http') return { label: port.Label, to: port.To ?? 0 }
    }
  }
  return { label: 'http', to: 0 }
}

function isTerminal(alloc: AllocRecord): boolean {
  return alloc.desiredStatus !== 'run' || ['failed', 'complete', 'lost'].includes(alloc.clientStatus)
}

/** Nomad's rule (state store getJobStatus): any non-terminal allocation means running; evaluations finish at once here. */
function jobStatus(job: JobRecord): 'pending' | 'running' | 'dead' {
  if (job.allocs.some((a) => !isTerminal(a))) return 'running'
  if (job.stop || job.allocs.length > 0) return 'dead'
  return 'pending'
}

export async function startNomadDouble(options: NomadDoubleOptions = {}): Promise<NomadDouble> {
  const region = options.region ?? 'global'
  const datacenter = options.datacenter ?? 'dc1'
  let bootDelayMs = options.bootDelayMs ?? 100
  let raftIndex = 10
  let failNext: { count: number; reason: string } = { count: 0, reason: '' }
  const failPredicates: { predicate: (job: NomadDoubleJob) => boolean; reason: string }[] = []
  const unhealthy = new Set<string>()
  const jobs = new Map<string, JobRecord>()
  const allocs = new Map<string, AllocRecord>()
  /** Every allocation ever placed for a job ID, purged jobs' included (Nomad keeps them until garbage collection). */
  const allocsByJob = new Map<string, AllocRecord[]>()
  const counts: Record<string, number> = {}
  let closed = false

  const jobKey = (namespace: string, id: string) => `${namespace}\u0000${id}`
  const bump = () => ++raftIndex

  // ------------------------------------------------------------------------------------------
  // Simulation

  function touch(alloc: AllocRecord) {
    alloc.modifyIndex = bump()
    alloc.modifyTime = nowNs()
    alloc.job.modifyIndex = alloc.modifyIndex
  }

  function place(job: JobRecord, group: TTaskGroup, name: string, previous?: AllocRecord) {
    const createIndex = bump()
    const alloc: AllocRecord = {
      id: randomUUID(),
      evalId: randomUUID(),
      name,
      job,
      jobCreateIndex: job.createIndex,
      jobVersion: job.version,
      group,
      desiredStatus: 'run',
      desiredDescription: '',
      clientStatus: 'pending',
      clientDescription: 'No tasks have started',
      taskStates: Object.fromEntries(
        group.Tasks.map((t) => [
          t.Name,
          {
            State: 'pending',
            Failed: false,
            Restarts: 0,
            LastRestart: null,
            StartedAt: null,
            FinishedAt: null,
            Events: [
              taskEvent('Received', 'Task received by client'),
              taskEvent('Task Setup', 'Building Task Directory'),
              taskEvent('Driver', 'Downloading image'),
            ],
          } satisfies TaskState,
        ]),
      ),
      previousAllocation: previous?.id ?? '',
      nextAllocation: '',
      rescheduleEvents: previous
        ? [...previous.rescheduleEvents, { RescheduleTime: nowNs(), PrevAllocID: previous.id, PrevNodeID: NODE_ID, Delay: 0 }]
        : [],
      createIndex,
      modifyIndex: createIndex,
      createTime: nowNs(),
      modifyTime: nowNs(),
      placedAt: Date.now(),
    }
    if (failNext.count > 0) {
      failNext.count--
      alloc.failReason = failNext.reason
    }
    if (previous) previous.nextAllocation = alloc.id
    job.allocs.push(alloc)
    job.modifyIndex = createIndex
    allocs.set(alloc.id, alloc)
    const history = allocsByJob.get(job.key)
    if (history) history.push(alloc)
    else allocsByJob.set(job.key, [alloc])
    alloc.timer = setTimeout(() => boot(alloc), bootDelayMs)
  }

  function placeAll(job: JobRecord) {
    for (const group of job.spec.TaskGroups) {
      const count = group.Count ?? 1
      for (let i = 0; i < count; i++) place(job, group, `${job.spec.ID}.${group.Name}[${i}]`)
    }
  }

  function boot(alloc: AllocRecord) {
    alloc.timer = undefined
    if (closed || alloc.desiredStatus !== 'run' || alloc.clientStatus !== 'pending') return
    // The view copies the spec: build it only when a predicate needs it, since every allocation boots through here.
    const view = alloc.failReason === undefined && failPredicates.length ? jobView(alloc.job) : undefined
    const failure = alloc.failReason ?? (view && failPredicates.find((f) => f.predicate(view))?.reason)
    if (failure !== undefined) return fail(alloc, failure)
    startListener(alloc)
  }

  function startListener(alloc: AllocRecord) {
    const healthPath = healthPathOf(alloc.group)
    const jobId = alloc.job.spec.ID
    const appserverId = alloc.job.spec.Meta?.tenon_appserver_id ?? null
    const server = http.createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]
      if (path !== healthPath) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
      } else if (unhealthy.has(jobId)) {
        res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ appserver: appserverId, healthy: false }))
      } else {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ appserver: appserverId }))
      }
    })
    server.keepAliveTimeout = 1000
    alloc.listener = server
    server.on('error', (err) => {
      if (alloc.clientStatus === 'pending') fail(alloc, `failed to bind port: ${err.message}`)
    })
    server.listen(0, '127.0.0.1', () => {
      if (closed || alloc.desiredStatus !== 'run') return closeListener(alloc)
      alloc.port = portOf(server)
      alloc.clientStatus = 'running'
      alloc.clientDescription = 'Tasks are running'
      for (const state of Object.values(alloc.taskStates)) {
        state.State = 'running'
        state.StartedAt = new Date().toISOString()
        state.Events.push(taskEvent('Started', 'Task started by client'))
      }
      touch(alloc)
    })
  }

  function closeListener(alloc: AllocRecord) {
    const server = alloc.listener
    alloc.listener = undefined
    alloc.port = undefined
    if (!server) return
    server.close()
    server.closeAllConnections()
  }

  function fail(alloc: AllocRecord, reason: string) {
    closeListener(alloc)
    alloc.clientStatus = 'failed'
    alloc.clientDescription = 'Failed tasks'
    for (const state of Object.values(alloc.taskStates)) {
      state.State = 'dead'
      state.Failed = true
      state.FinishedAt = new Date().toISOString()
      state.Events.push(
        taskEvent('Driver Failure', reason, {
          DriverError: reason,
          FailsTask: true,
          Details: { driver_error: reason, fails_task: 'true' },
        }),
        taskEvent('Not Restarting', 'Error was unrecoverable', { Details: { restart_reason: 'Error was unrecoverable' } }),
      )
    }
    touch(alloc)
    const job = alloc.job
    if (job.stop || alloc.jobVersion !== job.version || jobs.get(job.key) !== job) return
    const policy = alloc.group.ReschedulePolicy
    const attempts = policy?.Attempts ?? DEFAULT_RESCHEDULE_ATTEMPTS
    const intervalNs = policy?.Interval ?? 0
    const since = nowNs() - intervalNs
    const used = alloc.rescheduleEvents.filter((e) => intervalNs <= 0 || e.RescheduleTime >= since).length
    // Nomad waits the policy's Delay before placing the replacement; the double places it at once to keep tests fast.
    if (policy?.Unlimited || used < attempts) place(job, alloc.group, alloc.name, alloc)
  }

  function stopAlloc(alloc: AllocRecord, description: string) {
    if (alloc.timer) clearTimeout(alloc.timer)
    alloc.timer = undefined
    closeListener(alloc)
    if (alloc.desiredStatus === 'stop') return
    alloc.desiredStatus = 'stop'
    alloc.desiredDescription = description
    if (alloc.clientStatus === 'pending' || alloc.clientStatus === 'running') {
      alloc.clientStatus = 'complete'
      alloc.clientDescription = 'All tasks have completed'
      for (const state of Object.values(alloc.taskStates)) {
        if (state.State === 'dead') continue
        state.State = 'dead'
        state.FinishedAt = new Date().toISOString()
        state.Events.push(
          taskEvent('Killing', 'Sent interrupt. Waiting 5s before force killing'),
          taskEvent('Killed', 'Task successfully killed'),
        )
      }
    }
    touch(alloc)
  }

  // ------------------------------------------------------------------------------------------
  // JSON shapes, as Nomad returns them

  function jobView(job: JobRecord): NomadDoubleJob {
    return {
      id: job.spec.ID,
      namespace: job.namespace,
      status: jobStatus(job),
      stop: job.stop,
      version: job.version,
      registrations: job.registrations,
      meta: { ...(job.spec.Meta ?? {}) },
      spec: structuredClone(job.spec),
      allocations: job.allocs.map((a) => ({
        id: a.id,
        clientStatus: a.clientStatus,
        desiredStatus: a.desiredStatus,
        previousAllocation: a.previousAllocation,
        nextAllocation: a.nextAllocation,
        address: a.port ? `http://127.0.0.1:${a.port}` : undefined,
      })),
    }
  }

  function jobSummary(job: JobRecord) {
    const summary: Record<string, Record<string, number>> = {}
    for (const group of job.spec.TaskGroups)
      summary[group.Name] = { Queued: 0, Complete: 0, Failed: 0, Running: 0, Starting: 0, Lost: 0, Unknown: 0 }
    for (const alloc of job.allocs) {
      const counts = summary[alloc.group.Name]
      if (!counts) continue
      const key = { pending: 'Starting', running: 'Running', failed: 'Failed', complete: 'Complete', lost: 'Lost' }[alloc.clientStatus]
      counts[key] = (counts[key] ?? 0) + 1
    }
    return {
      JobID: job.spec.ID,
      Namespace: job.namespace,
      Summary: summary,
      Children: { Pending: 0, Running: 0, Dead: 0 },
      CreateIndex: job.createIndex,
      ModifyIndex: job.modifyIndex,
    }
  }

  function jobJson(job: JobRecord) {
    return {
      ...job.spec,
      Region: job.spec.Region ?? region,
      Namespace: job.namespace,
      Name: job.spec.Name ?? job.spec.ID,
      Type: job.spec.Type ?? 'service',
      Priority: job.spec.Priority ?? 50,
      TaskGroups: job.spec.TaskGroups.map((g) => ({ ...g, Count: g.Count ?? 1 })),
      Stop: job.stop,
      Status: jobStatus(job),
      StatusDescription: '',
      Stable: false,
      Version: job.version,
      SubmitTime: job.submitTime,
      CreateIndex: job.createIndex,
      ModifyIndex: job.modifyIndex,
      JobModifyIndex: job.jobModifyIndex,
    }
  }

  function jobStub(job: JobRecord, withMeta: boolean) {
    return {
      ID: job.spec.ID,
      ParentID: '',
      Name: job.spec.Name ?? job.spec.ID,
      Namespace: job.namespace,
      Datacenters: job.spec.Datacenters ?? ['*'],
      Multiregion: null,
      Type: job.spec.Type ?? 'service',
      Priority: job.spec.Priority ?? 50,
      Periodic: false,
      ParameterizedJob: false,
      Stop: job.stop,
      Status: jobStatus(job),
      StatusDescription: '',
      JobSummary: jobSummary(job),
      CreateIndex: job.createIndex,
      ModifyIndex: job.modifyIndex,
      JobModifyIndex: job.jobModifyIndex,
      SubmitTime: job.submitTime,
      // Nomad adds Meta to list stubs only when asked with ?meta=true.
      ...(withMeta ? { Meta: job.spec.Meta ?? null } : {}),
    }
  }

  function allocStub(alloc: AllocRecord) {
    return {
      ID: alloc.id,
      EvalID: alloc.evalId,
      Name: alloc.name,
      Namespace: alloc.job.namespace,
      NodeID: NODE_ID,
      NodeName: NODE_NAME,
      JobID: alloc.job.spec.ID,
      JobType: alloc.job.spec.Type ?? 'service',
      JobVersion: alloc.jobVersion,
      TaskGroup: alloc.group.Name,
      DesiredStatus: alloc.desiredStatus,
      DesiredDescription: alloc.desiredDescription,
      ClientStatus: alloc.clientStatus,
      ClientDescription: alloc.clientDescription,
      TaskStates: alloc.taskStates,
      DeploymentStatus: null,
      FollowupEvalID: '',
      RescheduleTracker: alloc.rescheduleEvents.length ? { Events: alloc.rescheduleEvents } : null,
      PreemptedAllocations: null,
      PreemptedByAllocation: '',
      CreateIndex: alloc.createIndex,
      ModifyIndex: alloc.modifyIndex,
      CreateTime: alloc.createTime,
      ModifyTime: alloc.modifyTime,
    }
  }

  function allocJson(alloc: AllocRecord) {
    const { label, to } = httpPortOf(alloc.group)
    const port = alloc.port
    const shared =
      port === undefined
        ? { DiskMB: 300, Networks: null, Ports: null }
        : {
            DiskMB: 300,
            Networks: [
              {
                Mode: 'host',
                Device: 'lo',
                CIDR: '127.0.0.1/32',
                IP: '127.0.0.1',
                MBits: 0,
                ReservedPorts: null,
                DynamicPorts: [{ Label: label, Value: port, To: to, HostNetwork: 'default' }],
              },
            ],
            Ports: [{ Label: label, Value: port, To: to, HostIP: '127.0.0.1' }],
          }
    return {
      ...allocStub(alloc),
      Job: jobJson(alloc.job),
      AllocatedResources: {
        Tasks: Object.fromEntries(
          alloc.group.Tasks.map((t) => [t.Name, { Cpu: { CpuShares: 100 }, Memory: { MemoryMB: 256 }, Networks: null }]),
        ),
        Shared: shared,
      },
      DesiredTransition: {},
      DeploymentID: '',
      PreviousAllocation: alloc.previousAllocation,
      NextAllocation: alloc.nextAllocation,
      AllocModifyIndex: alloc.createIndex,
      NetworkStatus: null,
    }
  }

  // ------------------------------------------------------------------------------------------
  // HTTP API

  function register(body: unknown, namespaceParam: string, pathJobId?: string) {
    if (typeof body !== 'object' || body === null || !('Job' in body) || !body.Job) throw new HttpError(400, 'Job must be specified')
    const parsed = ZRegisterRequest.safeParse(body)
    if (!parsed.success) {
      const lines = parsed.error.issues.map((i) => `\t* ${i.path.join('.')}: ${i.message}`)
      throw new HttpError(400, `${lines.length} error${lines.length === 1 ? '' : 's'} occurred:\n${lines.join('\n')}\n\n`)
    }
    const { Job: spec, EnforceIndex, JobModifyIndex } = parsed.data
    if (pathJobId !== undefined && pathJobId !== spec.ID) throw new HttpError(400, 'Job ID does not match name')
    if (spec.Region && spec.Region !== region) throw new HttpError(500, 'No path to region')
    const namespace = spec.Namespace || namespaceParam
    const key = jobKey(namespace, spec.ID)
    const existing = jobs.get(key)
    if (EnforceIndex) {
      const jmi = JobModifyIndex ?? 0
      if (existing && jmi === 0) throw new HttpError(500, 'Enforcing job modify index 0: job already exists')
      if (existing && jmi !== existing.jobModifyIndex)
        throw new HttpError(
          500,
          `Enforcing job modify index ${jmi}: job exists with conflicting job modify index: ${existing.jobModifyIndex}`,
        )
      if (!existing && jmi !== 0) throw new HttpError(500, `Enforcing job modify index ${jmi}: job does not exist`)
    }
    const specText = JSON.stringify(spec)
    const index = bump()
    if (existing && existing.specText === specText && !existing.stop) {
      // Re-submitting the same spec is a no-op for the scheduler: same version, same allocations.
      existing.registrations++
      return {
        EvalID: randomUUID(),
        EvalCreateIndex: index,
        JobModifyIndex: existing.jobModifyIndex,
        Warnings: '',
        Index: index,
        LastContact: 0,
        KnownLeader: true,
      }
    }
    if (existing) for (const alloc of existing.allocs) stopAlloc(alloc, 'alloc is being updated due to job update')
    const job: JobRecord = existing ?? {
      key,
      spec,
      specText,
      namespace,
      stop: false,
      version: -1,
      registrations: 0,
      createIndex: index,
      modifyIndex: index,
      jobModifyIndex: index,
      submitTime: nowNs(),
      allocs: [],
    }
    Object.assign(job, {
      spec,
      specText,
      stop: false,
      version: job.version + 1,
      modifyIndex: index,
      jobModifyIndex: index,
      submitTime: nowNs(),
    })
    job.registrations++
    jobs.set(key, job)
    placeAll(job)
    return {
      EvalID: randomUUID(),
      EvalCreateIndex: index,
      JobModifyIndex: index,
      Warnings: '',
      Index: index,
      LastContact: 0,
      KnownLeader: true,
    }
  }

  function deregister(namespace: string, id: string, purge: boolean) {
    const key = jobKey(namespace, id)
    const job = jobs.get(key)
    if (!job) throw new HttpError(404, 'job not found')
    const index = bump()
    job.stop = true
    job.modifyIndex = index
    job.jobModifyIndex = index
    for (const alloc of job.allocs) stopAlloc(alloc, 'alloc not needed due to job update')
    // A purged job disappears at once; its (stopped) allocations stay readable by ID, as until Nomad's garbage collection.
    if (purge) jobs.delete(key)
    return { EvalID: randomUUID(), EvalCreateIndex: index, JobModifyIndex: index, Index: index, LastContact: 0, KnownLeader: true }
  }

  function listJobs(params: URLSearchParams) {
    const namespace = params.get('namespace') || 'default'
    const prefix = params.get('prefix') ?? ''
    const withMeta = params.get('meta') === 'true'
    const perPage = Number(params.get('per_page') ?? 0)
    const nextToken = params.get('next_token') ?? ''
    const matching = [...jobs.values()]
      .filter((j) => (namespace === '*' || j.namespace === namespace) && j.spec.ID.startsWith(prefix))
      .sort((a, b) => (a.namespace === b.namespace ? cmp(a.spec.ID, b.spec.ID) : cmp(a.namespace, b.namespace)))
      .filter((j) => !nextToken || cmp(j.spec.ID, nextToken) >= 0)
    const page = perPage > 0 ? matching.slice(0, perPage) : matching
    const next = perPage > 0 ? matching[perPage]?.spec.ID : undefined
    const headers: Record<string, string> = next ? { 'X-Nomad-NextToken': next } : {}
    return { body: page.map((j) => jobStub(j, withMeta)), headers }
  }

  function jobAllocations(namespace: string, id: string, all: boolean) {
    const key = jobKey(namespace, id)
    const job = jobs.get(key)
    return (allocsByJob.get(key) ?? []).filter((a) => all || !job || a.jobCreateIndex === job.createIndex).map(allocStub)
  }

  function checkAcl(req: http.IncomingMessage) {
    if (options.token === undefined) return
    const given = req.headers['x-nomad-token'] ?? bearer(req.headers.authorization)
    if (!given) throw new HttpError(403, 'Permission denied')
    if (given !== options.token) throw new HttpError(403, 'ACL token not found')
  }

  async function route(req: http.IncomingMessage): Promise<{ status?: number; body: unknown; headers?: Record<string, string> }> {
    const url = new URL(req.url ?? '/', 'http://nomad.invalid')
    const method = req.method ?? 'GET'
    const params = url.searchParams
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent)
    const namespace = params.get('namespace') || 'default'
    const isGet = method === 'GET' || method === 'HEAD'
    const write = method === 'PUT' || method === 'POST'

    // Status endpoints need no ACL token.
    if (url.pathname === '/v1/status/leader' && isGet) return { body: '127.0.0.1:4647' }
    if (url.pathname === '/v1/status/peers' && isGet) return { body: ['127.0.0.1:4647'] }
    if (parts[0] !== 'v1') throw new HttpError(404, '404 page not found')
    checkAcl(req)
    const askedRegion = params.get('region')
    if (askedRegion && askedRegion !== region) throw new HttpError(500, 'No path to region')

    if (url.pathname === '/v1/agent/self' && isGet) {
      return {
        body: {
          config: {
            Region: region,
            Datacenter: datacenter,
            NodeName: NODE_NAME,
            Version: { Version: '1.9.0' },
            ACL: { Enabled: options.token !== undefined },
          },
          member: { Name: `${NODE_NAME}.${region}`, Addr: '127.0.0.1', Port: 4648, Status: 'alive', Tags: { region, dc: datacenter } },
          stats: {},
        },
      }
    }
    if (parts[1] === 'jobs' && parts.length === 2) {
      if (isGet) return listJobs(params)
      if (write) return { body: register(await readJson(req), namespace) }
      throw new HttpError(405, 'Invalid method')
    }
    if (parts[1] === 'job' && parts[2] !== undefined && parts.length === 3) {
      const id = parts[2]
      if (isGet) {
        const job = jobs.get(jobKey(namespace, id))
        if (!job) throw new HttpError(404, 'job not found')
        return { body: jobJson(job) }
      }
      if (method === 'DELETE') return { body: deregister(namespace, id, params.get('purge') === 'true') }
      if (write) return { body: register(await readJson(req), namespace, id) }
      throw new HttpError(405, 'Invalid method')
    }
    if (parts[1] === 'job' && parts[2] !== undefined && parts[3] === 'allocations' && parts.length === 4 && isGet) {
      return { body: jobAllocations(namespace, parts[2], params.get('all') === 'true') }
    }
    if (parts[1] === 'allocation' && parts[2] !== undefined && parts.length === 3 && isGet) {
      const alloc = allocs.get(parts[2])
      if (!alloc) throw new HttpError(404, 'alloc not found')
      return { body: allocJson(alloc) }
    }
    throw new HttpError(404, '404 page not found')
  }

  const server = http.createServer((req, res) => {
    const countKey = `${req.method} ${(req.url ?? '/').split('?')[0]}`
    counts[countKey] = (counts[countKey] ?? 0) + 1
    route(req).then(
      ({ status = 200, body, headers = {} }) => {
        res.writeHead(status, {
          'content-type': 'application/json',
          'x-nomad-index': String(raftIndex),
          'x-nomad-knownleader': 'true',
          'x-nomad-lastcontact': '0',
          ...headers,
        })
        res.end(req.method === 'HEAD' ? undefined : JSON.stringify(body))
      },
      (err: unknown) => {
        const status = err instanceof HttpError ? err.status : 500
        const message = err instanceof Error ? err.message : String(err)
        res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(message)
      },
    )
  })
  server.keepAliveTimeout = 5000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const url = `http://127.0.0.1:${portOf(server)}`

  return {
    url,
    failNextAllocations(n, reason = 'Failed to start container: simulated failure') {
      failNext = { count: n, reason }
    },
    failJobsMatching(predicate, reason = 'Failed to start container: simulated failure') {
      failPredicates.push({ predicate, reason })
    },
    setBootDelay(ms) {
      bootDelayMs = ms
      for (const alloc of allocs.values()) {
        if (!alloc.timer) continue
        clearTimeout(alloc.timer)
        alloc.timer = setTimeout(() => boot(alloc), Math.max(0, alloc.placedAt + ms - Date.now()))
      }
    },
    setUnhealthy(jobId, value = true) {
      if (value) unhealthy.add(jobId)
      else unhealthy.delete(jobId)
    },
    jobs: () => [...jobs.values()].map(jobView),
    requestCounts: () => ({ ...counts }),
    async close() {
      if (closed) return
      closed = true
      for (const alloc of allocs.values()) {
        if (alloc.timer) clearTimeout(alloc.timer)
        alloc.timer = undefined
        closeListener(alloc)
      }
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
    },
  }
}

function portOf(server: http.Server): number {
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('the server is not listening on a TCP port')
  return address.port
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function bearer(header: string | undefined): string | undefined {
  return header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk))
    size += buf.length
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'Request body too large')
    chunks.push(buf)
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch (err) {
    throw new HttpError(400, `Failed to decode request body: ${err instanceof Error ? err.message : String(err)}`)
  }
}
