'use client'

import { useRouter } from 'next/navigation'
import { useEffect, useRef, useState } from 'react'
import { cn } from './ui/cn'

const DEBOUNCE_MS = 300

/**
 * Keeps the page current: one EventSource per console tab; each `change` event the server lets this
 * user see re-reads the page's server components (debounced, so a burst of changes is one refresh).
 * After a reconnect the page is refreshed too, because events missed while disconnected are not replayed.
 */
export function LiveUpdates() {
  const router = useRouter()
  const [state, setState] = useState<'connecting' | 'live' | 'reconnecting'>('connecting')
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null)

  useEffect(() => {
    const source = new EventSource('/api/v1/events')
    let wasDown = false
    const refreshSoon = () => {
      if (timer.current) clearTimeout(timer.current)
      timer.current = setTimeout(() => router.refresh(), DEBOUNCE_MS)
    }
    source.addEventListener('ready', () => {
      setState('live')
      if (wasDown) refreshSoon()
      wasDown = false
    })
    source.addEventListener('change', refreshSoon)
    source.addEventListener('error', () => {
      wasDown = true
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
