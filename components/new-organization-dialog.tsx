'use client'

import { Plus } from 'lucide-react'
import { useRouter } from 'next/navigation'
import { useState } from 'react'
import { api, splitErrors } from './api-client'
import { ZCreatedResource } from './api-schemas'
import { Alert } from './ui/alert'
import { Button } from './ui/button'
import { Dialog, DialogClose, DialogContent, DialogDescription, DialogFooter, DialogTitle, DialogTrigger } from './ui/dialog'
import { Field, fieldAria } from './ui/field'
import { Input } from './ui/input'

const FIELDS = ['name', 'slug'] as const

export function NewOrganizationDialog() {
  const router = useRouter()
  const [open, setOpen] = useState(false)
  const [errors, setErrors] = useState<Record<string, string>>({})
  const [message, setMessage] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  const submit = async (e: React.FormEvent<HTMLFormElement>) => {
    e.preventDefault()
    const form = new FormData(e.currentTarget)
    const name = String(form.get('name') ?? '')
    const slug = String(form.get('slug') ?? '').trim()
    setBusy(true)
    setMessage(null)
    const result = await api('POST', '/api/v1/organizations', slug ? { name, slug } : { name }, ZCreatedResource)
    setBusy(false)
    if (!result.ok) {
      const split = splitErrors(result.error, FIELDS)
      setErrors(split.fields)
      setMessage(split.message)
      return
    }
    setOpen(false)
    setErrors({})
    router.push(`/organizations/${result.data.id}`)
    router.refresh()
  }

  return (
    <Dialog
      open={open}
      onOpenChange={(o) => {
        setOpen(o)
        if (!o) {
          setErrors({})
          setMessage(null)
        }
      }}
    >
      <DialogTrigger asChild>
        <Button>
          <Plus aria-hidden /> New organization
        </Button>
      </DialogTrigger>
      <DialogContent>
        <DialogTitle>New organization</DialogTitle>
        <DialogDescription>A client of the hosting service. Its people are invited once it exists.</DialogDescription>
        <form onSubmit={submit} noValidate className="mt-4 space-y-4">
          {message ? <Alert variant="error">{message}</Alert> : null}
          <Field id="org-name" label="Name" error={errors.name}>
            <Input name="name" autoComplete="organization" required autoFocus {...fieldAria('org-name', errors.name)} />
          </Field>
          <Field id="org-slug" label="Slug (optional)" hint="Derived from the name when left empty." error={errors.slug}>
            <Input name="slug" autoComplete="off" spellCheck={false} className="font-mono" {...fieldAria('org-slug', errors.slug, true)} />
          </Field>
          <DialogFooter>
            <DialogClose asChild>
              <Button variant="secondary">Cancel</Button>
            </DialogClose>
            <Button type="submit" disabled={busy}>
              {busy ? 'Creating…' : 'Create organization'}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  )
}
