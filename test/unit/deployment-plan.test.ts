import { describe, expect, it } from 'vitest'
import { IllegalTransitionError } from '@/lib/appservers/appserver-states'
import { AppserverState, DeploymentStatus } from '@/lib/db/generated/enums'
import {
  assertDeploymentTransition,
  canTransitionDeployment,
  DEPLOYMENT_STATUSES,
  DEPLOYMENT_TRANSITIONS,
  IN_PROGRESS_STATUSES,
} from '@/lib/deployments/deployment-states'
import { planDeployment, planRetention, type PlanAppserver } from '@/lib/deployments/plan-deployment'

// ---------------------------------------------------------------------------------------------
// The deployment transition table, written out again by hand (a change in lib/ must change this too).

const EXPECTED: Record<DeploymentStatus, DeploymentStatus[]> = {
  building: ['activating', 'failed', 'cancelled'],
  activating: ['active', 'failed'],
  active: ['superseded', 'terminated'],
  superseded: ['building', 'terminated'],
  failed: [],
  cancelled: [],
  terminated: [],
}

const STATUSES = Object.values(DeploymentStatus)
const PAIRS = STATUSES.flatMap((from) => STATUSES.map((to) => ({ from, to, allowed: EXPECTED[from].includes(to) })))

function illegal(fn: () => void): IllegalTransitionError {
  try {
    fn()
  } catch (err) {
    if (err instanceof IllegalTransitionError) return err
    throw err
  }
  throw new Error('expected an IllegalTransitionError, nothing was thrown')
}

function reachableFrom(start: DeploymentStatus): Set<DeploymentStatus> {
  const seen = new Set<DeploymentStatus>([start])
  const queue = [start]
  for (let s = queue.shift(); s !== undefined; s = queue.shift()) {
    for (const next of DEPLOYMENT_TRANSITIONS[s]) {
      if (!seen.has(next)) {
        seen.add(next)
        queue.push(next)
      }
    }
  }
  return seen
}

describe('the deployment transition table', () => {
  it('covers exactly the statuses of the database enum', () => {
    expect([...DEPLOYMENT_STATUSES].sort()).toEqual([...STATUSES].sort())
    expect(Object.keys(EXPECTED).sort()).toEqual([...STATUSES].sort())
  })

  it('allows exactly the expected transitions and no other', () => {
    const allowed = PAIRS.filter((p) => canTransitionDeployment(p.from, p.to)).map((p) => `${p.from}→${p.to}`)
    expect(allowed).toEqual(PAIRS.filter((p) => p.allowed).map((p) => `${p.from}→${p.to}`))
  })

  it.each(PAIRS.filter((p) => p.allowed))('$from → $to is allowed', ({ from, to }) => {
    expect(() => assertDeploymentTransition(from, to)).not.toThrow()
  })

  it.each(PAIRS.filter((p) => !p.allowed))('$from → $to is refused', ({ from, to }) => {
    expect(canTransitionDeployment(from, to)).toBe(false)
    const err = illegal(() => assertDeploymentTransition(from, to))
    expect(err).toMatchObject({ kind: 'deployment', from, to })
    expect(err.message).toBe(`deployment cannot go from ${from} to ${to}`)
  })

  it('failed, cancelled and terminated are final', () => {
    for (const s of ['failed', 'cancelled', 'terminated'] as const) expect(DEPLOYMENT_TRANSITIONS[s]).toEqual([])
  })

  it('every status is reachable from building', () => {
    expect([...reachableFrom('building')].sort()).toEqual([...STATUSES].sort())
  })

  it('building and activating are "in progress" (the database allows one per instance)', () => {
    expect([...IN_PROGRESS_STATUSES].sort()).toEqual(['activating', 'building'])
  })
})

// ---------------------------------------------------------------------------------------------
// planDeployment

let n = 0
function appserver(state: AppserverState, extra: Partial<PlanAppserver> = {}): PlanAppserver {
  n++
  return { id: `a${n}`, index: n, state, error: null, failedPhase: null, ...extra }
}

