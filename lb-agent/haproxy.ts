/**
 * Drives a running HAProxy (2.6, master-worker: `haproxy -W -S <master socket> -f <configDir>/haproxy.cfg`): writes
 * the rendered files after HAProxy accepted them, sends runtime-API commands to the worker's admin socket and reloads
 * through the master socket. Nothing here talks to Consul.
 */
import { execFile } from 'node:child_process'
import { chmod, mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import { ProvisionerError } from '@/provisioners/types'
import { commandLine, type ApplyPlan, type RuntimeCommand } from './plan'
import { CERTIFICATES_DIR, certificateFileName, CONFIG_FILE, HOSTS_MAP_FILE, type RenderedHaproxy } from './render'

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
  /**
   * Sends each command in turn to the admin socket; the first one HAProxy refuses throws, naming it (never its
   * payload). A command whose payload is a certificate takes it from `rendered`.
   */
  runtime(commands: RuntimeCommand[], rendered?: RenderedHaproxy): Promise<void>
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
// Runtime commands that succeed answer nothing, except these two and the certificate commands (SSL_ANSWERS).
const OK_ANSWERS = new Set(['', 'New server registered.', 'Server deleted.'])
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/

const quote = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
/**
 * What HAProxy 2.6 answers when a certificate command succeeded (checked against it), by command. Failures answer
 * "Can't …" or the reason, and anything else counts as one: notably, `set ssl cert` while a transaction on another
 * certificate is open answers "Transaction updated for certificate <the other one>" after putting the payload there,
 * so the file named in the answer must be the one in the command.
 */
const SSL_ANSWERS: [RegExp, (args: string[]) => RegExp][] = [
  [/^new ssl cert (\S+)$/, ([file = '']) => new RegExp(`^New empty certificate store '${quote(file)}'!$`)],
  [/^set ssl cert (\S+)$/, ([file = '']) => new RegExp(`^Transaction (?:created|updated) for certificate ${quote(file)}!$`)],
  [/^commit ssl cert (\S+)$/, ([file = '']) => new RegExp(`^Committing ${quote(file)}\\.*\\nSuccess!$`)],
  [/^add ssl crt-list (\S+)$/, ([list = '']) => new RegExp(`^Inserting certificate '[^']+' in crt-list '${quote(list)}'\\.\\nSuccess!$`)],
  [
    /^del ssl crt-list (\S+) (\S+)$/,
    ([list = '', file = '']) => new RegExp(`^Entry '${quote(file)}' deleted in crtlist '${quote(list)}'!$`),
  ],
  [/^del ssl cert (\S+)$/, ([file = '']) => new RegExp(`^Certificate '${quote(file)}' deleted!$`)],
]

/** Whether HAProxy's answer (trimmed) to `command` says it succeeded. */
export function accepted(command: string, answer: string): boolean {
  for (const [pattern, success] of SSL_ANSWERS) {
    const match = pattern.exec(command)
    if (match) return success(match.slice(1)).test(answer)
  }
  return OK_ANSWERS.has(answer)
}

export function createHaproxyControl(options: HaproxyControlOptions): HaproxyControl {
  const configDir = path.resolve(options.configDir)
  const bin = options.haproxyBin ?? '/usr/sbin/haproxy'
  const timeoutMs = options.timeoutMs ?? 10_000

  async function query(command: string): Promise<string> {
    checkCommand(command)
    return send(options.statsSocket, `${command}\n`, command, timeoutMs)
  }

  async function runOne(entry: RuntimeCommand, rendered: RenderedHaproxy | undefined): Promise<void> {
    const command = commandLine(entry)
    // `del server` is refused while the server still holds connections; closing them after `shutdown sessions`
    // (and purging idle ones) takes HAProxy a moment.
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const answer = (typeof entry === 'string' ? await query(command) : await withPayload(command, payloadOf(entry, rendered))).trim()
      if (accepted(command, answer)) return
      if (command.startsWith('del server ') && /connection/i.test(answer) && Date.now() < deadline) {
        await sleep(50)
        continue
      }
      throw new ProvisionerError(PROVIDER, `runtime "${command}"`, redact(answer).slice(0, 500) || 'refused')
    }
  }

  /** `<command> <<`, the payload's lines, an empty line: HAProxy's CLI reads a payload up to the first empty line. */
  async function withPayload(command: string, payload: string): Promise<string> {
    checkCommand(command)
    const lines = payload.split('\n').filter((line, i, all) => line !== '' || i < all.length - 1)
    if (!lines.length || lines.some((line) => line.trim() === '' || line.includes('\r')))
      throw new ProvisionerError(PROVIDER, `runtime "${command}"`, 'refusing a payload that is empty or has an empty line')
    return send(options.statsSocket, `${command} <<\n${lines.join('\n')}\n\n`, command, timeoutMs)
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
    const certificates: [string, string][] = Object.entries(rendered.certificates)
    for (const [name] of [...files, ...certificates])
      if (!FILE_NAME.test(name) || name === CONFIG_FILE || name === HOSTS_MAP_FILE || name === CHECK_FILE || name === CERTIFICATES_DIR)
        throw new ProvisionerError(PROVIDER, 'write', `refusing to write a file named ${JSON.stringify(name)}`)
    // The configuration and its map last: they are the files that refer to the others.
    files.push([HOSTS_MAP_FILE, rendered.hostsMap], [CONFIG_FILE, rendered.config])
    const certsDir = path.join(configDir, CERTIFICATES_DIR)
    await mkdir(configDir, { recursive: true })
    // Private keys: only the owner (the agent; HAProxy's master reads them as root) may read them.
    await mkdir(certsDir, { recursive: true, mode: 0o700 })
    await chmod(certsDir, 0o700)
    await removeStaging(configDir)
    // mkdtemp: mode 0700, so the staged keys are not readable by others either.
    const staging = await mkdtemp(path.join(configDir, STAGING_PREFIX))
    const toStaging = (content: string) => content.split(`${configDir}/`).join(`${staging}/`)
    try {
      await mkdir(path.join(staging, CERTIFICATES_DIR), { mode: 0o700 })
      for (const [name, content] of certificates) await writeFile(path.join(staging, CERTIFICATES_DIR, name), content, { mode: 0o600 })
      // The configuration (and the crt-list) name files by their final paths; the copies HAProxy checks name the staged
      // ones, so the check reads the new map, pages and certificates (and works before the first files exist).
      for (const [name, content] of files) await writeFile(path.join(staging, name), name === CONFIG_FILE ? content : toStaging(content))
      await writeFile(path.join(staging, CHECK_FILE), toStaging(rendered.config))
      try {
        await validate(path.join(staging, CHECK_FILE))
      } catch (err) {
        if (err instanceof ProvisionerError)
          throw new ProvisionerError(PROVIDER, 'validate', err.message.split(`${staging}/`).join('(staged) '))
        throw err
      }
      // Checked: now the real content, then into place. Certificates first: the crt-list refers to them.
      for (const [name, content] of files) if (toStaging(content) !== content) await writeFile(path.join(staging, name), content)
      for (const [name] of certificates) await rename(path.join(staging, CERTIFICATES_DIR, name), path.join(certsDir, name))
      for (const [name] of files) await rename(path.join(staging, name), path.join(configDir, name))
      // A certificate no instance uses any more: its key does not stay on the disk (HAProxy keeps what it loaded).
      const wanted = new Set(certificates.map(([name]) => name))
      for (const entry of await readdir(certsDir)) if (!wanted.has(entry)) await rm(path.join(certsDir, entry), { force: true })
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
      for (const command of plan.commands) await runOne(command, rendered)
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
    runtime: async (commands, rendered) => {
      for (const command of commands) await runOne(command, rendered)
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

/** The payload of a command: its text, or the certificate file it names as rendered (key included: never logged). */
function payloadOf(entry: Exclude<RuntimeCommand, string>, rendered: RenderedHaproxy | undefined): string {
  if ('payload' in entry) return entry.payload
  const pem = rendered?.certificates[certificateFileName(entry.certificate)]
  if (pem === undefined)
    throw new ProvisionerError(PROVIDER, `runtime "${entry.command}"`, `certificate ${entry.certificate} is not among the rendered files`)
  return pem
}

/** HAProxy's answer with any PEM block cut out, in case an answer ever quotes a payload. */
export function redact(answer: string): string {
  return answer.replace(/-----BEGIN ([A-Z ]+)-----[\s\S]*?(?:-----END \1-----|$)/g, '[$1 redacted]')
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
