'use client'

import { useRouter } from 'next/navigation'
import { useState } from 'react'
import { api, splitErrors } from './api-client'
import { ZInvitationCreated, type TInvitationCreated } from './api-schemas'
import { CopyBox } from './copy-box'
import { Alert } from './ui/alert'
import { Button } from './ui/button'
import { Field, fieldAria } from './ui/field'
import { Input } from './ui/input'
import { Select } from './ui/select'

const FIELDS = ['email', 'role'] as const

export function InviteForm({ organizationId }: { organizationId: string }) {
  const router = useRouter()
  const [errors, setErrors] = useState<Record<string, string>>({})
  const [message, setMessage] = useState<string | null>(null)
  const [invited, setInvited] = useState<TInvitationCreated | null>(null)
  const [busy, setBusy] = useState(false)

  const submit = async (e: React.FormEvent<HTMLFormElement>) => {
    e.preventDefault()
    const formElement = e.currentTarget
    const form = new FormData(formElement)
    setBusy(true)
    setMessage(null)
    const result = await api(
      'POST',
      `/api/v1/organizations/${organizationId}/invitations`,
      {
        email: String(form.get('email') ?? '').trim(),
        role: String(form.get('role') ?? 'member'),
      },
      ZInvitationCreated,
    )
    setBusy(false)
    if (!result.ok) {
      const split = splitErrors(result.error, FIELDS)
      setErrors(split.fields)
      setMessage(split.message)
      return
    }
    setErrors({})
    setInvited(result.data)
    formElement.reset()
    router.refresh()
  }

  return (
    <div className="space-y-4">
      <form onSubmit={submit} noValidate className="flex flex-wrap items-start gap-3" aria-label="Invite someone">
        <Field id="invite-email" label="Email" error={errors.email} className="min-w-64 flex-1">
          <Input name="email" type="email" autoComplete="off" required {...fieldAria('invite-email', errors.email)} />
        </Field>
        <Field id="invite-role" label="Role" error={errors.role} className="w-36">
          <Select name="role" defaultValue="member" {...fieldAria('invite-role', errors.role)}>
            <option value="member">member</option>
            <option value="owner">owner</option>
          </Select>
        </Field>
        <div className="pt-6">
          <Button type="submit" disabled={busy}>
            {busy ? 'Inviting…' : 'Send invitation'}
          </Button>
        </div>
      </form>
      {message ? <Alert variant="error">{message}</Alert> : null}
      {invited ? (
        <Alert
          variant="success"
          title={`Invitation created for ${invited.invitation.email} (${invited.invitation.role})`}
          data-testid="invitation-result"
        >
          <p className="mb-2">
            {invited.delivery === 'sent'
              ? 'The link was emailed. It is also shown here once, if you want to pass it on another way:'
              : 'No mail server is configured, so the link was printed to the server log. It is shown here once: pass it on yourself.'}
          </p>
          <CopyBox value={invited.link} label="Invitation link" testId="invitation-link" />
        </Alert>
      ) : null}
    </div>
  )
}
