'use client'

import { useEffect, useRef } from 'react'

/**
 * The events LiveUpdates receives, passed on inside the tab as a window event, so a component that needs
 * more than a page refresh (the appserver log) listens to the one EventSource instead of opening another.
 */
export const LIVE_EVENT = 'tenon:live-event'

/** What the server sends for each change (lib/events/types.ts): small on purpose; readers re-read what they show. */
export interface LiveEvent {
  id: string
  at: string
  action: string
  targetType: string
  targetId: string
  organizationId: string | null
}

/** Log lines: only components that show logs care, so they do not refresh the whole page. */
export const LOG_ACTIONS: readonly string[] = ['appserver.logged']

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

export function parseLiveEvent(data: unknown): LiveEvent | null {
  if (typeof data !== 'string') return null
  let parsed: unknown
  try {
    parsed = JSON.parse(data)
  } catch {
    return null
  }
  if (!isRecord(parsed)) return null
  const { id, at, action, targetType, targetId, organizationId } = parsed
  if (typeof id !== 'string' || typeof action !== 'string' || typeof targetType !== 'string' || typeof targetId !== 'string') return null
  return {
    id,
    at: typeof at === 'string' ? at : '',
    action,
    targetType,
    targetId,
    organizationId: typeof organizationId === 'string' ? organizationId : null,
  }
}

/**
 * Calls `listener` for every live event this tab receives; `null` means "reconnected: something may have been
 * missed", so the listener should catch up.
 */
export function useLiveEvents(listener: (event: LiveEvent | null) => void): void {
  const latest = useRef(listener)
  useEffect(() => {
    latest.current = listener
  })
  useEffect(() => {
    const onEvent = (e: Event) => {
      if (!(e instanceof CustomEvent)) return
      latest.current(parseLiveEvent(e.detail))
    }
    window.addEventListener(LIVE_EVENT, onEvent)
    return () => window.removeEventListener(LIVE_EVENT, onEvent)
  }, [])
}
