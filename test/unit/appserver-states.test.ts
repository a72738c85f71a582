import { describe, expect, it } from 'vitest'
import {
  APPSERVER_STATES,
  APPSERVER_TRANSITIONS,
  assertAppserverTransition,
  canTransitionAppserver,
  IllegalTransitionError,
  LIVE_APPSERVER_STATES,
  WORKING_APPSERVER_STATES,
} from '@/lib/appservers/appserver-states'
import { AppserverState } from '@/lib/db/generated/enums'

/**
 * The lifecycle written out again, by hand: a change to the table in lib/ must be made here too, on purpose.
 * Every pair not listed is asserted to be refused.
 */
const EXPECTED: Record<AppserverState, AppserverState[]> = {
  new: ['provisioning', 'failed', 'terminating'],
  provisioning: ['configuring', 'failed', 'terminating'],
  configuring: ['starting', 'failed', 'terminating'],
  starting: ['healthy', 'failed', 'terminating'],
  healthy: ['active', 'failed', 'terminating'],
  active: ['draining', 'failed', 'terminating'],
  draining: ['inactive', 'starting', 'failed', 'terminating'],
  inactive: ['starting', 'failed', 'terminating'],
  failed: ['terminating'],
  terminating: ['terminated'],
  terminated: [],
}

const ALL = Object.values(AppserverState)
const PAIRS = ALL.flatMap((from) => ALL.map((to) => ({ from, to, allowed: EXPECTED[from].includes(to) })))

/** The IllegalTransitionError `fn` throws (fails the test if it throws nothing or something else). */
function illegal(fn: () => void): IllegalTransitionError {
  try {
    fn()
  } catch (err) {
    if (err instanceof IllegalTransitionError) return err
    throw err
  }
  throw new Error('expected an IllegalTransitionError, nothing was thrown')
}

function reachableFrom(start: AppserverState): Set<AppserverState> {
  const seen = new Set<AppserverState>([start])
  const queue = [start]
  for (let s = queue.shift(); s !== undefined; s = queue.shift()) {
    for (const next of APPSERVER_TRANSITIONS[s]) {
      if (!seen.has(next)) {
        seen.add(next)
        queue.push(next)
      }
    }
  }
  return seen
}

describe('the appserver transition table', () => {
  it('covers exactly the states of the database enum', () => {
    expect([...APPSERVER_STATES].sort()).toEqual([...ALL].sort())
    expect(Object.keys(EXPECTED).sort()).toEqual([...ALL].sort())
  })

  it('allows exactly the expected transitions and no other', () => {
    expect(PAIRS).toHaveLength(ALL.length * ALL.length)
    const allowed = PAIRS.filter((p) => canTransitionAppserver(p.from, p.to)).map((p) => `${p.from}→${p.to}`)
    const expected = PAIRS.filter((p) => p.allowed).map((p) => `${p.from}→${p.to}`)
    expect(allowed).toEqual(expected)
  })

  it.each(PAIRS.filter((p) => p.allowed))('$from → $to is allowed and asserting it does not throw', ({ from, to }) => {
    expect(canTransitionAppserver(from, to)).toBe(true)
    expect(() => assertAppserverTransition(from, to)).not.toThrow()
  })

  it.each(PAIRS.filter((p) => !p.allowed))('$from → $to is refused with an IllegalTransitionError', ({ from, to }) => {
    expect(canTransitionAppserver(from, to)).toBe(false)
    const err = illegal(() => assertAppserverTransition(from, to))
    expect(err).toMatchObject({ kind: 'appserver', from, to, name: 'IllegalTransitionError' })
    expect(err.message).toBe(`appserver cannot go from ${from} to ${to}`)
  })

  it('never stays in place (no state transitions to itself)', () => {
    for (const s of ALL) expect(canTransitionAppserver(s, s)).toBe(false)
  })

  it('terminated has no way out, and everything ends there', () => {
    expect(APPSERVER_TRANSITIONS.terminated).toEqual([])
    for (const s of ALL) expect(reachableFrom(s).has('terminated')).toBe(true)
  })

  it('every state is reachable from new', () => {
    expect([...reachableFrom('new')].sort()).toEqual([...ALL].sort())
  })

  it('failed leads only out (to terminating): a failed appserver is never revived', () => {
    expect(APPSERVER_TRANSITIONS.failed).toEqual(['terminating'])
    expect(reachableFrom('failed')).toEqual(new Set(['failed', 'terminating', 'terminated']))
  })

  it('every live state can be terminated, and only terminated is not live', () => {
    expect([...LIVE_APPSERVER_STATES].sort()).toEqual(ALL.filter((s) => s !== 'terminated').sort())
    for (const s of LIVE_APPSERVER_STATES.filter((x) => x !== 'terminating')) expect(canTransitionAppserver(s, 'terminating')).toBe(true)
  })

  it('the states a worker moves forward on its own are the ones with a timed next step', () => {
    expect([...WORKING_APPSERVER_STATES].sort()).toEqual(
      ['new', 'provisioning', 'configuring', 'starting', 'draining', 'failed', 'terminating'].sort(),
    )
    // healthy, active and inactive wait for a deployment decision; terminated for nothing.
    for (const s of ['healthy', 'active', 'inactive', 'terminated'] as const) expect(WORKING_APPSERVER_STATES).not.toContain(s)
  })
})
