import { spawn } from 'node:child_process'
import path from 'node:path'

const ROOT = path.resolve(import.meta.dirname, '../..')

export interface RunningScript {
  /** everything the process printed so far (stdout and stderr) */
  output(): string
  /** resolves when the output contains `text`; rejects if the process exits first or time runs out */
  waitFor(text: string, timeoutMs: number): Promise<void>
  /** SIGTERM (SIGKILL after `graceMs`), then the exit code; at once if it already exited */
  stop(graceMs?: number): Promise<number | null>
  exited(): Promise<number | null>
  kill(): void
}

/**
 * Runs one of scripts/*.ts as its npm command does (`node --import tsx`, in the repository root), with
 * `env` as its whole environment.
 */
export function runScript(script: string, args: string[], env: NodeJS.ProcessEnv): RunningScript {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  return {
    output: () => out,
    exited: () => exited,
    kill: () => {
      if (child.exitCode === null) child.kill('SIGKILL')
    },
    waitFor: async (text, timeoutMs) => {
      const deadline = Date.now() + timeoutMs
      while (!out.includes(text)) {
        if (child.exitCode !== null) throw new Error(`${script} exited (${child.exitCode}) before printing "${text}":\n${out.slice(-4000)}`)
        if (Date.now() > deadline) throw new Error(`${script} did not print "${text}" in time:\n${out.slice(-4000)}`)
        await new Promise((r) => setTimeout(r, 200))
      }
    },
    stop: async (graceMs = 15_000) => {
      if (child.exitCode !== null) return child.exitCode
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      const code = await exited
      clearTimeout(timer)
      return code
    },
  }
}
