import { describe, expect, it } from 'vitest'
import type { Actor } from '@/lib/auth/actor'
import { systemActor } from '@/lib/auth/actor'
import { mayReceive } from '@/lib/events/hub'
import type { TenonEvent } from '@/lib/events/types'

const A = '00000000-0000-7000-8000-00000000000a'
const B = '00000000-0000-7000-8000-00000000000b'

const user = (isStaff: boolean, memberships: { organizationId: string; role: 'owner' | 'member' }[]): Actor => ({
  kind: 'user',
  userId: 'u',
  email: 'u@example.test',
  name: 'u',
  isStaff,
  memberships,
})

const event = (organizationId: string | null): TenonEvent => ({
  id: 'e',
  at: '2026-11-26T00:00:00.000Z',
  action: 'instance.updated',
  targetType: 'instance',
  targetId: 't',
  organizationId,
})

describe('mayReceive', () => {
  it.each<[string, Actor, boolean, boolean, boolean]>([
    // subscriber, org A event, org B event, event without organization
    ['staff', user(true, []), true, true, true],
    ['the system', systemActor('x'), true, true, true],
    ['a member of A', user(false, [{ organizationId: A, role: 'member' }]), true, false, false],
    ['an owner of A', user(false, [{ organizationId: A, role: 'owner' }]), true, false, false],
    [
      'a member of A and B',
      user(false, [
        { organizationId: A, role: 'member' },
        { organizationId: B, role: 'member' },
      ]),
      true,
      true,
      false,
    ],
    ['a user of no organization', user(false, []), false, false, false],
  ])('%s', (_who, actor, a, b, none) => {
    expect(mayReceive(actor, event(A))).toBe(a)
    expect(mayReceive(actor, event(B))).toBe(b)
    expect(mayReceive(actor, event(null))).toBe(none)
  })
})
