/**
 * Drives a running HAProxy (2.6, master-worker: `haproxy -W -S <master socket> -f <configDir>/haproxy.cfg`): writes
 * the rendered files after HAProxy accepted them, sends runtime-API commands to the worker's admin socket and reloads
 * through the master socket. Nothing here talks to Consul.
 */
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import { ProvisionerError } from '@/provisioners/types'
import type { ApplyPlan } from './plan'
import { CONFIG_FILE, HOSTS_MAP_FILE, type RenderedHaproxy } from './render'

export interface HaproxyControlOptions {
  /** where haproxy.cfg and its files live (the renderer's configDir) */
  configDir: string
  /** the worker's admin socket (`stats socket … level admin`) */
  statsSocket: string
  /** the master CLI socket (`-S`) */
  masterSocket: string
  /** default /usr/sbin/haproxy */
  haproxyBin?: string
  /** per socket command and per `haproxy -c`; a reload may take up to twice this. Default 10 s. */
  timeoutMs?: number
}

export interface HaproxyProcesses {
  masterPid: number
  /** reloads the master could not complete (it then keeps the previous worker) */
  failedReloads: number
  /** the worker(s) running the current configuration */
  workers: number[]
  /** workers of earlier configurations still finishing their connections */
  oldWorkers: number[]
}

export interface ApplyResult {
  method: 'none' | 'runtime' | 'reload'
  /** why the runtime commands were abandoned for a reload */
  runtimeError?: string
}

export interface HaproxyControl {
  /** Sends each command in turn to the admin socket; the first one HAProxy refuses throws, naming it. */
  runtime(commands: string[]): Promise<void>
  /** One read-only command on the admin socket (e.g. `show servers state`); HAProxy's raw answer. */
  query(command: string): Promise<string>
  /** `show proc` on the master socket. */
  processes(): Promise<HaproxyProcesses>
  /** `haproxy -c -f` on a configuration file, or on the haproxy.cfg of a directory. */
  validate(fileOrDir: string): Promise<void>
  /** Stages the files, has HAProxy check them, then renames them into place; an invalid render replaces nothing. */
  writeAndValidate(rendered: RenderedHaproxy): Promise<void>
  /** A seamless reload through the master; resolves once the new worker answers on the admin socket. */
  reload(): Promise<{ workerPid: number }>
  /** Files first (always), then the plan's commands or a reload; commands HAProxy refuses fall back to a reload. */
  apply(rendered: RenderedHaproxy, plan: ApplyPlan): Promise<ApplyResult>
}

const PROVIDER = 'haproxy'
const STAGING_PREFIX = '.staging-'
const CHECK_FILE = 'haproxy.check.cfg'
// Runtime commands that succeed answer nothing, except these two.
const OK_ANSWERS = new Set(['', 'New server registered.', 'Server deleted.'])
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/

