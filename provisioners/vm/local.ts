import { execFile, spawn } from 'node:child_process'
import { constants, openSync, closeSync } from 'node:fs'
import { access, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { ConfigureProgress, LogSink, OwnedVm, VmDriver, VmObservation, VmRef, VmSpec } from '../types'
import { ProvisionerError } from '../types'
import { carriesTags, findTaggedProcesses, processTags, type TaggedProcess } from './local/process-table'

/**
 * The `local` VM driver: each appserver is a detached process on this machine running the sample app
 * (sample-app/server.mjs). Processes carry their owner tag and appserver id on the command line, and the
 * process table is the truth: see local/README.md.
 */

const PROVIDER = 'local'
const EXTERNAL_PREFIX = 'local:'

export interface LocalDriverOptions {
  /** Folder holding one folder per appserver (config.json, port file, stdout/stderr logs). Created if missing. */
  stateDir: string
  /** This installation's owner tag: every process carries it, and `list()` sees only processes with it. */
  ownerTag: string
  /** The node binary that runs the app. Default: the one running this code. */
  nodePath?: string
  /** The app to run. Default: sample-app/server.mjs beside this file. */
  appPath?: string
  /** A live process that has not written its port file after this long is reported failed. Default 30 s. */
  startTimeoutMs?: number
  /** How long `destroy` waits after SIGTERM before SIGKILL. Default 5 s. */
  stopTimeoutMs?: number
}

const DEFAULT_APP_PATH = fileURLToPath(new URL('./sample-app/server.mjs', import.meta.url))
const DEFAULT_START_TIMEOUT_MS = 30_000
const DEFAULT_STOP_TIMEOUT_MS = 5_000
const POLL_MS = 50
const STDERR_TAIL_LINES = 20
const STDERR_TAIL_CHARS = 2_000

// Both end up in paths and on command lines: nothing that could climb out of stateDir or split an argument.
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/
const SAFE_OWNER_TAG = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/

const FILES = {
  config: 'config.json',
  port: 'port',
  stdout: 'stdout.log',
  stderr: 'stderr.log',
  /** the owner tag, so `list()` can tell our leftover folders from another installation's in a shared stateDir */
  owner: 'owner',
} as const

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const errnoOf = (error: unknown) => (error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined)
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error))

// One operation at a time per appserver within this process, so two concurrent creates never start two
// processes. Across worker processes the job queue runs one job per appserver at a time.
const inFlight = new Map<string, Promise<unknown>>()

function exclusive<T>(key: string, run: () => Promise<T>): Promise<T> {
  const previous = inFlight.get(key) ?? Promise.resolve()
  const result = previous.then(run, run)
  const settled = result.then(
    () => undefined,
    () => undefined,
  )
  inFlight.set(key, settled)
  void settled.then(() => {
    if (inFlight.get(key) === settled) inFlight.delete(key)
  })
  return result
}

