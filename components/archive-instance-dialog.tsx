'use client'

import { Archive } from 'lucide-react'
import { useRouter } from 'next/navigation'
import { useState } from 'react'
import { api } from './api-client'
import {
  AlertDialog,
  AlertDialogCancel,
  AlertDialogContent,
  AlertDialogDescription,
  AlertDialogTitle,
  AlertDialogTrigger,
  DialogFooter,
} from './ui/dialog'
import { Button } from './ui/button'
import { Field, fieldAria } from './ui/field'
import { Input } from './ui/input'

/** Archiving asks for the slug to be typed again; the button stays disabled until it matches. */
export function ArchiveInstanceDialog({ id, slug, name }: { id: string; slug: string; name: string }) {
  const router = useRouter()
  const [open, setOpen] = useState(false)
  const [typed, setTyped] = useState('')
  const [error, setError] = useState<string | undefined>()
  const [busy, setBusy] = useState(false)

  const archive = async (e: React.FormEvent<HTMLFormElement>) => {
    e.preventDefault()
    if (typed !== slug) return
    setBusy(true)
    const result = await api('DELETE', `/api/v1/instances/${id}?confirm=${encodeURIComponent(typed)}`)
    setBusy(false)
    if (!result.ok) {
      setError(result.error.fields.find((f) => f.field === 'confirm')?.message ?? result.error.message)
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
        }
      }}
    >
      <AlertDialogTrigger asChild>
        <Button variant="secondary" className="text-red-700 hover:bg-red-50">
          <Archive aria-hidden /> Archive
        </Button>
      </AlertDialogTrigger>
      <AlertDialogContent>
        <form onSubmit={archive}>
          <AlertDialogTitle>Archive {name}?</AlertDialogTitle>
          <AlertDialogDescription>
            The instance stops being served and can no longer be edited. Its audit history is kept. To confirm, type its slug{' '}
            <span className="font-mono font-semibold text-neutral-900">{slug}</span> below.
          </AlertDialogDescription>
          <Field id="confirm-slug" label="Slug" error={error} className="mt-4">
            <Input
              value={typed}
              onChange={(e) => setTyped(e.target.value)}
              autoComplete="off"
              spellCheck={false}
              className="font-mono"
              autoFocus
              {...fieldAria('confirm-slug', error)}
            />
          </Field>
          <DialogFooter>
            <AlertDialogCancel asChild>
              <Button variant="secondary">Cancel</Button>
            </AlertDialogCancel>
            <Button type="submit" variant="destructive" disabled={typed !== slug || busy}>
              {busy ? 'Archiving…' : 'Archive instance'}
            </Button>
          </DialogFooter>
        </form>
      </AlertDialogContent>
    </AlertDialog>
  )
}
