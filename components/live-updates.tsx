'use client'

import { useRouter } from 'next/navigation'
import { useEffect, useRef, useState } from 'react'
import { LIVE_EVENT, LOG_ACTIONS, parseLiveEvent } from './live-events'
import { cn } from './ui/cn'

const DEBOUNCE_MS = 300

/**
 * Keeps the page current: one EventSource per console tab; each `change` event the server lets this
 * user see re-reads the page's server components (debounced, so a burst of changes is one refresh).
 * Each time the stream opens (first connect and reconnects) the page is refreshed too, because events missed
 * before it was open are not replayed.
 * Every event is also passed on to the tab's components (live-events.ts); log lines only go there, since no
 * server-rendered part of a page shows them and a busy deployment writes many.
 */
export function LiveUpdates() {
  const router = useRouter()
  const [state, setState] = useState<'connecting' | 'live' | 'reconnecting'>('connecting')
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null)

  useEffect(() => {
    const source = new EventSource('/api/v1/events')
    const refreshSoon = () => {
      if (timer.current) clearTimeout(timer.current)
      timer.current = setTimeout(() => router.refresh(), DEBOUNCE_MS)
    }
    const pass = (detail: string | null) => window.dispatchEvent(new CustomEvent(LIVE_EVENT, { detail }))
    source.addEventListener('ready', () => {
      setState('live')
      // Also on the first connection: a change committed between the server render and the stream opening
      // (a resource becoming ready a moment after the page was built) is not replayed, so read the page once more.
      refreshSoon()
      pass(null)
    })
    source.addEventListener('change', (e) => {
      const data = typeof e.data === 'string' ? e.data : null
      pass(data)
      const event = parseLiveEvent(data)
      if (!event || !LOG_ACTIONS.includes(event.action)) refreshSoon()
    })
    source.addEventListener('error', () => {
      setState('reconnecting')
    })
    return () => {
      source.close()
      if (timer.current) clearTimeout(timer.current)
    }
  }, [router])

  return (
    <span
      className="inline-flex items-center gap-1.5 text-xs text-neutral-300"
      role="status"
      aria-live="polite"
      data-live-state={state}
      title={state === 'live' ? 'This page updates itself when something changes' : 'Trying to reconnect to live updates'}
    >
      <span
        aria-hidden
        className={cn(
          'size-2 rounded-full',
          state === 'live' ? 'bg-emerald-400' : state === 'reconnecting' ? 'bg-amber-400' : 'bg-neutral-500',
        )}
      />
      {state === 'live' ? 'Live' : state === 'reconnecting' ? 'Reconnecting…' : 'Connecting…'}
    </span>
  )
}
