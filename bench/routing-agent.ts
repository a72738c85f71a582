/**
 * The routing benchmark's lb-agent in a process of its own (`node --import tsx bench/routing-agent.ts`, forked by
 * bench/routing.ts with an IPC channel), so its memory is the agent's alone. Reads its settings from the
 * TENON_BENCH_AGENT environment variable (JSON), starts the agent on the HAProxy the benchmark runs, and reports back
 * how long the first apply took and its memory, then again after a few seconds idle. Stops on the message "stop".
 */
import pino from 'pino'
import { z } from 'zod'
import { startLbAgent } from '@/lb-agent/agent'
import { createHaproxyControl } from '@/lb-agent/haproxy'
import type { RenderOptions } from '@/lb-agent/render'

const ZSettings = z.object({
  consulAddress: z.string(),
  prefix: z.string(),
  configDir: z.string(),
  statsSocket: z.string(),
  masterSocket: z.string(),
  httpPort: z.number().int(),
  healthCheckInterMs: z.number().int(),
  settleMs: z.number().int().min(0),
})

const ZChildReport = z.object({
  stage: z.enum(['applied', 'settled']),
  firstApplyMs: z.number(),
  revision: z.number(),
  method: z.string().optional(),
  rss: z.number(),
  heapUsed: z.number(),
  heapTotal: z.number(),
  external: z.number(),
  /** before the agent started (the program and its modules loaded) */
  baselineRss: z.number(),
  baselineHeapUsed: z.number(),
})
export type AgentChildReport = z.infer<typeof ZChildReport>
/** What this process sends its parent. */
export const ZChildMessage = z.discriminatedUnion('stage', [ZChildReport, z.object({ stage: z.literal('failed'), error: z.string() })])

function send(message: z.infer<typeof ZChildMessage>) {
  process.send?.(message)
}

async function main() {
  const settings = ZSettings.parse(JSON.parse(process.env.TENON_BENCH_AGENT ?? '{}'))
  const render: RenderOptions = {
    nodeName: 'bench-memory',
    bindAddress: '127.0.0.1',
    httpPort: settings.httpPort,
    configDir: settings.configDir,
    statsSocket: settings.statsSocket,
    healthCheck: { interMs: settings.healthCheckInterMs },
    timeouts: { hardStopAfterMs: 30_000 },
  }
  // `haproxy -c` and a reload of 10,000 backends take longer than the default 10 s allows on a slow machine.
  const haproxy = createHaproxyControl({
    configDir: settings.configDir,
    statsSocket: settings.statsSocket,
    masterSocket: settings.masterSocket,
    haproxyBin: '/usr/sbin/haproxy',
    timeoutMs: 60_000,
  })
  const baseline = process.memoryUsage()
  const started = performance.now()
  const agent = startLbAgent({
    consul: { address: settings.consulAddress },
    prefix: settings.prefix,
    render,
    haproxy,
    heartbeatMs: 10_000,
    log: pino({ level: 'warn' }, pino.destination(2)),
  })
  process.on('message', (message) => {
    if (message === 'stop') void agent.stop().finally(() => process.exit(0))
  })
  await agent.ready()
  const firstApplyMs = performance.now() - started
  const report = (stage: AgentChildReport['stage']): AgentChildReport => {
    const m = process.memoryUsage()
    const applied = agent.applied()
    return {
      stage,
      firstApplyMs,
      revision: applied.revision,
      method: applied.method,
      rss: m.rss,
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
      baselineRss: baseline.rss,
      baselineHeapUsed: baseline.heapUsed,
    }
  }
  send(report('applied'))
  await new Promise((resolve) => setTimeout(resolve, settings.settleMs))
  send(report('settled'))
}

// Run only as the program (bench/routing.ts imports the message schema from here).
if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    send({ stage: 'failed', error: err instanceof Error ? err.message : String(err) })
    process.exit(1)
  })
}
