/**
 * One background `ansible-playbook` run per appserver, so that configuring a VM never holds a worker: the
 * first call starts the run as a detached process group and returns; each later call reads the log lines
 * written since the previous call and answers running, done or failed. Everything lives in
 * `<runDir>/<appserverId>/` (see README.md beside this file for the layout and the restart rules).
 */
import { spawn } from 'node:child_process'
import { constants as fsConstants } from 'node:fs'
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import path from 'node:path'
import { stringify } from 'yaml'
import { type ConfigureProgress, type LogSink, ProvisionerError } from '../../types'

export interface AnsibleRunOptions {
  /** The playbook, absolute or relative to the working directory. */
  playbook: string
  /** Folder holding one sub-folder per appserver (made 0700). */
  runDir: string
  /** More ansible-playbook arguments (e.g. ["--diff"]); never secrets, they are visible in `ps`. */
  extraArgs: string[]
  /** The ansible-playbook executable. */
  command: string
  /** An ansible.cfg to use (ANSIBLE_CONFIG); undefined leaves Ansible's own search. */
  configFile: string | undefined
  /** A run recorded by another machine that is not finished after this long is started again here. */
  staleAfterMs: number
}

export interface AnsibleTarget {
  appserverId: string
  /** Inventory host name (the VM's name). */
  name: string
  /** Address Ansible connects to. */
  host: string
  sshUser: string
  sshPrivateKey: string
  /** Extra variables for the playbook, secrets included: written to a 0600 file, never on the command line. */
  variables: Record<string, unknown>
}

interface RunRecord {
  startedAt: string
  host: string
  pid: number | null
}

const FILES = {
  record: 'run.json',
  previousRecord: 'run.previous.json',
  log: 'ansible.log',
  previousLog: 'ansible.previous.log',
  offset: 'log.offset',
  exitCode: 'exit-code',
  inventory: 'inventory.yml',
  key: 'ssh-key',
  vars: 'vars.json',
  knownHosts: 'known_hosts',
}

/** A run that has a record but no process yet (crash between the two) is given this long to get one. */
const SPAWN_GRACE_MS = 60_000

// The detached wrapper: runs ansible-playbook with its output in the log, removes the key and the variables
// as soon as it ends, then writes the exit code (atomically, so a reader never sees half of it).
const WRAPPER = `
log=$1 exitfile=$2 key=$3 vars=$4 cfg=$5
shift 5
if [ -n "$cfg" ]; then ANSIBLE_CONFIG=$cfg; export ANSIBLE_CONFIG; fi
ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_RETRY_FILES_ENABLED=0 PYTHONUNBUFFERED=1 "$@" >>"$log" 2>&1 </dev/null
code=$?
rm -f "$key" "$vars"
echo "$code" >"$exitfile.tmp" && mv -f "$exitfile.tmp" "$exitfile"
`

export function runFolder(options: AnsibleRunOptions, appserverId: string): string {
  return path.resolve(options.runDir, appserverId)
}

/** Starts the run if there is none (or the one recorded is dead), streams new log lines, and says where it is. */
export async function progressAnsibleRun(options: AnsibleRunOptions, target: AnsibleTarget, log: LogSink): Promise<ConfigureProgress> {
  const dir = runFolder(options, target.appserverId)
  await mkdir(path.resolve(options.runDir), { recursive: true, mode: 0o700 })
  await mkdir(dir, { recursive: true, mode: 0o700 })

  const finished = await finishedProgress(dir, log)
  if (finished) return finished

  const record = await readRecord(dir)
  if (record && (await stillRunning(dir, record, options.staleAfterMs))) {
    await streamNewLines(dir, log)
    return { state: 'running' }
  }
  if (record) {
    // The exit code may have landed between the first look and now.
    const justFinished = await finishedProgress(dir, log)
    if (justFinished) return justFinished
    log(`ansible: the run started ${record.startedAt} on ${record.host} stopped without finishing; starting it again`)
    try {
      await rename(path.join(dir, FILES.record), path.join(dir, FILES.previousRecord))
    } catch (error) {
      // Another caller moved it first and is starting the new run.
      if (isCode(error, 'ENOENT')) return { state: 'running' }
      throw error
    }
  }
  return start(options, target, dir, log)
}

