'use client'

import { Pause, Play } from 'lucide-react'
import { useRouter } from 'next/navigation'
import { useState } from 'react'
import { api } from './api-client'
import { ConfirmPost } from './confirm-post'
import { Alert } from './ui/alert'
import { Button } from './ui/button'

/** Pause or resume a rollout at once; cancelling asks first (pending instances are dropped for good). */
export function RolloutControls({ id, status }: { id: string; status: 'running' | 'paused' | 'cancelled' | 'completed' }) {
  const router = useRouter()
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const path = `/api/v1/rollouts/${id}/actions`

  const act = async (action: 'pause' | 'resume') => {
    setBusy(true)
    setError(null)
    const result = await api('POST', path, { action })
    setBusy(false)
    if (!result.ok) return setError(result.error.message)
    router.refresh()
  }

  if (status !== 'running' && status !== 'paused') return null
  return (
    <div className="flex flex-col items-end gap-2">
      <div className="flex flex-wrap items-center gap-2">
        {status === 'running' ? (
          <Button variant="secondary" onClick={() => act('pause')} disabled={busy}>
            <Pause aria-hidden /> Pause
          </Button>
        ) : (
          <Button onClick={() => act('resume')} disabled={busy}>
            <Play aria-hidden /> Resume
          </Button>
        )}
        <ConfirmPost
          trigger="Cancel rollout"
          triggerVariant="secondary"
          title="Cancel this rollout?"
          description="Instances not started yet are dropped from it. Deployments already in progress finish on their own."
          confirmLabel="Cancel rollout"
          cancelLabel="Keep going"
          destructive
          path={path}
          body={{ action: 'cancel' }}
        />
      </div>
      {error ? (
        <Alert variant="error" className="py-1.5">
          {error}
        </Alert>
      ) : null}
    </div>
  )
}
