'use client'

import { KeyRound } from 'lucide-react'
import { useState } from 'react'
import { z } from 'zod'
import { api } from './api-client'
import { CopyBox } from './copy-box'
import { flatten, formatValue } from './format'
import { Alert } from './ui/alert'
import { Button } from './ui/button'
import { Dialog, DialogClose, DialogContent, DialogDescription, DialogFooter, DialogTitle, DialogTrigger } from './ui/dialog'

/** POST /api/v1/resources/{id}/credentials */
const ZResourceCredentials = z.object({ credentials: z.record(z.string(), z.unknown()) })

type Reveal = { state: 'idle' } | { state: 'failed'; message: string } | { state: 'shown'; values: [string, string][] }

/**
 * Staff reveal a resource's credentials, to look at an instance's data by hand. Asked for only after the warning
 * (every reveal is audited); the values stay in this dialog's memory and are forgotten when it closes.
 */
export function ResourceCredentialsDialog({ resourceId, kindLabel }: { resourceId: string; kindLabel: string }) {
  const [open, setOpen] = useState(false)
  const [busy, setBusy] = useState(false)
  const [reveal, setReveal] = useState<Reveal>({ state: 'idle' })

  const load = async () => {
    setBusy(true)
    const result = await api('POST', `/api/v1/resources/${resourceId}/credentials`, {}, ZResourceCredentials)
    setBusy(false)
    if (!result.ok) return setReveal({ state: 'failed', message: result.error.message })
    const values = Object.entries(flatten(result.data.credentials)).map(([k, v]): [string, string] => [
      k,
      typeof v === 'string' ? v : formatValue(v),
    ])
    setReveal({ state: 'shown', values })
  }

  return (
    <Dialog
      open={open}
      onOpenChange={(o) => {
        setOpen(o)
        setReveal({ state: 'idle' })
      }}
    >
      <DialogTrigger asChild>
        <Button variant="ghost" size="sm" aria-label={`Reveal ${kindLabel} credentials`}>
          <KeyRound aria-hidden /> Reveal credentials
        </Button>
      </DialogTrigger>
      <DialogContent className="max-w-lg">
        <DialogTitle>{kindLabel} credentials</DialogTitle>
        <DialogDescription>What the instance’s appservers use to reach its {kindLabel} resource.</DialogDescription>
        <div className="mt-4 space-y-3" aria-live="polite">
          {reveal.state === 'shown' ? (
            <dl className="space-y-2.5" aria-label={`${kindLabel} credentials`}>
              {reveal.values.map(([key, value]) => (
                <div key={key} className="space-y-1">
                  <dt className="font-mono text-xs text-neutral-600">{key}</dt>
                  <dd>
                    <CopyBox value={value} label={key} testId={`credential-${key}`} />
                  </dd>
                </div>
              ))}
            </dl>
          ) : (
            <Alert variant="warning" title="Revealing is recorded in the audit log">
              Your name and the time are kept with the instance’s history. Use the values for debugging only; never paste them into tickets
              or chat.
            </Alert>
          )}
          {reveal.state === 'failed' ? <Alert variant="error">{reveal.message}</Alert> : null}
        </div>
        <DialogFooter>
          <DialogClose asChild>
            <Button variant="secondary">{reveal.state === 'shown' ? 'Close' : 'Cancel'}</Button>
          </DialogClose>
          {reveal.state === 'shown' ? null : (
            <Button onClick={load} disabled={busy}>
              {busy ? 'Revealing…' : 'Reveal'}
            </Button>
          )}
        </DialogFooter>
      </DialogContent>
    </Dialog>
  )
}
