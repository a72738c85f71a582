'use client'

import { useRouter } from 'next/navigation'
import { useState } from 'react'
import { signInWithPassword } from './sign-in'
import { Alert } from './ui/alert'
import { Button } from './ui/button'
import { Field } from './ui/field'
import { Input } from './ui/input'

export function SignInForm({ next, defaultEmail }: { next: string; defaultEmail?: string }) {
  const router = useRouter()
  const [message, setMessage] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  const submit = async (e: React.FormEvent<HTMLFormElement>) => {
    e.preventDefault()
    const form = new FormData(e.currentTarget)
    setBusy(true)
    setMessage(null)
    const failed = await signInWithPassword(String(form.get('email') ?? ''), String(form.get('password') ?? ''))
    if (failed) {
      setMessage(failed)
      setBusy(false)
      return
    }
    router.replace(next)
    router.refresh()
  }

  return (
    <form onSubmit={submit} className="space-y-4">
      {message ? <Alert variant="error">{message}</Alert> : null}
      <Field id="email" label="Email">
        <Input
          id="email"
          name="email"
          type="email"
          autoComplete="username"
          defaultValue={defaultEmail}
          required
          autoFocus={!defaultEmail}
        />
      </Field>
      <Field id="password" label="Password">
        <Input id="password" name="password" type="password" autoComplete="current-password" required autoFocus={!!defaultEmail} />
      </Field>
      <Button type="submit" className="w-full" disabled={busy}>
        {busy ? 'Signing in…' : 'Sign in'}
      </Button>
    </form>
  )
}
