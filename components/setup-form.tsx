'use client'

import { useRouter } from 'next/navigation'
import { useState } from 'react'
import { api, splitErrors } from './api-client'
import { signInWithPassword } from './sign-in'
import { Alert } from './ui/alert'
import { Button } from './ui/button'
import { Field, fieldAria } from './ui/field'
import { Input } from './ui/input'

const FIELDS = ['code', 'name', 'email', 'password'] as const

export function SetupForm() {
  const router = useRouter()
  const [errors, setErrors] = useState<Record<string, string>>({})
  const [message, setMessage] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  const submit = async (e: React.FormEvent<HTMLFormElement>) => {
    e.preventDefault()
    const form = new FormData(e.currentTarget)
    const value = (k: string) => String(form.get(k) ?? '')
    setBusy(true)
    setMessage(null)
    const result = await api('POST', '/api/v1/setup', {
      code: value('code'),
      name: value('name'),
      email: value('email'),
      password: value('password'),
    })
    if (!result.ok) {
      const split = splitErrors(result.error, FIELDS)
      setErrors(split.fields)
      setMessage(split.message)
      setBusy(false)
      return
    }
    setErrors({})
    const failed = await signInWithPassword(value('email'), value('password'))
    if (failed) {
      setMessage(`Your account was created, but signing in failed: ${failed}`)
      setBusy(false)
      return
    }
    router.replace('/instances')
    router.refresh()
  }

  return (
    <form onSubmit={submit} className="space-y-4" noValidate>
      {message ? <Alert variant="error">{message}</Alert> : null}
      <Field id="code" label="Setup code" hint="Printed in the server log at start-up, like ABCDE-FGHJK-…" error={errors.code}>
        <Input
          name="code"
          autoComplete="off"
          spellCheck={false}
          className="font-mono uppercase"
          required
          {...fieldAria('code', errors.code, true)}
        />
      </Field>
      <Field id="name" label="Your name" error={errors.name}>
        <Input name="name" autoComplete="name" required {...fieldAria('name', errors.name)} />
      </Field>
      <Field id="email" label="Email" error={errors.email}>
        <Input name="email" type="email" autoComplete="email" required {...fieldAria('email', errors.email)} />
      </Field>
      <Field id="password" label="Password" hint="At least 10 characters." error={errors.password}>
        <Input
          name="password"
          type="password"
          autoComplete="new-password"
          required
          minLength={10}
          {...fieldAria('password', errors.password, true)}
        />
      </Field>
      <Button type="submit" className="w-full" disabled={busy}>
        {busy ? 'Creating account…' : 'Create staff account'}
      </Button>
    </form>
  )
}
