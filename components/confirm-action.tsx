'use client'

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

/** A small destructive action (revoke a token, revoke an invitation) behind a confirm dialog. */
export function ConfirmAction({
  trigger,
  title,
  description,
  confirmLabel,
  path,
}: {
  trigger: string
  title: string
  description: React.ReactNode
  confirmLabel: string
  path: string
}) {
  const router = useRouter()
  const [open, setOpen] = useState(false)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const confirm = async () => {
    setBusy(true)
    const result = await api('DELETE', path)
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
        <Button variant="ghost" size="sm" className="text-red-700 hover:bg-red-50 hover:text-red-800">
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
            <Button variant="secondary">Cancel</Button>
          </AlertDialogCancel>
          <Button variant="destructive" onClick={confirm} disabled={busy}>
            {busy ? 'Working…' : confirmLabel}
          </Button>
        </DialogFooter>
      </AlertDialogContent>
    </AlertDialog>
  )
}
