'use client'

import { useRouter } from 'next/navigation'
import { useState } from 'react'
import { api, splitErrors } from './api-client'
import { signInWithPassword } from './sign-in'
import { Alert } from './ui/alert'
import { Button } from './ui/button'
import { Field, fieldAria } from './ui/field'
import { Input } from './ui/input'

const FIELDS = ['name', 'password'] as const
const acceptPath = (token: string) => `/api/v1/invitations/${encodeURIComponent(token)}/accept`

/** Someone new: choose a name and password, accept, and get signed in. */
export function AcceptAsNewUser({ token, email }: { token: string; email: string }) {
  const router = useRouter()
  const [errors, setErrors] = useState<Record<string, string>>({})
  const [message, setMessage] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  const submit = async (e: React.FormEvent<HTMLFormElement>) => {
    e.preventDefault()
    const form = new FormData(e.currentTarget)
    const name = String(form.get('name') ?? '')
    const password = String(form.get('password') ?? '')
    const fields: Record<string, string> = {}
    if (!name.trim()) fields.name = 'is required'
    if (password.length < 10) fields.password = 'must be at least 10 characters'
    setErrors(fields)
    if (Object.keys(fields).length) return
    setBusy(true)
    setMessage(null)
    const result = await api('POST', acceptPath(token), { name, password })
    if (!result.ok) {
      const split = splitErrors(result.error, FIELDS)
      setErrors(split.fields)
      setMessage(split.message)
      setBusy(false)
      return
    }
    const failed = await signInWithPassword(email, password)
    if (failed) {
      setMessage(`You joined, but signing in failed: ${failed}`)
      setBusy(false)
      return
    }
    router.replace('/instances')
    router.refresh()
  }

  return (
    <form onSubmit={submit} className="space-y-4" noValidate>
      {message ? <Alert variant="error">{message}</Alert> : null}
      <Field id="invite-email" label="Email">
        <Input id="invite-email" value={email} readOnly disabled />
      </Field>
      <Field id="name" label="Your name" error={errors.name}>
        <Input name="name" autoComplete="name" required {...fieldAria('name', errors.name)} />
      </Field>
      <Field id="password" label="Choose a password" hint="At least 10 characters." error={errors.password}>
        <Input
          name="password"
          type="password"
          autoComplete="new-password"
          minLength={10}
          required
          {...fieldAria('password', errors.password, true)}
        />
      </Field>
      <Button type="submit" className="w-full" disabled={busy}>
        {busy ? 'Joining…' : 'Create account and join'}
      </Button>
    </form>
  )
}

/** Someone signed in as the invited address: one click. */
export function AcceptAsSignedIn({ token }: { token: string }) {
  const router = useRouter()
  const [message, setMessage] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const accept = async () => {
    setBusy(true)
    const result = await api('POST', acceptPath(token), {})
    if (!result.ok) {
      setMessage(result.error.message)
      setBusy(false)
      return
    }
    router.replace('/instances')
    router.refresh()
  }
  return (
    <div className="space-y-3">
      {message ? <Alert variant="error">{message}</Alert> : null}
      <Button className="w-full" onClick={accept} disabled={busy}>
        {busy ? 'Accepting…' : 'Accept invitation'}
      </Button>
    </div>
  )
}
