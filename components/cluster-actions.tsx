'use client'

import { PlugZap } from 'lucide-react'
import { useRouter } from 'next/navigation'
import { useState } from 'react'
import { z } from 'zod'
import { api } from './api-client'
import { Button } from './ui/button'

/** POST /api/v1/clusters/{id}/test */
const ZClusterTestResult = z.object({ ok: z.boolean(), error: z.string().nullable(), testedAt: z.string() })

type Outcome = { ok: true } | { ok: false; message: string }

function OutcomeText({ outcome, okText, testId }: { outcome: Outcome | null; okText: string; testId: string }) {
  if (!outcome) return null
  return (
    <p
      role={outcome.ok ? 'status' : 'alert'}
      data-testid={testId}
      data-ok={outcome.ok}
      className={outcome.ok ? 'text-xs text-emerald-800' : 'max-w-xs text-xs break-words text-red-700'}
    >
      {outcome.ok ? okText : outcome.message}
    </p>
  )
}

/** Tests a stored cluster's administrator connection; the result is kept on the cluster, and said here at once. */
export function TestClusterButton({ id, name }: { id: string; name: string }) {
  const router = useRouter()
  const [busy, setBusy] = useState(false)
  const [outcome, setOutcome] = useState<Outcome | null>(null)
  const test = async () => {
    setBusy(true)
    setOutcome(null)
    const result = await api('POST', `/api/v1/clusters/${id}/test`, {}, ZClusterTestResult)
    setBusy(false)
    if (!result.ok) return setOutcome({ ok: false, message: result.error.message })
    setOutcome(result.data.ok ? { ok: true } : { ok: false, message: `Connection failed: ${result.data.error ?? 'unknown error'}` })
    router.refresh()
  }
  return (
    <div className="space-y-1">
      <Button variant="ghost" size="sm" onClick={test} disabled={busy} aria-label={`Test connection to ${name}`}>
        <PlugZap aria-hidden /> {busy ? 'Testing…' : 'Test connection'}
      </Button>
      <OutcomeText outcome={outcome} okText="Connection OK" testId={`cluster-test-result-${name}`} />
    </div>
  )
}

/** Takes a cluster out of placement (its resources stay), or puts it back. */
export function AcceptsNewToggle({ id, name, version, acceptsNew }: { id: string; name: string; version: number; acceptsNew: boolean }) {
  const router = useRouter()
  const [busy, setBusy] = useState(false)
  const [outcome, setOutcome] = useState<Outcome | null>(null)
  const toggle = async () => {
    setBusy(true)
    setOutcome(null)
    const result = await api('PATCH', `/api/v1/clusters/${id}`, { version, acceptsNew: !acceptsNew, testConnection: false })
    setBusy(false)
    if (!result.ok) return setOutcome({ ok: false, message: result.error.message })
    router.refresh()
  }
  return (
    <div className="space-y-1">
      <Button
        variant="ghost"
        size="sm"
        onClick={toggle}
        disabled={busy}
        aria-label={`${acceptsNew ? 'Stop placing' : 'Place'} new instances on ${name}`}
      >
        {acceptsNew ? 'Stop accepting' : 'Accept new instances'}
      </Button>
      <OutcomeText outcome={outcome} okText="" testId={`cluster-toggle-result-${name}`} />
    </div>
  )
}
