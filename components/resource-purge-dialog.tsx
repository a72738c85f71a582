'use client'

import { Trash2 } from 'lucide-react'
import { useRouter } from 'next/navigation'
import { useState } from 'react'
import { api } from './api-client'
import { Alert } from './ui/alert'
import { Button } from './ui/button'
import {
  AlertDialog,
  AlertDialogCancel,
  AlertDialogContent,
  AlertDialogDescription,
  AlertDialogTitle,
  AlertDialogTrigger,
  DialogFooter,
} from './ui/dialog'
import { Field, fieldAria } from './ui/field'
import { Input } from './ui/input'

/**
 * Destroys an archived instance's databases, vhost and bucket now instead of at the end of the retention period.
 * Like archiving, the slug must be typed again; there is no undo (the final export is what remains).
 */
export function ResourcePurgeDialog({ instanceId, slug, name }: { instanceId: string; slug: string; name: string }) {
  const router = useRouter()
  const [open, setOpen] = useState(false)
  const [typed, setTyped] = useState('')
  const [error, setError] = useState<string | undefined>()
  const [message, setMessage] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  const purge = async (e: React.FormEvent<HTMLFormElement>) => {
    e.preventDefault()
    if (typed !== slug) return
    setBusy(true)
    setMessage(null)
    const result = await api('POST', `/api/v1/instances/${instanceId}/purge?confirm=${encodeURIComponent(typed)}`, {})
    setBusy(false)
    if (!result.ok) {
      const field = result.error.fields.find((f) => f.field === 'confirm')
      setError(field?.message)
      if (!field) setMessage(result.error.message)
      return
    }
    setOpen(false)
    router.refresh()
  }

  return (
    <AlertDialog
      open={open}
      onOpenChange={(o) => {
        setOpen(o)
        if (!o) {
          setTyped('')
          setError(undefined)
          setMessage(null)
        }
      }}
    >
      <AlertDialogTrigger asChild>
        <Button variant="secondary" size="sm" className="text-red-700 hover:bg-red-50">
          <Trash2 aria-hidden /> Destroy data now
        </Button>
      </AlertDialogTrigger>
      <AlertDialogContent>
        <form onSubmit={purge}>
          <AlertDialogTitle>Destroy {name}’s data now?</AlertDialogTitle>
          <AlertDialogDescription>
            Its databases, message queue vhost and bucket are deleted with everything in them, and the instance can no longer be restored.
            Only the final export is kept. To confirm, type its slug{' '}
            <span className="font-mono font-semibold text-neutral-900">{slug}</span> below.
          </AlertDialogDescription>
          {message ? (
            <Alert variant="error" className="mt-3">
              {message}
            </Alert>
          ) : null}
          <Field id="purge-confirm-slug" label="Slug" error={error} className="mt-4">
            <Input
              value={typed}
              onChange={(e) => setTyped(e.target.value)}
              autoComplete="off"
              spellCheck={false}
              className="font-mono"
              autoFocus
              {...fieldAria('purge-confirm-slug', error)}
            />
          </Field>
          <DialogFooter>
            <AlertDialogCancel asChild>
              <Button variant="secondary">Cancel</Button>
            </AlertDialogCancel>
            <Button type="submit" variant="destructive" disabled={typed !== slug || busy}>
              {busy ? 'Destroying…' : 'Destroy data'}
            </Button>
          </DialogFooter>
        </form>
      </AlertDialogContent>
    </AlertDialog>
  )
}
