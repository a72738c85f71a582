import type { Logger } from 'pino'

const steps: { name: string; fn: () => Promise<unknown> }[] = []
let stopping = false

export const isShuttingDown = () => stopping

/**
 * Registers a clean-up step for SIGINT/SIGTERM/SIGHUP. Steps run in reverse order of registration (the HTTP
 * server closes before the database it uses stops).
 */
export function onShutdown(log: Logger, name: string, fn: () => Promise<unknown>): void {
  if (steps.length === 0) {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.on(signal, () => {
        if (stopping) return
        stopping = true
        log.info({ signal }, 'shutting down')
        void (async () => {
          for (const step of [...steps].reverse()) {
            try {
              log.debug({ step: step.name }, 'stopping')
              await step.fn()
            } catch (err) {
              log.error({ err, step: step.name }, 'shutdown step failed')
            }
          }
          process.exit(0)
        })()
      })
    }
  }
  steps.push({ name, fn })
}
