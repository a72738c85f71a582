import { closeSync, openSync, readdirSync, readSync } from 'node:fs'

/**
 * Finding appserver processes by the tags on their command line (Linux /proc), so that nothing depends on a
 * pid file that a crash or a deleted folder can lose.
 */

const OWNER_FLAG = '--tenon-owner='
const APPSERVER_FLAG = '--tenon-appserver='

/** The arguments that mark a process as appserver `appserverId` of installation `ownerTag`. */
export function processTags(ownerTag: string, appserverId: string): string[] {
  return [`${OWNER_FLAG}${ownerTag}`, `${APPSERVER_FLAG}${appserverId}`]
}

export interface TaggedProcess {
  pid: number
  appserverId: string
}

// Reads short of a page may stop early on some kernels; anything shorter than this came back whole.
const PAGE = 4096
// Shared by every scan: reads are synchronous, so no two scans use it at once.
let buffer = Buffer.alloc(4 * PAGE)

/** The NUL-separated command line of `pid`, or undefined when it has gone. Empty for zombies and kernel threads. */
function readCmdline(pid: number): Buffer | undefined {
  let fd: number
  try {
    fd = openSync(`/proc/${pid}/cmdline`, 'r')
  } catch {
    return undefined
  }
  try {
    let length = 0
    for (;;) {
      if (length === buffer.length) {
        const bigger = Buffer.alloc(buffer.length * 2)
        buffer.copy(bigger)
        buffer = bigger
      }
      const n = readSync(fd, buffer, length, buffer.length - length, null)
      length += n
      if (n < PAGE) break
    }
    return buffer.subarray(0, length)
  } catch {
    return undefined
  } finally {
    closeSync(fd)
  }
}

/** The appserver id of a process whose command line carries `ownerNeedle`, or undefined if it is not one of ours. */
function appserverOf(cmdline: Buffer, ownerNeedle: Buffer): string | undefined {
  if (cmdline.indexOf(ownerNeedle) < 0) return undefined
  const args = cmdline.toString('utf8').split('\0')
  const tag = args.find((a) => a.startsWith(APPSERVER_FLAG))
  return tag ? tag.slice(APPSERVER_FLAG.length) || undefined : undefined
}

// A scan reads one small file per process on the machine: hand the event loop back now and then.
const YIELD_EVERY = 256

/**
 * Every live process carrying `--tenon-owner=<ownerTag>` (and, when given, `--tenon-appserver=<appserverId>`).
 * The tag must be a whole argument, so owner "a" never matches processes of owner "ab".
 */
export async function findTaggedProcesses(ownerTag: string, appserverId?: string): Promise<TaggedProcess[]> {
  // argv[0] is never the tag, so each of our arguments is preceded and followed by a NUL.
  const ownerNeedle = Buffer.from(`\0${OWNER_FLAG}${ownerTag}\0`)
  const found: TaggedProcess[] = []
  const entries = readdirSync('/proc')
  for (let i = 0; i < entries.length; i++) {
    if (i > 0 && i % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve))
    const pid = Number(entries[i])
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) continue
    const cmdline = readCmdline(pid)
    if (!cmdline) continue
    const id = appserverOf(cmdline, ownerNeedle)
    if (id !== undefined && (appserverId === undefined || id === appserverId)) found.push({ pid, appserverId: id })
  }
  return found
}

/** Whether `pid` is still alive and still carries both tags (a reused pid does not). */
export function carriesTags(pid: number, ownerTag: string, appserverId: string): boolean {
  const cmdline = readCmdline(pid)
  return cmdline !== undefined && appserverOf(cmdline, Buffer.from(`\0${OWNER_FLAG}${ownerTag}\0`)) === appserverId
}
