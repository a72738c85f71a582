'use client'

import { useRouter } from 'next/navigation'
import { useEffect } from 'react'

/**
 * Re-reads the page's server components every few seconds. Agent reports land in Consul, not in the audit log, so the
 * live event stream never mentions them. Skipped while the tab is hidden; a tab coming back refreshes at once.
 */
export function AutoRefresh({ seconds }: { seconds: number }) {
  const router = useRouter()

  useEffect(() => {
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') router.refresh()
    }, seconds * 1000)
    const onVisible = () => {
      if (document.visibilityState === 'visible') router.refresh()
    }
    document.addEventListener('visibilitychange', onVisible)
    return () => {
      clearInterval(timer)
      document.removeEventListener('visibilitychange', onVisible)
    }
  }, [router, seconds])

  return <span className="text-xs text-neutral-500">Updated every {seconds} s</span>
}
