'use client'

import { useRouter } from 'next/navigation'
import { useEffect, useState } from 'react'

/** How long after the due time the job has likely run (the queue polls every couple of seconds). */
const SETTLE_MS = 3000
/** Refreshes per due time: a job picked up late still shows, and a job that never runs costs four reads. */
const ROUNDS = 4
/** Due times further away are left to the next visit. */
const MAX_WAIT_MS = 3_600_000
/** Due times this far past belong to a job that is late or gone (the reconciler re-sends it); refreshing will not help. */
const STALE_MS = 60_000

/**
 * Reads the page again just after `at`, when a scheduled job (a custom domain's next check, a certificate's next
 * attempt) should have run. Those jobs write no audit event when they find nothing new, so the live updates alone
 * would not show "last checked" moving on. Render it with `key={at}`: a new due time starts over.
 */
export function RefreshAt({ at }: { at: string }) {
  const router = useRouter()
  const [round, setRound] = useState(0)

  useEffect(() => {
    const wait = Date.parse(at) + SETTLE_MS * (round + 1) - Date.now()
    if (round >= ROUNDS || wait > MAX_WAIT_MS || wait < -STALE_MS) return
    const timer = setTimeout(
      () => {
        router.refresh()
        setRound((r) => r + 1)
      },
      Math.max(wait, 0),
    )
    return () => clearTimeout(timer)
  }, [at, round, router])

  return null
}
