import { DomainError, forbidden, notFound } from '@/lib/errors'
import type { Actor, UserActor } from './actor'

/**
 * Authorisation decisions, pure. Tenancy rule: something of another organization is reported as
 * "not found", never "forbidden", so a client cannot learn what exists elsewhere.
 */

export const isStaff = (actor: Actor): boolean => actor.kind === 'system' || actor.isStaff

export function requireUser(actor: Actor): UserActor {
  if (actor.kind !== 'user') throw new DomainError('unauthenticated', 'Sign in first')
  return actor
}

export function assertStaff(actor: Actor): void {
  if (!isStaff(actor)) throw forbidden('Only hosting staff can do this')
}

/** Organization ids the actor may read, or 'all' for staff and the system. */
export function readableOrganizations(actor: Actor): 'all' | string[] {
  if (isStaff(actor)) return 'all'
  return actor.kind === 'user' ? actor.memberships.map((m) => m.organizationId) : []
}

export function canReadOrganization(actor: Actor, organizationId: string): boolean {
  const readable = readableOrganizations(actor)
  return readable === 'all' || readable.includes(organizationId)
}

/** Throws not_found (not forbidden) when the actor may not read the organization. */
export function assertCanReadOrganization(actor: Actor, organizationId: string, what: string): void {
  if (!canReadOrganization(actor, organizationId)) throw notFound(what)
}

export function isOrganizationOwner(actor: Actor, organizationId: string): boolean {
  return actor.kind === 'user' && actor.memberships.some((m) => m.organizationId === organizationId && m.role === 'owner')
}

/** Staff, or an owner of the organization (who may read its audit log and manage its members). */
export function assertStaffOrOwner(actor: Actor, organizationId: string): void {
  if (!isStaff(actor) && !isOrganizationOwner(actor, organizationId)) {
    throw forbidden('Only hosting staff or an owner of this organization can do this')
  }
}
