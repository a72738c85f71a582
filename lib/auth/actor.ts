import type { MemberRole } from '@/lib/db/generated/enums'

/**
 * Who is asking. Every lib/ function that reads or changes tenant data takes an Actor and decides
 * with lib/auth/policy.ts what it may see and do. `system` is the scheduler's own jobs inside the worker.
 */
export type Actor =
  | {
      kind: 'user'
      userId: string
      email: string
      name: string
      isStaff: boolean
      memberships: { organizationId: string; role: MemberRole }[]
      /** set when the request carried an API token rather than a console session */
      apiTokenId?: string
    }
  | { kind: 'system'; label: string }

export type UserActor = Extract<Actor, { kind: 'user' }>

export const systemActor = (label: string): Actor => ({ kind: 'system', label })

export function actorLabel(actor: Actor): string {
  return actor.kind === 'user' ? actor.email : `system:${actor.label}`
}
