/**
 * What every benchmark shares: the machine it ran on, latency statistics, a plain-text table, a
 * deterministic random source for seed data, and clean-up that also runs on Ctrl-C.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs'
import os from 'node:os'

export interface Hardware {
  cpus: number
  cpuModel: string
  totalMemoryGiB: number
  node: string
  platform: string
}

export function hardware(): Hardware {
  const cpus = os.cpus()
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    totalMemoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  }
}

export function hardwareLine(hw: Hardware): string {
  return `${hw.cpus} CPU × ${hw.cpuModel}, ${hw.totalMemoryGiB} GiB RAM, Node ${hw.node}, ${hw.platform}`
}

export interface LatencySummary {
  requests: number
  p50: number
  p95: number
  p99: number
  max: number
  mean: number
  /** completed requests per second of wall time */
  throughput: number
}

/** Nearest-rank percentile of sorted values (p in 0..100). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!
}

export function summarize(samples: readonly number[], wallMs: number): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b)
  const round = (n: number) => Math.round(n * 100) / 100
  return {
    requests: sorted.length,
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1] ?? Number.NaN),
    mean: round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
    throughput: Math.round((sorted.length / wallMs) * 1000 * 10) / 10,
  }
}

/** A fixed-width text table; columns whose cells are all numbers are right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)))
  const numeric = header.map((_, i) => rows.every((r) => /^[\d.,]+$/.test(r[i] ?? '')))
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

/** The 1-minute load average, to tell whether something else was using the CPUs during a run. */
export const loadAverage = (): number => Math.round(os.loadavg()[0]! * 100) / 100

/** mulberry32: a small seeded PRNG, so every run benchmarks the same fleet. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A benchmark that cannot trust its own figures stops with one of these. */
export class BenchError extends Error {
  override name = 'BenchError'
}

const cleanups: (() => Promise<void>)[] = []

/** Registers clean-up (stop a server, drop a database) that runs at the end, on failure and on Ctrl-C. */
export function onCleanup(fn: () => Promise<void>): void {
  cleanups.push(fn)
}

let cleaning: Promise<void> | undefined

/**
 * Runs registered clean-ups, newest first, once each; a failing one is reported and the rest still run.
 * Callers that arrive while a clean-up is under way (Ctrl-C, then the failure it causes) wait for that one.
 */
export function runCleanups(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length) {
      const fn = cleanups.pop()!
      try {
        await fn()
      } catch (err) {
        console.error('clean-up failed:', err)
      }
    }
  })().finally(() => (cleaning = undefined))
  return cleaning
}

export const elapsedSince = (startMs: number): number => Math.round(performance.now() - startMs)

// ---------------------------------------------------------------------------------------------
// CPU time of other processes (Linux /proc). On a shared machine latency depends on what else runs;
// CPU time per request does much less, and says what two cores can serve.

const TICK_MS = 10 // USER_HZ is 100 on every Linux the product targets

/** user + system CPU time of a process in ms, or null when it cannot be read (gone, or not Linux). */
export function processCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS
  } catch {
    return null
  }
}

/** The process listening on a local TCP port, found through /proc (null when not found or not Linux). */
export function listeningPid(port: number): number | null {
  try {
    const portHex = port.toString(16).toUpperCase().padStart(4, '0')
    const inodes = new Set<string>()
    for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
      if (!existsSync(file)) continue
      for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
        const cols = line.trim().split(/\s+/)
        if (cols[1]?.endsWith(`:${portHex}`) && cols[3] === '0A' && cols[9]) inodes.add(cols[9])
      }
    }
    if (!inodes.size) return null
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      let fds: string[]
      try {
        fds = readdirSync(`/proc/${pid}/fd`)
      } catch {
        continue
      }
      for (const fd of fds) {
        try {
          const link = readlinkSync(`/proc/${pid}/fd/${fd}`)
          if (inodes.has(link.slice('socket:['.length, -1)) && link.startsWith('socket:[')) return Number(pid)
        } catch {
          // the descriptor closed meanwhile
        }
      }
    }
    return null
  } catch {
    return null
  }
}