const plan = (status: DeploymentStatus, appservers: PlanAppserver[], finished = false) => planDeployment({ status, finished, appservers })

describe('planDeployment: building', () => {
  it('waits while appservers are on their way', () => {
    const cases: AppserverState[][] = [['new'], ['provisioning', 'healthy'], ['configuring', 'starting', 'healthy']]
    for (const states of cases) {
      expect(
        plan(
          'building',
          states.map((s) => appserver(s)),
        ),
      ).toEqual({ kind: 'idle' })
    }
  })

  it('activates only when every appserver is healthy', () => {
    expect(plan('building', [appserver('healthy')])).toEqual({ kind: 'activate' })
    expect(plan('building', [appserver('healthy'), appserver('healthy'), appserver('healthy')])).toEqual({ kind: 'activate' })
    expect(plan('building', [appserver('healthy'), appserver('starting')])).toEqual({ kind: 'idle' })
  })

  it('a deployment without appservers never activates', () => {
    expect(plan('building', [])).toEqual({ kind: 'idle' })
  })

  it('fails when one appserver failed, naming it, its phase and its error, and terminates the others still alive', () => {
    const ok = appserver('healthy')
    const bad = appserver('failed', { index: 2, failedPhase: 'starting', error: 'health check failed: HTTP 503' })
    const booting = appserver('provisioning')
    const going = appserver('terminating')
    const gone = appserver('terminated')
    expect(plan('building', [ok, bad, booting, going, gone])).toEqual({
      kind: 'fail',
      error: 'appserver 2 failed while starting: health check failed: HTTP 503',
      terminate: [ok.id, booting.id],
    })
  })

  it('also fails for an appserver that failed and is already on its way out (failedPhase is kept)', () => {
    const bad = appserver('terminating', { index: 3, failedPhase: 'provisioning', error: 'quota exceeded' })
    const other = appserver('starting')
    expect(plan('building', [other, bad])).toEqual({
      kind: 'fail',
      error: 'appserver 3 failed while provisioning: quota exceeded',
      terminate: [other.id],
    })
  })

  it('says "no detail" when the failure has none, and falls back to the state for the phase', () => {
    const bad = appserver('failed', { index: 1 })
    expect(plan('building', [bad])).toEqual({ kind: 'fail', error: 'appserver 1 failed while failed: no detail', terminate: [] })
  })
})

describe('planDeployment: the other statuses', () => {
  it('activating publishes (again, after a crash) whatever its appservers say', () => {
    expect(plan('activating', [appserver('healthy')])).toEqual({ kind: 'publish' })
    expect(plan('activating', [appserver('active'), appserver('healthy')])).toEqual({ kind: 'publish' })
  })

  it('a terminated deployment has nothing to do', () => {
    expect(plan('terminated', [appserver('terminated')])).toEqual({ kind: 'idle' })
  })

  it('an active deployment whose appservers are all active has nothing to do', () => {
    expect(plan('active', [appserver('active')])).toEqual({ kind: 'idle' })
    expect(plan('active', [appserver('active'), appserver('active')])).toEqual({ kind: 'idle' })
  })

  it('an active deployment that lost an appserver (its VM vanished) publishes its routing again', () => {
    for (const s of ['failed', 'terminating', 'terminated'] as const) {
      expect(plan('active', [appserver('active'), appserver(s)])).toEqual({ kind: 'republish' })
    }
  })

  it.each(['failed', 'cancelled'] as const)(
    'a %s deployment terminates its live appservers (failed ones step out themselves)',
    (status) => {
      const live = [appserver('new'), appserver('provisioning'), appserver('starting'), appserver('healthy')]
      const failed = appserver('failed')
      const going = appserver('terminating')
      expect(plan(status, [...live, failed, going])).toEqual({
        kind: 'terminate',
        terminate: live.map((a) => a.id),
        reason: `its deployment was ${status}`,
      })
    },
  )

  it.each(['failed', 'cancelled'] as const)('a %s deployment finishes once every appserver is terminated, once', (status) => {
    expect(plan(status, [appserver('terminated'), appserver('terminated')])).toEqual({ kind: 'finish' })
    expect(plan(status, [appserver('terminated')], true)).toEqual({ kind: 'idle' })
    // still going: wait for the appservers' own steps
    expect(plan(status, [appserver('terminated'), appserver('terminating')])).toEqual({ kind: 'idle' })
    expect(plan(status, [appserver('failed')])).toEqual({ kind: 'idle' })
  })

  it('a superseded deployment is terminated once all its appservers are, and waits before', () => {
    expect(plan('superseded', [appserver('terminated'), appserver('terminated')])).toEqual({ kind: 'finish', status: 'terminated' })
    expect(plan('superseded', [appserver('terminated')], true)).toEqual({ kind: 'idle' })
    for (const s of ['draining', 'inactive', 'terminating'] as const) {
      expect(plan('superseded', [appserver('terminated'), appserver(s)])).toEqual({ kind: 'idle' })
    }
  })
})

