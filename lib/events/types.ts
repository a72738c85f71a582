/**
 * A change worth telling open consoles about. Small on purpose (PostgreSQL NOTIFY payloads are limited
 * to 8000 bytes): subscribers re-read what they show. `organizationId` decides who may receive it;
 * null means staff only.
 */
export interface TenonEvent {
  id: string
  at: string
  action: string
  targetType: string
  targetId: string
  organizationId: string | null
}

export const EVENTS_CHANNEL = 'tenon_events'
