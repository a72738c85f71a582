'use client'

import { useRouter } from 'next/navigation'
import { useState } from 'react'
import { api } from './api-client'
import { Button, type ButtonProps } from './ui/button'

/**
 * A staff action on resources that needs no confirmation (check again, provision what is missing): a POST that
 * answers at once while a job does the work, which the page then follows live. The API's refusal is shown below.
 */
export function ResourcePostButton({
  path,
  children,
  label,
  variant = 'secondary',
}: {
  path: string
  children: React.ReactNode
  /** accessible name when the text alone is ambiguous on the page */
  label?: string
  variant?: ButtonProps['variant']
}) {
  const router = useRouter()
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const run = async () => {
    setBusy(true)
    setError(null)
    const result = await api('POST', path, {})
    setBusy(false)
    if (!result.ok) return setError(result.error.message)
    router.refresh()
  }
  return (
    <div className="space-y-1">
      <Button variant={variant} size="sm" onClick={run} disabled={busy} aria-label={label}>
        {children}
      </Button>
      {error ? (
        <p role="alert" className="max-w-xs text-xs break-words text-red-700">
          {error}
        </p>
      ) : null}
    </div>
  )
}