// ---------------------------------------------------------------------------------------------
// planRetention

function superseded(id: string, states: AppserverState[]) {
  return { id, appservers: states.map((state, i) => ({ id: `${id}-${i + 1}`, state })) }
}

describe('planRetention', () => {
  // newest first
  const history = () => [
    superseded('d5', ['inactive', 'inactive']),
    superseded('d4', ['inactive']),
    superseded('d3', ['inactive', 'draining']),
    superseded('d2', ['terminated', 'terminated']),
    superseded('d1', ['inactive']),
  ]

  it('keep 0: every replaced deployment loses its inactive appservers; draining ones finish draining first', () => {
    const { terminate, finished } = planRetention(history(), 0)
    expect(Object.fromEntries(terminate)).toEqual({
      d5: ['d5-1', 'd5-2'],
      d4: ['d4-1'],
      d3: ['d3-1'],
      d1: ['d1-1'],
    })
    expect([...finished]).toEqual(['d2'])
  })

  it('keep 1: the newest one with appservers stays, older ones go', () => {
    const { terminate, finished } = planRetention(history(), 1)
    expect(Object.fromEntries(terminate)).toEqual({ d4: ['d4-1'], d3: ['d3-1'], d1: ['d1-1'] })
    expect([...finished]).toEqual(['d2'])
  })

  it('keep 2: the two newest stay; a fully terminated deployment does not count as kept', () => {
    const { terminate, finished } = planRetention(history(), 2)
    expect(Object.fromEntries(terminate)).toEqual({ d3: ['d3-1'], d1: ['d1-1'] })
    expect([...finished]).toEqual(['d2'])
    const onlyOld = planRetention([superseded('d2', ['terminated']), superseded('d1', ['inactive'])], 1)
    expect(onlyOld.terminate.size).toBe(0)
    expect([...onlyOld.finished]).toEqual(['d2'])
  })

  it('a draining deployment counts as kept, and is never cut short', () => {
    const { terminate } = planRetention([superseded('d3', ['draining']), superseded('d2', ['draining']), superseded('d1', ['inactive'])], 1)
    // d3 is kept; d2 is over the limit but only draining: nothing to terminate until it is inactive.
    expect(Object.fromEntries(terminate)).toEqual({ d1: ['d1-1'] })
    const later = planRetention([superseded('d3', ['inactive']), superseded('d2', ['inactive']), superseded('d1', ['terminated'])], 1)
    expect(Object.fromEntries(later.terminate)).toEqual({ d2: ['d2-1'] })
    expect([...later.finished]).toEqual(['d1'])
  })

  it('a deployment whose appservers are on their way out neither counts nor is touched', () => {
    const { terminate, finished } = planRetention(
      [superseded('d3', ['terminating', 'terminated']), superseded('d2', ['inactive']), superseded('d1', ['inactive'])],
      1,
    )
    expect(Object.fromEntries(terminate)).toEqual({ d1: ['d1-1'] })
    expect(finished.size).toBe(0)
  })

  it('nothing replaced, nothing to do', () => {
    const { terminate, finished } = planRetention([], 2)
    expect(terminate.size).toBe(0)
    expect(finished.size).toBe(0)
  })
})