/** Stops a run of this machine that is still going and removes the appserver's run folder. */
export async function removeAnsibleRun(options: AnsibleRunOptions, appserverId: string): Promise<void> {
  const dir = runFolder(options, appserverId)
  const record = await readRecord(dir)
  if (
    record?.pid &&
    record.host === hostname() &&
    !(await exists(path.join(dir, FILES.exitCode))) &&
    (await isOurProcess(record.pid, dir))
  ) {
    try {
      process.kill(-record.pid, 'SIGTERM')
    } catch {
      // already gone
    }
  }
  await rm(dir, { recursive: true, force: true })
}

async function start(options: AnsibleRunOptions, target: AnsibleTarget, dir: string, log: LogSink): Promise<ConfigureProgress> {
  const recordPath = path.join(dir, FILES.record)
  const claim: RunRecord = { startedAt: new Date().toISOString(), host: hostname(), pid: null }
  try {
    // Exclusive create: of two callers racing here, one starts the run and the other reports on it.
    await writeFile(recordPath, JSON.stringify(claim), { flag: 'wx', mode: 0o600 })
  } catch (error) {
    if (isCode(error, 'EEXIST')) return { state: 'running' }
    throw error
  }

  const file = (name: string) => path.join(dir, name)
  await rm(file(FILES.exitCode), { force: true })
  await rm(file(FILES.offset), { force: true })
  if (await exists(file(FILES.log))) await rename(file(FILES.log), file(FILES.previousLog))
  await writeSecretFile(file(FILES.key), target.sshPrivateKey.endsWith('\n') ? target.sshPrivateKey : `${target.sshPrivateKey}\n`)
  await writeSecretFile(file(FILES.vars), JSON.stringify(target.variables))
  const inventory = {
    all: {
      children: {
        appservers: {
          hosts: {
            [target.name]: {
              ansible_host: target.host,
              ansible_user: target.sshUser,
              ansible_ssh_private_key_file: file(FILES.key),
              // A new VM's host key is unknown: accept it on first contact, remember it for this run only.
              ansible_ssh_common_args: `-o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=${file(FILES.knownHosts)}`,
            },
          },
        },
      },
    },
  }
  await writeFile(file(FILES.inventory), stringify(inventory), { mode: 0o600 })
  await writeFile(file(FILES.log), '', { mode: 0o600 })

  const playbook = path.resolve(options.playbook)
  const args = [playbook, '-i', file(FILES.inventory), '-e', `@${file(FILES.vars)}`, ...options.extraArgs]
  const wrapperArgs = [
    file(FILES.log),
    file(FILES.exitCode),
    file(FILES.key),
    file(FILES.vars),
    options.configFile ? path.resolve(options.configFile) : '',
  ]
  const child = spawn('/bin/sh', ['-c', WRAPPER, 'tenon-ansible-run', ...wrapperArgs, options.command, ...args], {
    cwd: dir,
    detached: true,
    stdio: 'ignore',
  })
  let pid: number
  try {
    pid = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => (child.pid === undefined ? reject(new Error('no process id')) : resolve(child.pid)))
      child.once('error', reject)
    })
  } catch (error) {
    // Give the claim back so that the next call tries again at once.
    await rm(recordPath, { force: true })
    throw new ProvisionerError(
      'ovh',
      'configure',
      `could not start ansible-playbook: ${error instanceof Error ? error.message : String(error)}`,
      true,
      {
        cause: error,
      },
    )
  }
  child.unref()
  await writeRecord(dir, { ...claim, pid })
  log(`ansible: started ${path.basename(playbook)} against ${target.host} (process ${pid})`)
  return { state: 'running' }
}

async function finishedProgress(dir: string, log: LogSink): Promise<ConfigureProgress | undefined> {
  let text: string
  try {
    text = await readFile(path.join(dir, FILES.exitCode), 'utf8')
  } catch (error) {
    if (isCode(error, 'ENOENT')) return undefined
    throw error
  }
  await streamNewLines(dir, log, true)
  // The wrapper removes them too; this covers a wrapper that was killed between the two steps.
  await rm(path.join(dir, FILES.key), { force: true })
  await rm(path.join(dir, FILES.vars), { force: true })
  const code = Number(text.trim())
  if (code === 0) return { state: 'done' }
  return { state: 'failed', error: `ansible-playbook exited with code ${text.trim()}:\n${await failureSummary(dir)}` }
}

