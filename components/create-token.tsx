'use client'

import { KeyRound } from 'lucide-react'
import { useRouter } from 'next/navigation'
import { useState } from 'react'
import { api, splitErrors } from './api-client'
import { ZCreatedToken } from './api-schemas'
import { CopyBox } from './copy-box'
import { Alert } from './ui/alert'
import { Button } from './ui/button'
import { Field, fieldAria } from './ui/field'
import { Input } from './ui/input'

export function CreateToken() {
  const router = useRouter()
  const [error, setError] = useState<string | undefined>()
  const [message, setMessage] = useState<string | null>(null)
  const [created, setCreated] = useState<{ token: string; name: string } | null>(null)
  const [busy, setBusy] = useState(false)

  const submit = async (e: React.FormEvent<HTMLFormElement>) => {
    e.preventDefault()
    const formElement = e.currentTarget
    const name = String(new FormData(formElement).get('name') ?? '')
    setBusy(true)
    setMessage(null)
    const result = await api('POST', '/api/v1/tokens', { name }, ZCreatedToken)
    setBusy(false)
    if (!result.ok) {
      const split = splitErrors(result.error, ['name'])
      setError(split.fields.name)
      setMessage(split.message)
      return
    }
    setError(undefined)
    setCreated({ token: result.data.token, name: result.data.apiToken.name })
    formElement.reset()
    router.refresh()
  }

  return (
    <div className="space-y-4">
      <form onSubmit={submit} noValidate className="flex flex-wrap items-start gap-3" aria-label="Create token">
        <Field
          id="token-name"
          label="Token name"
          hint="What it is for, e.g. “scheduler” or “CI deploys”."
          error={error}
          className="min-w-72 flex-1"
        >
          <Input name="name" autoComplete="off" required {...fieldAria('token-name', error, true)} />
        </Field>
        <div className="pt-6">
          <Button type="submit" disabled={busy}>
            <KeyRound aria-hidden /> {busy ? 'Creating…' : 'Create token'}
          </Button>
        </div>
      </form>
      {message ? <Alert variant="error">{message}</Alert> : null}
      {created ? (
        <Alert variant="warning" title={`Token “${created.name}” created: copy it now`} data-testid="new-token">
          <p className="mb-2">This is the only time it is shown. It acts as you: keep it secret, and revoke it if it leaks.</p>
          <CopyBox value={created.token} label="API token" testId="token-value" />
        </Alert>
      ) : null}
    </div>
  )
}
