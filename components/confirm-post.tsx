'use client'

import { useRouter } from 'next/navigation'
import { useState } from 'react'
import { api } from './api-client'
import { Alert } from './ui/alert'
import { Button, type ButtonProps } from './ui/button'
import {
  AlertDialog,
  AlertDialogCancel,
  AlertDialogContent,
  AlertDialogDescription,
  AlertDialogTitle,
  AlertDialogTrigger,
  DialogFooter,
} from './ui/dialog'

/**
 * An API request behind a confirm dialog (roll back, cancel a deployment or a rollout; with DELETE, revoking
 * things). The API's refusal (a 409: something is already in progress) is shown in the dialog, which stays open.
 */
export function ConfirmPost({
  method = 'POST',
  trigger,
  triggerLabel,
  triggerVariant = 'secondary',
  triggerSize,
  triggerClassName,
  title,
  description,
  confirmLabel,
  cancelLabel = 'Cancel',
  destructive = false,
  path,
  body = {},
}: {
  method?: 'POST' | 'DELETE'
  trigger: React.ReactNode
  /** accessible name of the trigger when its text alone is ambiguous on the page */
  triggerLabel?: string
  triggerVariant?: ButtonProps['variant']
  triggerSize?: ButtonProps['size']
  triggerClassName?: string
  title: string
  description: React.ReactNode
  confirmLabel: string
  cancelLabel?: string
  destructive?: boolean
  path: string
  body?: unknown
}) {
  const router = useRouter()
  const [open, setOpen] = useState(false)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const confirm = async () => {
    setBusy(true)
    setError(null)
    const result = await api(method, path, method === 'POST' ? body : undefined)
    setBusy(false)
    if (!result.ok) return setError(result.error.message)
    setOpen(false)
    router.refresh()
  }
  return (
    <AlertDialog
      open={open}
      onOpenChange={(o) => {
        setOpen(o)
        setError(null)
      }}
    >
      <AlertDialogTrigger asChild>
        <Button variant={triggerVariant} size={triggerSize} className={triggerClassName} aria-label={triggerLabel}>
          {trigger}
        </Button>
      </AlertDialogTrigger>
      <AlertDialogContent>
        <AlertDialogTitle>{title}</AlertDialogTitle>
        <AlertDialogDescription>{description}</AlertDialogDescription>
        {error ? (
          <Alert variant="error" className="mt-3">
            {error}
          </Alert>
        ) : null}
        <DialogFooter>
          <AlertDialogCancel asChild>
            <Button variant="secondary">{cancelLabel}</Button>
          </AlertDialogCancel>
          <Button variant={destructive ? 'destructive' : 'default'} onClick={confirm} disabled={busy}>
            {busy ? 'Working…' : confirmLabel}
          </Button>
        </DialogFooter>
      </AlertDialogContent>
    </AlertDialog>
  )
}
