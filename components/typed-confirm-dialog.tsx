'use client'

import { useRouter } from 'next/navigation'
import { useState, type ReactNode } from 'react'
import { api } from './api-client'
import { Alert } from './ui/alert'
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

/**
 * A destructive action confirmed by typing a name again (the API checks it too, as `?confirm=`): the button stays
 * disabled until it matches. Archive and "destroy data now" ask for the instance's slug; removing a custom domain, for
 * its hostname.
 */
export function TypedConfirmDialog(props: {
  /** the value to type */
  slug: string
  /** what that value is, in the sentence and as the field's label; default "slug" */
  noun?: string
  trigger: ReactNode
  triggerSize?: 'sm'
  title: string
  description: ReactNode
  method: 'POST' | 'DELETE'
  /** the action's path, without the confirm parameter */
  path: string
  confirmLabel: string
  busyLabel: string
  fieldId: string
}) {
  const router = useRouter()
  const [open, setOpen] = useState(false)
  const [typed, setTyped] = useState('')
  const [error, setError] = useState<string | undefined>()
  const [message, setMessage] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const noun = props.noun ?? 'slug'

  const submit = async (e: React.FormEvent<HTMLFormElement>) => {
    e.preventDefault()
    if (typed !== props.slug) return
    setBusy(true)
    setMessage(null)
    const url = `${props.path}?confirm=${encodeURIComponent(typed)}`
    const result = props.method === 'POST' ? await api('POST', url, {}) : await api('DELETE', url)
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
        <Button variant="secondary" size={props.triggerSize} className="text-red-700 hover:bg-red-50">
          {props.trigger}
        </Button>
      </AlertDialogTrigger>
      <AlertDialogContent>
        <form onSubmit={submit}>
          <AlertDialogTitle>{props.title}</AlertDialogTitle>
          <AlertDialogDescription>
            {props.description} To confirm, type its {noun} <span className="font-mono font-semibold text-neutral-900">{props.slug}</span>{' '}
            below.
          </AlertDialogDescription>
          {message ? (
            <Alert variant="error" className="mt-3">
              {message}
            </Alert>
          ) : null}
          <Field id={props.fieldId} label={noun.charAt(0).toUpperCase() + noun.slice(1)} error={error} className="mt-4">
            <Input
              value={typed}
              onChange={(e) => setTyped(e.target.value)}
              autoComplete="off"
              spellCheck={false}
              className="font-mono"
              autoFocus
              {...fieldAria(props.fieldId, error)}
            />
          </Field>
          <DialogFooter>
            <AlertDialogCancel asChild>
              <Button variant="secondary">Cancel</Button>
            </AlertDialogCancel>
            <Button type="submit" variant="destructive" disabled={typed !== props.slug || busy}>
              {busy ? props.busyLabel : props.confirmLabel}
            </Button>
          </DialogFooter>
        </form>
      </AlertDialogContent>
    </AlertDialog>
  )
}