export function createHaproxyControl(options: HaproxyControlOptions): HaproxyControl {
  const configDir = path.resolve(options.configDir)
  const bin = options.haproxyBin ?? '/usr/sbin/haproxy'
  const timeoutMs = options.timeoutMs ?? 10_000

  async function query(command: string): Promise<string> {
    checkCommand(command)
    return send(options.statsSocket, `${command}\n`, command, timeoutMs)
  }

  async function runOne(command: string): Promise<void> {
    // `del server` is refused while the server still holds connections; closing them after `shutdown sessions`
    // (and purging idle ones) takes HAProxy a moment.
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const answer = (await query(command)).trim()
      if (OK_ANSWERS.has(answer)) return
      if (command.startsWith('del server ') && /connection/i.test(answer) && Date.now() < deadline) {
        await sleep(50)
        continue
      }
      throw new ProvisionerError(PROVIDER, `runtime "${command}"`, answer.slice(0, 500) || 'refused')
    }
  }

  async function master(command: string): Promise<string> {
    checkCommand(command)
    // The master CLI keeps the connection open after an answer unless told to quit.
    return send(options.masterSocket, `${command}; quit\n`, command, timeoutMs)
  }

  async function processes(): Promise<HaproxyProcesses> {
    return parseShowProc(await master('show proc'))
  }

  async function validate(fileOrDir: string): Promise<void> {
    const target = (await stat(fileOrDir).catch(() => undefined))?.isDirectory() ? path.join(fileOrDir, CONFIG_FILE) : fileOrDir
    await new Promise<void>((resolve, reject) => {
      execFile(bin, ['-c', '-f', target], { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
        if (!error) return resolve()
        if ('code' in error && error.code === 'ENOENT')
          return reject(new ProvisionerError(PROVIDER, 'validate', `${bin} not found: install it: apt-get install haproxy`))
        if (error.killed) return reject(new ProvisionerError(PROVIDER, 'validate', `haproxy -c took longer than ${timeoutMs} ms`, true))
        reject(new ProvisionerError(PROVIDER, 'validate', `the configuration is invalid: ${alerts(`${stderr}\n${stdout}`)}`))
      })
    })
  }

  async function writeAndValidate(rendered: RenderedHaproxy): Promise<void> {
    const files: [string, string][] = Object.entries(rendered.files)
    for (const [name] of files)
      if (!FILE_NAME.test(name) || name === CONFIG_FILE || name === HOSTS_MAP_FILE || name === CHECK_FILE)
        throw new ProvisionerError(PROVIDER, 'write', `refusing to write a file named ${JSON.stringify(name)}`)
    // The configuration and its map last: they are the files that refer to the others.
    files.push([HOSTS_MAP_FILE, rendered.hostsMap], [CONFIG_FILE, rendered.config])
    await mkdir(configDir, { recursive: true })
    await removeStaging(configDir)
    const staging = await mkdtemp(path.join(configDir, STAGING_PREFIX))
    try {
      for (const [name, content] of files) await writeFile(path.join(staging, name), content)
      // The configuration names its files by their final paths; the copy HAProxy checks names the staged ones, so
      // the check reads the new map and pages (and works before the first files exist).
      await writeFile(path.join(staging, CHECK_FILE), rendered.config.split(`${configDir}/`).join(`${staging}/`))
      try {
        await validate(path.join(staging, CHECK_FILE))
      } catch (err) {
        if (err instanceof ProvisionerError)
          throw new ProvisionerError(PROVIDER, 'validate', err.message.split(`${staging}/`).join('(staged) '))
        throw err
      }
      for (const [name] of files) await rename(path.join(staging, name), path.join(configDir, name))
    } finally {
      await rm(staging, { recursive: true, force: true })
    }
  }

  async function reload(): Promise<{ workerPid: number }> {
    const before = await processes()
    const known = new Set([...before.workers, ...before.oldWorkers])
    // The master re-executes itself and drops the connection without an answer (2.6).
    await send(options.masterSocket, 'reload\n', 'reload', timeoutMs).catch(() => '')
    const deadline = Date.now() + 2 * timeoutMs
    let lastError = 'no new worker yet'
    while (Date.now() < deadline) {
      await sleep(50)
      const now = await processes().catch((err: unknown) => {
        lastError = err instanceof Error ? err.message : String(err)
        return undefined
      })
      if (!now) continue
      if (now.failedReloads > before.failedReloads)
        throw new ProvisionerError(PROVIDER, 'reload', 'the master could not load the configuration; the previous worker keeps running')
      const workerPid = now.workers.find((pid) => !known.has(pid))
      if (workerPid === undefined) continue
      // The admin socket passes to the new worker with the listeners: once it answers, runtime commands reach it.
      const info = await query('show info').catch(() => '')
      if (new RegExp(`^Pid: ${workerPid}$`, 'm').test(info)) return { workerPid }
      lastError = `worker ${workerPid} does not answer on the admin socket yet`
    }
    throw new ProvisionerError(PROVIDER, 'reload', `no new worker took over within ${2 * timeoutMs} ms (${lastError})`, true)
  }

  async function apply(rendered: RenderedHaproxy, plan: ApplyPlan): Promise<ApplyResult> {
    await writeAndValidate(rendered)
    if (plan.kind === 'none') return { method: 'none' }
    if (plan.kind === 'reload') {
      await reload()
      return { method: 'reload' }
    }
    try {
      for (const command of plan.commands) await runOne(command)
      return { method: 'runtime' }
    } catch (err) {
      // The files already hold the target state: a reload gets there whatever the commands left half done.
      const runtimeError = err instanceof Error ? err.message : String(err)
      try {
        await reload()
      } catch (reloadError) {
        const message = reloadError instanceof Error ? reloadError.message : String(reloadError)
        const retryable = reloadError instanceof ProvisionerError && reloadError.retryable
        throw new ProvisionerError(PROVIDER, 'apply', `${runtimeError}; the reload that followed failed too: ${message}`, retryable, {
          cause: reloadError,
        })
      }
      return { method: 'reload', runtimeError }
    }
  }

  return {
    runtime: async (commands) => {
      for (const command of commands) await runOne(command)
    },
    query,
    processes,
    validate,
    writeAndValidate,
    reload,
    apply,
  }
}

