import { spawn } from 'node:child_process'
import { access, constants } from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import { createHaproxyControl, type HaproxyControl } from '@/lb-agent/haproxy'
import type { RenderedHaproxy, RenderOptions } from '@/lb-agent/render'

export const HAPROXY_BIN = '/usr/sbin/haproxy'

export interface StartedHaproxy {
  /** the HTTP port of the frontend (read from the rendered `bind` line) */
  port: number
  control: HaproxyControl
  statsSocket: string
  masterSocket: string
  /** what HAProxy printed so far (its notices, warnings and alerts) */
  output(): string
  stop(): Promise<void>
}

/** A port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/** Render options for a test HAProxy living in `configDir`, on 127.0.0.1 and fast health checks. */
export function testRenderOptions(configDir: string, httpPort: number, overrides: Partial<RenderOptions> = {}): RenderOptions {
  return {
    nodeName: 'test-lb',
    bindAddress: '127.0.0.1',
    httpPort,
    configDir,
    statsSocket: path.join(configDir, 'stats.sock'),
    healthCheck: { interMs: 500, fall: 2, rise: 1 },
    timeouts: { hardStopAfterMs: 30_000 },
    ...overrides,
  }
}

/**
 * Writes the initial files (validated, as the agent would) and starts HAProxy in master-worker mode as a foreground
 * child: `haproxy -W -S <configDir>/master.sock -f <configDir>/haproxy.cfg`. Resolves once the worker answers on its
 * admin socket. A missing binary fails the test with the command that installs it.
 */
export async function startHaproxy({ configDir, rendered }: { configDir: string; rendered: RenderedHaproxy }): Promise<StartedHaproxy> {
  await access(HAPROXY_BIN, constants.X_OK).catch(() => {
    throw new Error(`HAProxy is not installed (${HAPROXY_BIN}): install it: apt-get install haproxy`)
  })
  const port = Number(/^\s*bind\s+(?:\[[^\]]+\]|[^\s:]+):(\d+)/m.exec(rendered.config)?.[1])
  const statsSocket = /^\s*stats socket\s+(\S+)/m.exec(rendered.config)?.[1]
  if (!port || !statsSocket) throw new Error('the rendered configuration has no bind line or no stats socket')
  const masterSocket = path.join(configDir, 'master.sock')
  const control = createHaproxyControl({ configDir, statsSocket, masterSocket, haproxyBin: HAPROXY_BIN, timeoutMs: 5000 })
  await control.writeAndValidate(rendered)

  const child = spawn(HAPROXY_BIN, ['-W', '-S', masterSocket, '-f', path.join(configDir, 'haproxy.cfg')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let running = true
  void exited.then(() => (running = false))

  const stop = async () => {
    if (!running) return
    child.kill('SIGTERM')
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(killer)
  }

  const deadline = Date.now() + 10_000
  for (;;) {
    if (!running) throw new Error(`HAProxy exited while starting:\n${output}`)
    const info = await control.query('show info').catch(() => '')
    if (info.includes('Pid:')) break
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`HAProxy's admin socket did not answer within 10 s:\n${output}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return { port, control, statsSocket, masterSocket, output: () => output, stop }
}
