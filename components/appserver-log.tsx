'use client'

import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react'
import { api } from './api-client'
import { ZAppserverLogPage, type TAppserverLogLine } from './api-schemas'
import { useLiveEvents } from './live-events'
import { Alert } from './ui/alert'
import { cn } from './ui/cn'

const PAGE = 500
/** Lines kept in the page; older ones drop off the top (the API still has them). */
const MAX_LINES = 5000
/** How close to the bottom (px) still counts as "following" the log. */
const FOLLOW_SLACK = 32

const KIND_CLASS: Record<TAppserverLogLine['kind'], string> = {
  transition: 'font-semibold text-sky-300',
  info: 'text-neutral-200',
  error: 'text-red-300',
}

function text(line: TAppserverLogLine): string {
  if (line.kind !== 'transition') return line.message
  const move = line.fromState ? `${line.fromState} → ${line.toState}` : `→ ${line.toState}`
  return line.message ? `${move}: ${line.message}` : move
}

/**
 * An appserver's log, live: the lines so far, then, on every live event about this appserver, the lines after
 * the last one shown. It follows the end like `tail -f` while scrolled to the bottom, and stays put when the
 * reader scrolls up. Clients receive state changes only (the API filters).
 */
export function AppserverLog({ appserverId, staff }: { appserverId: string; staff: boolean }) {
  const [lines, setLines] = useState<TAppserverLogLine[]>([])
  const [loaded, setLoaded] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const last = useRef<string | null>(null)
  const fetching = useRef(false)
  const again = useRef(false)
  const box = useRef<HTMLDivElement>(null)
  const following = useRef(true)

  const fetchNew = useCallback(async () => {
    // One fetch at a time; events that arrive meanwhile ask for one more round instead of racing it.
    if (fetching.current) {
      again.current = true
      return
    }
    fetching.current = true
    try {
      do {
        again.current = false
        for (;;) {
          const query = new URLSearchParams({ limit: String(PAGE) })
          if (last.current) query.set('after', last.current)
          const result = await api('GET', `/api/v1/appservers/${appserverId}/log?${query}`, undefined, ZAppserverLogPage)
          if (!result.ok) {
            setError(result.error.message)
            return
          }
          setError(null)
          const { items } = result.data
          if (items.length) setLines((prev) => [...prev, ...items].slice(-MAX_LINES))
          last.current = result.data.last ?? last.current
          if (items.length < PAGE) break
        }
      } while (again.current)
    } finally {
      fetching.current = false
      setLoaded(true)
    }
  }, [appserverId])

  useEffect(() => {
    void fetchNew()
  }, [fetchNew])

  useLiveEvents((event) => {
    // null: the stream reconnected and may have missed something.
    if (event === null || (event.targetType === 'appserver' && event.targetId === appserverId)) void fetchNew()
  })

  useLayoutEffect(() => {
    const el = box.current
    if (el && following.current) el.scrollTop = el.scrollHeight
  }, [lines])

  return (
    <div className="space-y-2">
      {error ? <Alert variant="error">The log could not be loaded: {error}</Alert> : null}
      <div
        ref={box}
        role="log"
        aria-label="Appserver log"
        tabIndex={0}
        data-testid="appserver-log"
        onScroll={(e) => {
          const el = e.currentTarget
          following.current = el.scrollHeight - el.scrollTop - el.clientHeight < FOLLOW_SLACK
        }}
        className="h-96 overflow-auto rounded-md border border-neutral-800 bg-neutral-950 p-3 font-mono text-xs leading-relaxed focus-visible:outline-2 focus-visible:outline-blue-600"
      >
        {lines.length === 0 ? (
          <p className="text-neutral-400">{loaded ? 'No log lines yet.' : 'Loading the log…'}</p>
        ) : (
          lines.map((line) => (
            <div key={line.id} className="flex gap-3" data-kind={line.kind}>
              <time dateTime={line.at} className="shrink-0 text-neutral-500 tabular-nums" title={line.at}>
                {line.at.slice(11, 19)}
              </time>
              <span className={cn('min-w-0 break-words whitespace-pre-wrap', KIND_CLASS[line.kind])}>{text(line)}</span>
            </div>
          ))
        )}
      </div>
      <p className="text-xs text-neutral-500">
        Times in UTC. {staff ? 'Provisioning output and state changes.' : 'State changes only; provisioning output is for hosting staff.'}
      </p>
    </div>
  )
}