export function createLocalDriver(options: LocalDriverOptions): VmDriver {
  const ownerTag = options.ownerTag
  if (!SAFE_OWNER_TAG.test(ownerTag)) {
    throw new ProvisionerError(
      PROVIDER,
      'setup',
      'owner tag must be 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit',
    )
  }
  const stateDir = path.resolve(options.stateDir)
  const nodePath = options.nodePath ?? process.execPath
  const appPath = options.appPath ?? DEFAULT_APP_PATH
  const startTimeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS
  const stopTimeoutMs = options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS

  const dirOf = (appserverId: string) => path.join(stateDir, appserverId)
  const fileOf = (appserverId: string, file: keyof typeof FILES) => path.join(dirOf(appserverId), FILES[file])
  const refOf = (appserverId: string, pid: number): VmRef => ({
    externalId: `${EXTERNAL_PREFIX}${appserverId}`,
    facts: { pid: String(pid), stateDir: dirOf(appserverId) },
  })

  function checkId(operation: string, appserverId: string): string {
    if (!SAFE_ID.test(appserverId)) throw new ProvisionerError(PROVIDER, operation, 'appserver id must be 1-64 letters, digits, "_" or "-"')
    return appserverId
  }

  function idOf(operation: string, ref: VmRef): string {
    if (!ref.externalId.startsWith(EXTERNAL_PREFIX)) {
      throw new ProvisionerError(PROVIDER, operation, `not a local appserver reference: ${ref.externalId}`)
    }
    return checkId(operation, ref.externalId.slice(EXTERNAL_PREFIX.length))
  }

  async function scan(operation: string, appserverId?: string): Promise<TaggedProcess[]> {
    try {
      return await findTaggedProcesses(ownerTag, appserverId)
    } catch (error) {
      throw new ProvisionerError(PROVIDER, operation, `cannot read the process table (/proc): ${messageOf(error)}`, true, { cause: error })
    }
  }

  /** The live processes of one appserver; a pid from the ref is tried first, which spares a full scan. */
  async function processesOf(operation: string, appserverId: string, ref?: VmRef): Promise<TaggedProcess[]> {
    const hint = Number(ref?.facts?.pid)
    if (Number.isInteger(hint) && hint > 0 && carriesTags(hint, ownerTag, appserverId)) return [{ pid: hint, appserverId }]
    return scan(operation, appserverId)
  }

  async function readOptional(file: string): Promise<string | undefined> {
    try {
      return await readFile(file, 'utf8')
    } catch (error) {
      if (errnoOf(error) === 'ENOENT' || errnoOf(error) === 'ENOTDIR') return undefined
      throw error
    }
  }

  async function stderrTail(appserverId: string): Promise<string> {
    const text = (await readOptional(fileOf(appserverId, 'stderr'))) ?? ''
    return text.trimEnd().split('\n').slice(-STDERR_TAIL_LINES).join('\n').slice(-STDERR_TAIL_CHARS)
  }

  /** What one appserver looks like, given its live processes (already looked up). */
  async function observeWith(appserverId: string, processes: TaggedProcess[]): Promise<VmObservation> {
    const dir = dirOf(appserverId)
    if (processes.length === 0) {
      if (!(await exists(dir))) return { phase: 'gone' }
      const tail = await stderrTail(appserverId)
      return {
        phase: 'failed',
        detail: tail ? `the appserver process exited:\n${tail}` : 'the appserver process exited without an error message',
      }
    }
    const pids = processes.map((p) => p.pid).join(', ')
    const portText = await readOptional(fileOf(appserverId, 'port'))
    const port = Number(portText?.trim())
    if (Number.isInteger(port) && port > 0 && port < 65536) {
      return { phase: 'running', address: `http://127.0.0.1:${port}`, detail: `pid ${pids}` }
    }
    const startedAt = await modifiedAt(fileOf(appserverId, 'config'))
    if (startedAt === undefined) return { phase: 'failed', detail: `process ${pids} is running but its state folder ${dir} is missing` }
    if (Date.now() - startedAt > startTimeoutMs) {
      return { phase: 'failed', detail: `process ${pids} did not start listening within ${Math.round(startTimeoutMs / 1000)} s` }
    }
    return { phase: 'pending', detail: `process ${pids} is starting` }
  }

  async function entriesOf(dir: string): Promise<string[]> {
    try {
      return await readdir(dir)
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') return []
      throw error
    }
  }

  async function exists(file: string): Promise<boolean> {
    return (await modifiedAt(file)) !== undefined
  }

  async function modifiedAt(file: string): Promise<number | undefined> {
    try {
      return (await stat(file)).mtimeMs
    } catch (error) {
      if (errnoOf(error) === 'ENOENT' || errnoOf(error) === 'ENOTDIR') return undefined
      throw error
    }
  }

  /** Writes `content` so that a reader sees the old file or the new one, never a part; mode 0600 from the first byte. */
  async function writePrivateFile(file: string, content: string): Promise<void> {
    const tmp = `${file}.tmp`
    await rm(tmp, { force: true })
    await writeFile(tmp, content, { mode: 0o600, flag: 'wx' })
    await rename(tmp, file)
  }

  async function spawnAppserver(spec: VmSpec, log: LogSink): Promise<number> {
    const id = spec.appserverId
    const dir = dirOf(id)
    await mkdir(dir, { recursive: true, mode: 0o700 })
    // A port file from an earlier process of this appserver would send callers to a dead port.
    await rm(fileOf(id, 'port'), { force: true })
    await writePrivateFile(fileOf(id, 'owner'), `${ownerTag}\n`)
    await writePrivateFile(fileOf(id, 'config'), JSON.stringify(spec.configuration, null, 2))

    const stdout = openSync(fileOf(id, 'stdout'), 'w', 0o600)
    const stderr = openSync(fileOf(id, 'stderr'), 'w', 0o600)
    try {
      const child = spawn(
        nodePath,
        [appPath, ...processTags(ownerTag, id), '--config', fileOf(id, 'config'), '--port-file', fileOf(id, 'port')],
        {
          cwd: dir,
          // Its own session: it outlives the worker that starts it, and signals sent to the worker's group.
          detached: true,
          stdio: ['ignore', stdout, stderr],
          // Nothing from our environment (database URL, secrets): the app reads its config file only.
          env: { NODE_ENV: 'production' },
        },
      )
      const pid = child.pid
      if (pid === undefined) {
        const error = await new Promise<Error>((resolve) => child.once('error', resolve))
        throw new ProvisionerError(PROVIDER, 'create', `cannot start ${nodePath}: ${error.message}`, false, { cause: error })
      }
      child.unref()
      log(`Started appserver process ${pid} (logs in ${dir})`)
      return pid
    } finally {
      closeSync(stdout)
      closeSync(stderr)
    }
  }

  async function stopProcesses(appserverId: string, processes: TaggedProcess[], log: LogSink): Promise<void> {
    const signal = (pids: number[], sig: NodeJS.Signals) => {
      for (const pid of pids) {
        try {
          process.kill(pid, sig)
        } catch (error) {
          if (errnoOf(error) !== 'ESRCH') throw error
        }
      }
    }
    const alive = (pids: number[]) => pids.filter((pid) => carriesTags(pid, ownerTag, appserverId))
    const waitGone = async (pids: number[], ms: number) => {
      const deadline = Date.now() + ms
      let left = alive(pids)
      while (left.length > 0 && Date.now() < deadline) {
        await sleep(POLL_MS)
        left = alive(left)
      }
      return left
    }

    const pids = processes.map((p) => p.pid)
    log(`Stopping appserver process ${pids.join(', ')}`)
    signal(pids, 'SIGTERM')
    const stubborn = await waitGone(pids, stopTimeoutMs)
    if (stubborn.length === 0) return
    log(`Process ${stubborn.join(', ')} did not stop within ${Math.round(stopTimeoutMs / 1000)} s: killing it`)
    signal(stubborn, 'SIGKILL')
    const undead = await waitGone(stubborn, 2_000)
    if (undead.length > 0) throw new ProvisionerError(PROVIDER, 'destroy', `process ${undead.join(', ')} survived SIGKILL`, true)
  }

  const wrap = async <T>(operation: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run()
    } catch (error) {
      if (error instanceof ProvisionerError) throw error
      const code = errnoOf(error)
      // Out of descriptors or processes, or a busy file: may pass. Permissions and missing paths will not.
      const retryable = code === 'EMFILE' || code === 'ENFILE' || code === 'EAGAIN' || code === 'EBUSY' || code === 'ENOSPC'
      throw new ProvisionerError(PROVIDER, operation, messageOf(error), retryable, { cause: error })
    }
  }

  return {
    kind: 'local',

    async create(spec, log) {
      const id = checkId('create', spec.appserverId)
      return exclusive(`${stateDir}\0${id}`, () =>
        wrap('create', async () => {
          const running = await scan('create', id)
          if (running[0]) {
            log(`Appserver process ${running[0].pid} is already running`)
            return refOf(id, running[0].pid)
          }
          return refOf(id, await spawnAppserver(spec, log))
        }),
      )
    },

    observe(ref) {
      return wrap('observe', async () => {
        const id = idOf('observe', ref)
        return observeWith(id, await processesOf('observe', id, ref))
      })
    },

    async configure(): Promise<ConfigureProgress> {
      // The configuration file is written before the process starts: nothing is left to do.
      return { state: 'done' }
    },

    async destroy(ref, log) {
      const id = idOf('destroy', ref)
      return exclusive(`${stateDir}\0${id}`, () =>
        wrap('destroy', async () => {
          // A full scan rather than the pid in the ref: a retried create could have left a second process.
          const processes = await scan('destroy', id)
          if (processes.length > 0) await stopProcesses(id, processes, log)
          if (await exists(dirOf(id))) {
            await rm(dirOf(id), { recursive: true, force: true })
            log(`Removed ${dirOf(id)}`)
          }
        }),
      )
    },

    list() {
      return wrap('list', async () => {
        const byId = new Map<string, TaggedProcess[]>()
        for (const p of await scan('list')) byId.set(p.appserverId, [...(byId.get(p.appserverId) ?? []), p])
        // Folders of processes that exited are ours too (they hold a secret-bearing config): report them failed.
        for (const name of await entriesOf(stateDir)) {
          if (byId.has(name) || !SAFE_ID.test(name)) continue
          if ((await readOptional(path.join(stateDir, name, FILES.owner)))?.trim() === ownerTag) byId.set(name, [])
        }
        const owned: OwnedVm[] = []
        for (const [appserverId, processes] of byId) {
          const { phase } = await observeWith(appserverId, processes)
          owned.push({ appserverId, externalId: `${EXTERNAL_PREFIX}${appserverId}`, phase })
        }
        return owned
      })
    },

    testConnection() {
      return wrap('testConnection', async () => {
        if (process.platform !== 'linux')
          throw new ProvisionerError(PROVIDER, 'testConnection', 'needs Linux (/proc) to find its processes')
        await mkdir(stateDir, { recursive: true, mode: 0o700 })
        const probe = path.join(stateDir, `.probe-${process.pid}-${Date.now()}`)
        try {
          await writeFile(probe, 'ok', { mode: 0o600 })
        } catch (error) {
          throw new ProvisionerError(PROVIDER, 'testConnection', `state folder ${stateDir} is not writable: ${messageOf(error)}`, false, {
            cause: error,
          })
        } finally {
          await rm(probe, { force: true })
        }
        try {
          await access(appPath, constants.R_OK)
        } catch (error) {
          throw new ProvisionerError(PROVIDER, 'testConnection', `the app ${appPath} cannot be read`, false, { cause: error })
        }
        try {
          const { stdout } = await promisify(execFile)(nodePath, ['--version'], { timeout: 10_000, env: { NODE_ENV: 'production' } })
          if (!stdout.startsWith('v')) throw new Error(`unexpected output: ${stdout.slice(0, 100)}`)
        } catch (error) {
          throw new ProvisionerError(PROVIDER, 'testConnection', `${nodePath} does not run: ${messageOf(error)}`, false, { cause: error })
        }
        await scan('testConnection')
      })
    },
  }
}
