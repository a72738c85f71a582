'use client'

import { RefreshCw, Trash2 } from 'lucide-react'
import { useRouter } from 'next/navigation'
import { useEffect, useRef, useState } from 'react'
import { api } from './api-client'
import { TypedConfirmDialog } from './typed-confirm-dialog'
import { Button, type ButtonProps } from './ui/button'

/**
 * When, after "check now" or "retry", the page is read again. Both answer at once and a job does the work within a
 * few seconds; a check that finds nothing, or an order that fails again, writes no audit event, so the live updates
 * would not show its outcome.
 */
const FOLLOW_UPS_MS = [2500, 6000]

/** A POST that needs no confirmation and answers at once; the page is refreshed now and once the job is likely done. */
function JobButton({
  path,
  label,
  children,
  variant = 'secondary',
}: {
  path: string
  label: string
  children: React.ReactNode
  variant?: ButtonProps['variant']
}) {
  const router = useRouter()
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const followUps = useRef<ReturnType<typeof setTimeout>[]>([])
  const cancelFollowUps = () => followUps.current.splice(0).forEach(clearTimeout)
  useEffect(() => cancelFollowUps, [])
  const run = async () => {
    setBusy(true)
    setError(null)
    const result = await api('POST', path, {})
    setBusy(false)
    if (!result.ok) return setError(result.error.message)
    router.refresh()
    cancelFollowUps()
    followUps.current = FOLLOW_UPS_MS.map((ms) => setTimeout(() => router.refresh(), ms))
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

/** Looks for a custom domain's records now; an expired verification starts a new period. */
export function CheckDomainButton({ domainId, hostname, expired }: { domainId: string; hostname: string; expired: boolean }) {
  const text = expired ? 'Check again' : 'Check now'
  return (
    <JobButton path={`/api/v1/domains/${domainId}/check`} label={`${text}: ${hostname}`}>
      <RefreshCw aria-hidden /> {text}
    </JobButton>
  )
}

/** Staff order an ACME certificate now (after fixing what made it fail); the CA's rate-limit budget still applies. */
export function RetryCertificateButton({ certificateId, names }: { certificateId: string; names: string }) {
  return (
    <JobButton path={`/api/v1/certificates/${certificateId}/retry`} label={`Retry the certificate for ${names}`}>
      <RefreshCw aria-hidden /> Retry
    </JobButton>
  )
}

/** Removing a custom domain asks for its hostname again; its routing and its certificate go with it. */
export function RemoveDomainDialog({ domainId, hostname }: { domainId: string; hostname: string }) {
  return (
    <TypedConfirmDialog
      slug={hostname}
      noun="hostname"
      trigger={
        <>
          <Trash2 aria-hidden /> Remove<span className="sr-only"> {hostname}</span>
        </>
      }
      triggerSize="sm"
      title={`Remove ${hostname}?`}
      description="The instance stops answering on it, and its certificate is deleted. Adding it again means proving you control it again."
      method="DELETE"
      path={`/api/v1/domains/${domainId}`}
      confirmLabel="Remove domain"
      busyLabel="Removing…"
      fieldId={`confirm-hostname-${domainId}`}
    />
  )
}
