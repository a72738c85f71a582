import { describe, expect, it } from 'vitest'
import type { Actor } from '@/lib/auth/actor'
import { actorLabel, systemActor } from '@/lib/auth/actor'
import {
  assertCanReadOrganization,
  assertStaff,
  assertStaffOrOwner,
  canReadOrganization,
  isOrganizationOwner,
  isStaff,
  readableOrganizations,
  requireUser,
} from '@/lib/auth/policy'
import { DomainError } from '@/lib/errors'

const A = '00000000-0000-7000-8000-00000000000a'
const B = '00000000-0000-7000-8000-00000000000b'

const user = (name: string, extra: Partial<Extract<Actor, { kind: 'user' }>> = {}): Actor => ({
  kind: 'user',
  userId: `user-${name}`,
  email: `${name}@example.test`,
  name,
  isStaff: false,
  memberships: [],
  ...extra,
})

const actors = {
  staff: user('staff', { isStaff: true }),
  system: systemActor('scheduler'),
  memberA: user('member-a', { memberships: [{ organizationId: A, role: 'member' }] }),
  ownerA: user('owner-a', { memberships: [{ organizationId: A, role: 'owner' }] }),
  ownerBmemberA: user('mixed', {
    memberships: [
      { organizationId: A, role: 'member' },
      { organizationId: B, role: 'owner' },
    ],
  }),
  nobody: user('nobody'),
} satisfies Record<string, Actor>
type Who = keyof typeof actors

function codeOf(fn: () => void): string | null {
  try {
    fn()
    return null
  } catch (err) {
    if (err instanceof DomainError) return err.code
    throw err
  }
}

describe('authorisation matrix', () => {
  it.each<[Who, boolean, 'all' | string[], boolean, boolean, boolean, boolean]>([
    // who, isStaff, readable, read A, read B, owner A, owner B
    ['staff', true, 'all', true, true, false, false],
    ['system', true, 'all', true, true, false, false],
    ['memberA', false, [A], true, false, false, false],
    ['ownerA', false, [A], true, false, true, false],
    ['ownerBmemberA', false, [A, B], true, true, false, true],
    ['nobody', false, [], false, false, false, false],
  ])('%s', (who, staff, readable, readA, readB, ownerA, ownerB) => {
    const actor = actors[who]
    expect(isStaff(actor)).toBe(staff)
    expect(readableOrganizations(actor)).toEqual(readable)
    expect(canReadOrganization(actor, A)).toBe(readA)
    expect(canReadOrganization(actor, B)).toBe(readB)
    expect(isOrganizationOwner(actor, A)).toBe(ownerA)
    expect(isOrganizationOwner(actor, B)).toBe(ownerB)
  })

  it.each<[Who, string | null, string | null, string | null, string | null, string | null]>([
    // who, assertStaff, staffOrOwner A, staffOrOwner B, read A, read B
    ['staff', null, null, null, null, null],
    ['system', null, null, null, null, null],
    ['memberA', 'forbidden', 'forbidden', 'forbidden', null, 'not_found'],
    ['ownerA', 'forbidden', null, 'forbidden', null, 'not_found'],
    ['ownerBmemberA', 'forbidden', 'forbidden', null, null, null],
    ['nobody', 'forbidden', 'forbidden', 'forbidden', 'not_found', 'not_found'],
  ])('%s: assertions', (who, staffCode, ownerACode, ownerBCode, readACode, readBCode) => {
    const actor = actors[who]
    expect(codeOf(() => assertStaff(actor))).toBe(staffCode)
    expect(codeOf(() => assertStaffOrOwner(actor, A))).toBe(ownerACode)
    expect(codeOf(() => assertStaffOrOwner(actor, B))).toBe(ownerBCode)
    expect(codeOf(() => assertCanReadOrganization(actor, A, 'Organization'))).toBe(readACode)
    expect(codeOf(() => assertCanReadOrganization(actor, B, 'Organization'))).toBe(readBCode)
  })

  it('reports another organization as not found, naming what was asked for', () => {
    let caught: unknown
    try {
      assertCanReadOrganization(actors.memberA, B, 'Instance')
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(DomainError)
    expect((caught as DomainError).message).toBe('Instance not found')
  })

  it('requireUser accepts users and refuses the system actor as unauthenticated', () => {
    expect(requireUser(actors.memberA)).toBe(actors.memberA)
    expect(codeOf(() => requireUser(actors.system))).toBe('unauthenticated')
  })

  it('labels actors for the audit log', () => {
    expect(actorLabel(actors.ownerA)).toBe('owner-a@example.test')
    expect(actorLabel(actors.system)).toBe('system:scheduler')
  })
})
