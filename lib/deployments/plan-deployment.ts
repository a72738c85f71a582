import type { AppserverState, DeploymentStatus } from '@/lib/db/generated/enums'

export interface PlanAppserver {
  id: string
  index: number
  state: AppserverState
  error: string | null
  failedPhase: AppserverState | null
}

export type DeploymentPlan =
  /** an appserver failed: the deployment fails and its other appservers go */
  | { kind: 'fail'; error: string; terminate: string[] }
  /** every appserver is healthy: move the traffic */
  | { kind: 'activate' }
  /** activating (again, after a crash): publish the routing and finish the switch */
  | { kind: 'publish' }
  | { kind: 'terminate'; terminate: string[]; reason: string }
  /** an active deployment lost an appserver (its VM vanished): route around it */
  | { kind: 'republish' }
  /** every appserver is gone: the deployment is over */
  | { kind: 'finish'; status?: DeploymentStatus }
  | { kind: 'idle' }

const GONE: readonly AppserverState[] = ['terminating', 'terminated']

/** What a deployment does next, from its appservers' states (pure). */
export function planDeployment(d: { status: DeploymentStatus; finished: boolean; appservers: PlanAppserver[] }): DeploymentPlan {
  const { appservers } = d
  const notGone = appservers.filter((a) => !GONE.includes(a.state)).map((a) => a.id)
  const allTerminated = appservers.every((a) => a.state === 'terminated')
  switch (d.status) {
    case 'building': {
      const failed = appservers.find((a) => a.state === 'failed' || a.failedPhase !== null)
      if (failed) {
        const phase = failed.failedPhase ?? failed.state
        return {
          kind: 'fail',
          error: `appserver ${failed.index} failed while ${phase}: ${failed.error ?? 'no detail'}`,
          terminate: notGone.filter((id) => id !== failed.id),
        }
      }
      if (appservers.length > 0 && appservers.every((a) => a.state === 'healthy')) return { kind: 'activate' }
      return { kind: 'idle' }
    }
    case 'activating':
      return { kind: 'publish' }
    case 'failed':
    case 'cancelled': {
      const live = appservers.filter((a) => !GONE.includes(a.state) && a.state !== 'failed').map((a) => a.id)
      if (live.length) return { kind: 'terminate', terminate: live, reason: `its deployment was ${d.status}` }
      return allTerminated && !d.finished ? { kind: 'finish' } : { kind: 'idle' }
    }
    case 'superseded':
      return allTerminated && !d.finished ? { kind: 'finish', status: 'terminated' } : { kind: 'idle' }
    case 'active':
      return appservers.some((a) => a.state !== 'active') ? { kind: 'republish' } : { kind: 'idle' }
    case 'terminated':
      return { kind: 'idle' }
  }
}

/**
 * Which replaced deployments keep running for rollback: the newest `keep` that still have appservers
 * (inactive or draining); older ones lose their inactive appservers (draining ones finish first). Deployments
 * whose appservers are all terminated are finished. `superseded` is newest first.
 */
export function planRetention(
  superseded: { id: string; appservers: { id: string; state: AppserverState }[] }[],
  keep: number,
): { terminate: Map<string, string[]>; finished: Set<string> } {
  const terminate = new Map<string, string[]>()
  const finished = new Set<string>()
  let kept = 0
  for (const d of superseded) {
    if (d.appservers.length && d.appservers.every((a) => a.state === 'terminated')) {
      finished.add(d.id)
      continue
    }
    const alive = d.appservers.some((a) => a.state === 'inactive' || a.state === 'draining')
    if (!alive) continue
    if (kept < keep) {
      kept++
      continue
    }
    const inactive = d.appservers.filter((a) => a.state === 'inactive').map((a) => a.id)
    if (inactive.length) terminate.set(d.id, inactive)
  }
  return { terminate, finished }
}