/** `show proc` of HAProxy 2.6's master CLI. */
export function parseShowProc(text: string): HaproxyProcesses {
  let section: 'master' | 'workers' | 'old' | 'other' = 'master'
  const result: HaproxyProcesses = { masterPid: 0, failedReloads: 0, workers: [], oldWorkers: [] }
  for (const line of text.split('\n')) {
    if (line.startsWith('#<PID>') || !line.trim()) continue
    if (line.startsWith('#')) {
      section = line === '# workers' ? 'workers' : line === '# old workers' ? 'old' : 'other'
      continue
    }
    const match = /^(\d+)\s+(\S+)\s+\d+(?:\s+\[failed: (\d+)\])?/.exec(line)
    if (!match) continue
    const pid = Number(match[1])
    if (match[2] === 'master') {
      result.masterPid = pid
      result.failedReloads = Number(match[3] ?? 0)
    } else if (match[2] === 'worker' && section === 'workers') result.workers.push(pid)
    else if (match[2] === 'worker' && section === 'old') result.oldWorkers.push(pid)
  }
  if (!result.masterPid) throw new ProvisionerError(PROVIDER, 'show proc', `unexpected answer: ${text.slice(0, 200)}`)
  return result
}

function checkCommand(command: string) {
  // The CLI splits on ';' and newlines: one command here must stay one command there.
  if (/[;\n\r]/.test(command))
    throw new ProvisionerError(PROVIDER, 'runtime', `refusing a command with ';' or a line break: ${JSON.stringify(command)}`)
}

/** Writes to a Unix socket and collects everything until HAProxy closes the connection. */
function send(socketPath: string, payload: string, command: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath)
    const chunks: Buffer[] = []
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new ProvisionerError(PROVIDER, `runtime "${command}"`, `no answer from ${socketPath} within ${timeoutMs} ms`, true))
    }, timeoutMs)
    socket.on('connect', () => socket.write(payload))
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      const retryable = err.code === 'ECONNREFUSED' || err.code === 'ENOENT' || err.code === 'ECONNRESET' || err.code === 'EAGAIN'
      reject(new ProvisionerError(PROVIDER, `runtime "${command}"`, `${socketPath}: ${err.message}`, retryable, { cause: err }))
    })
    socket.on('close', (hadError) => {
      clearTimeout(timer)
      if (!hadError) resolve(Buffer.concat(chunks).toString('utf8'))
    })
  })
}

async function removeStaging(dir: string) {
  for (const entry of await readdir(dir))
    if (entry.startsWith(STAGING_PREFIX)) await rm(path.join(dir, entry), { recursive: true, force: true })
}

/** HAProxy's ALERT lines (the reasons a check failed), or the tail of its output. */
function alerts(output: string): string {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.includes('[ALERT]'))
    .map((l) => l.replace(/^\[ALERT\]\s*\(\d+\)\s*:\s*/, ''))
  return (lines.length ? lines.join(' | ') : output.trim()).slice(0, 1500)
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