/** Ansible's own error lines when there are any (they say what broke), otherwise the end of the log. */
async function failureSummary(dir: string): Promise<string> {
  const lines = (await readFile(path.join(dir, FILES.log), 'utf8').catch(() => ''))
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '')
  const errors = lines.filter((l) => /^(fatal:|failed:|ERROR!)|FAILED!|UNREACHABLE!|not found/.test(l))
  const picked = errors.length > 0 ? [...errors.slice(-5), ...lines.slice(-3)] : lines.slice(-15)
  return [...new Set(picked)].join('\n')
}

async function stillRunning(dir: string, record: RunRecord, staleAfterMs: number): Promise<boolean> {
  const age = Date.now() - Date.parse(record.startedAt)
  if (record.host !== hostname()) return age < staleAfterMs
  if (record.pid === null) return age < SPAWN_GRACE_MS
  return isOurProcess(record.pid, dir)
}

/** True when `pid` is alive and is our wrapper for this folder (pids are reused after a reboot). */
async function isOurProcess(pid: number, dir: string): Promise<boolean> {
  // 0 and negative ids address process groups, 1 is init: never a run of ours.
  if (!Number.isInteger(pid) || pid <= 1) return false
  try {
    process.kill(pid, 0)
  } catch (error) {
    return isCode(error, 'EPERM')
  }
  try {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8')
    return cmdline.includes(path.join(dir, FILES.exitCode))
  } catch {
    // No /proc (not Linux): trust the signal check.
    return true
  }
}

/** Sends the complete lines written since the last call; the offset is kept in the run folder. */
async function streamNewLines(dir: string, log: LogSink, includePartial = false): Promise<void> {
  const offsetPath = path.join(dir, FILES.offset)
  const offset = Number((await readFile(offsetPath, 'utf8').catch(() => '0')).trim()) || 0
  let handle
  try {
    handle = await open(path.join(dir, FILES.log), fsConstants.O_RDONLY)
  } catch (error) {
    if (isCode(error, 'ENOENT')) return
    throw error
  }
  try {
    const { size } = await handle.stat()
    if (size <= offset) return
    const buffer = Buffer.alloc(size - offset)
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset)
    const chunk = buffer.subarray(0, bytesRead)
    const end = includePartial ? chunk.length : chunk.lastIndexOf(0x0a) + 1
    if (end === 0) return
    for (const line of chunk.subarray(0, end).toString('utf8').split('\n')) {
      if (line.trim() !== '') log(line.trimEnd())
    }
    await writeFile(offsetPath, String(offset + end))
  } finally {
    await handle.close()
  }
}

async function readRecord(dir: string): Promise<RunRecord | undefined> {
  let text: string
  try {
    text = await readFile(path.join(dir, FILES.record), 'utf8')
  } catch (error) {
    if (isCode(error, 'ENOENT')) return undefined
    throw error
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    parsed = undefined
  }
  if (
    typeof parsed === 'object' &&
    parsed !== null &&
    'startedAt' in parsed &&
    typeof parsed.startedAt === 'string' &&
    'host' in parsed &&
    typeof parsed.host === 'string' &&
    'pid' in parsed &&
    (typeof parsed.pid === 'number' || parsed.pid === null)
  ) {
    return { startedAt: parsed.startedAt, host: parsed.host, pid: parsed.pid }
  }
  // A record cut short by a crash: a dead run of this machine, started long ago.
  return { startedAt: new Date(0).toISOString(), host: hostname(), pid: null }
}

async function writeRecord(dir: string, record: RunRecord): Promise<void> {
  const target = path.join(dir, FILES.record)
  await writeFile(`${target}.tmp`, JSON.stringify(record), { mode: 0o600 })
  await rename(`${target}.tmp`, target)
}

/** Creates the file 0600 from the start (no window where it is readable by others). */
async function writeSecretFile(file: string, content: string): Promise<void> {
  await rm(file, { force: true })
  await writeFile(file, content, { flag: 'wx', mode: 0o600 })
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file)
    return true
  } catch {
    return false
  }
}

function isCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === code
}
