import { randomBytes, randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { planDrift, uuidv7Time, type DriftRecord } from '@/lib/appservers/plan-drift'
import { AppserverState } from '@/lib/db/generated/enums'
import type { OwnedVm, VmPhase } from '@/provisioners/types'

const NOW = new Date('2026-11-25T12:00:00.000Z')
const GRACE = 10 * 60_000
const VANISH = 5_000

/** A UUIDv7 whose timestamp is `ms` (RFC 9562: 48-bit Unix ms, version 7, variant 10). */
function uuidv7(ms: number): string {
  const rand = randomBytes(10).toString('hex')
  const variant = ((parseInt(rand[3]!, 16) & 0x3) | 0x8).toString(16)
  const hex = ms.toString(16).padStart(12, '0') + '7' + rand.slice(0, 3) + variant + rand.slice(4, 19)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`
}

const bornAgo = (ms: number) => uuidv7(NOW.getTime() - ms)
const vm = (appserverId: string, phase: VmPhase = 'running'): OwnedVm => ({ appserverId, externalId: `ext-${appserverId}`, phase })
const record = (id: string, state: AppserverState, extra: Partial<DriftRecord> = {}): DriftRecord => ({
  id,
  state,
  provisioned: true,
  vanishedAt: null,
  ...extra,
})
const plan = (vms: OwnedVm[], records: DriftRecord[], now = NOW) =>
  planDrift({ vms, records, now, orphanGraceMs: GRACE, vanishGraceMs: VANISH })

describe('uuidv7Time', () => {
  it('reads the creation time of a UUIDv7', () => {
    expect(uuidv7Time(uuidv7(NOW.getTime()))).toBe(NOW.getTime())
    expect(uuidv7Time(uuidv7(0))).toBe(0)
    expect(uuidv7Time('0192f0a4-1c2b-7d3e-8f40-123456789abc')).toBe(0x0192f0a41c2b)
  })

  it('is undefined for other UUIDs and for strings that are not UUIDs', () => {
    expect(uuidv7Time(randomUUID())).toBeUndefined()
    expect(uuidv7Time('not-a-uuid')).toBeUndefined()
    expect(uuidv7Time('')).toBeUndefined()
  })
})

describe('planDrift: VMs without a live record', () => {
  it('keeps an unknown VM younger than the grace period (its record may not be committed yet)', () => {
    const young = bornAgo(GRACE - 1)
    expect(plan([vm(young)], []).destroy).toEqual([])
  })

  it('destroys an unknown VM once it is as old as the grace period', () => {
    const old = bornAgo(GRACE)
    const older = bornAgo(GRACE * 10)
    expect(plan([vm(old), vm(older)], []).destroy).toEqual([vm(old), vm(older)])
  })

  it('with no grace period every unknown VM is an orphan at once', () => {
    const id = bornAgo(0)
    expect(planDrift({ vms: [vm(id)], records: [], now: NOW, orphanGraceMs: 0, vanishGraceMs: VANISH }).destroy).toEqual([vm(id)])
  })

  it('destroys an unknown VM whose id tells no age (not a UUIDv7) at once', () => {
    const id = randomUUID()
    expect(plan([vm(id)], []).destroy).toEqual([vm(id)])
  })

  it("destroys the VM of a terminated appserver, whatever the VM's phase, and not one already gone", () => {
    const [a, b, c] = [bornAgo(0), bornAgo(0), bornAgo(0)]
    const records = [record(a, 'terminated'), record(b, 'terminated'), record(c, 'terminated')]
    expect(plan([vm(a, 'running'), vm(b, 'failed'), vm(c, 'gone')], records).destroy).toEqual([vm(a, 'running'), vm(b, 'failed')])
  })

  it('ignores VMs that are gone already, known or not', () => {
    expect(plan([vm(bornAgo(GRACE * 2), 'gone'), vm(randomUUID(), 'gone')], []).destroy).toEqual([])
  })

  it.each(Object.values(AppserverState).filter((s) => s !== 'terminated'))('keeps the VM of a %s appserver, however old', (state) => {
    const id = bornAgo(GRACE * 100)
    expect(plan([vm(id)], [record(id, state)]).destroy).toEqual([])
  })
})

describe('planDrift: records whose VM is missing', () => {
  const MUST_EXIST = ['configuring', 'starting', 'healthy', 'active', 'draining', 'inactive'] as const

  it.each(MUST_EXIST)('a %s appserver missing from the list is noted once, not failed at once', (state) => {
    const id = bornAgo(0)
    expect(plan([], [record(id, state)])).toEqual({ destroy: [], missingOnce: [id], vanished: [], seenAgain: [] })
  })

  it.each(MUST_EXIST)('a %s appserver still missing after the vanish grace is vanished', (state) => {
    const id = bornAgo(0)
    const noted = new Date(NOW.getTime() - VANISH)
    expect(plan([], [record(id, state, { vanishedAt: noted })])).toEqual({ destroy: [], missingOnce: [], vanished: [id], seenAgain: [] })
  })

  it('two passes: missing, then vanished once the grace period has passed (and not before)', () => {
    const id = bornAgo(0)
    const first = plan([], [record(id, 'active')])
    expect(first.missingOnce).toEqual([id])
    // the reconciler stores vanishedAt = now; the next pass comes too soon, then late enough
    const soon = plan([], [record(id, 'active', { vanishedAt: NOW })], new Date(NOW.getTime() + VANISH - 1))
    expect(soon).toEqual({ destroy: [], missingOnce: [], vanished: [], seenAgain: [] })
    const later = plan([], [record(id, 'active', { vanishedAt: NOW })], new Date(NOW.getTime() + VANISH))
    expect(later.vanished).toEqual([id])
  })

  it('a VM that turns up again clears the note (seenAgain), and is neither missing nor vanished', () => {
    const id = bornAgo(0)
    const noted = new Date(NOW.getTime() - VANISH * 10)
    expect(plan([vm(id, 'pending')], [record(id, 'starting', { vanishedAt: noted })])).toEqual({
      destroy: [],
      missingOnce: [],
      vanished: [],
      seenAgain: [id],
    })
    // listed and never noted: nothing to say
    expect(plan([vm(id)], [record(id, 'active')])).toEqual({ destroy: [], missingOnce: [], vanished: [], seenAgain: [] })
  })

  it.each(['gone', 'failed'] as const)('a VM listed as %s counts as missing (appservers are replaced, not repaired)', (phase) => {
    const id = bornAgo(0)
    expect(plan([vm(id, phase)], [record(id, 'active')]).missingOnce).toEqual([id])
    expect(plan([vm(id, phase)], [record(id, 'active', { vanishedAt: new Date(NOW.getTime() - VANISH) })]).vanished).toEqual([id])
    // a failed VM is not destroyed here while its record is live: the appserver's own steps remove it
    expect(plan([vm(id, phase)], [record(id, 'active')]).destroy).toEqual([])
  })

  it.each(['running', 'pending'] as const)('a VM listed as %s is there', (phase) => {
    const id = bornAgo(0)
    expect(plan([vm(id, phase)], [record(id, 'starting')]).missingOnce).toEqual([])
  })

  it.each(['new', 'provisioning', 'failed', 'terminating', 'terminated'] as const)(
    'a %s appserver may have no VM: never noted missing',
    (state) => {
      const id = bornAgo(0)
      expect(plan([], [record(id, state), record(bornAgo(0), state, { vanishedAt: new Date(0) })])).toEqual({
        destroy: [],
        missingOnce: [],
        vanished: [],
        seenAgain: [],
      })
    },
  )

  it('an appserver whose VM was never created (no external id) is not missing', () => {
    const id = bornAgo(0)
    expect(plan([], [record(id, 'starting', { provisioned: false })]).missingOnce).toEqual([])
  })

  it('sorts a mixed fleet', () => {
    const [ok, missing, gone, young, dead] = [bornAgo(0), bornAgo(0), bornAgo(0), bornAgo(0), bornAgo(0)]
    const orphan = bornAgo(GRACE * 2)
    const vms = [vm(ok), vm(orphan), vm(young), vm(dead)]
    const records = [
      record(ok, 'active'),
      record(missing, 'inactive'),
      record(gone, 'healthy', { vanishedAt: new Date(NOW.getTime() - VANISH * 2) }),
      record(dead, 'terminated'),
    ]
    expect(plan(vms, records)).toEqual({ destroy: [vm(orphan), vm(dead)], missingOnce: [missing], vanished: [gone], seenAgain: [] })
  })
})
