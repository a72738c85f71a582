/**
 * Named points between the effects of a redeploy where a test can kill the worker for real (config
 * CRASH_POINT, test-only), to prove that a restarted worker finishes or undoes the work. The list is the
 * contract of the crash test (test/integration/crash-safety.test.ts iterates over it).
 */
export const CRASH_POINTS = [
  // an appserver's VM was created, but the appserver record does not know it yet
  'appserver.after-create',
  // the record says provisioning; nothing observed yet
  'appserver.after-provisioning',
  // the VM answered running; the record still says provisioning
  'appserver.after-observe',
  // the health check passed; the record still says starting
  'appserver.after-health',
  // the deployment was marked activating; routing not yet published
  'deployment.after-activating',
  // routing was published; the database still says the old deployment is active
  'deployment.after-publish',
  // the new deployment is active; draining not yet scheduled
  'deployment.after-activate',
  // a VM was destroyed; the record still says terminating
  'appserver.after-destroy',
] as const

export type CrashPoint = (typeof CRASH_POINTS)[number]

/** Kills this process with SIGKILL (no clean-up, like a power cut) when `point` is the configured one. */
export function crashPoint(configured: string | undefined, point: CrashPoint): void {
  if (configured === point) {
    process.stderr.write(`CRASH_POINT ${point}: killing the worker\n`)
    process.kill(process.pid, 'SIGKILL')
  }
}
