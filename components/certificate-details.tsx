import { formatDateTime } from './format'
import { relativeTime } from './relative-time'
import { StatusBadge } from './status-badge'
import type { TCertificateSummary } from '@/lib/domains/schemas'

export const CERTIFICATE_SOURCE_LABEL: Record<TCertificateSummary['source'], string> = { acme: 'ACME', uploaded: 'uploaded' }

/** Whether someone should look at a certificate: what the Certificates page sorts first and the banner counts. */
export const needsAttention = (c: Pick<TCertificateSummary, 'state' | 'lastError'>) =>
  c.state === 'failed' || c.state === 'expired' || c.lastError !== null

/** A time as "in 89 d" (or "3 h ago") with the date beside it, and the exact time on hover. */
export function When({ iso, now, withDate = false }: { iso: string | null; now: number; withDate?: boolean }) {
  if (!iso) return <span className="text-neutral-400">—</span>
  return (
    <time dateTime={iso} title={formatDateTime(iso)} className="whitespace-nowrap">
      {relativeTime(iso, now)}
      {withDate ? <span className="text-neutral-500"> · {iso.slice(0, 10)}</span> : null}
    </time>
  )
}

/**
 * A certificate in a table cell: its state, where it comes from and who issued it, when it expires, and what its last
 * attempt left (the error in full: it is what a person needs to act on). `now` is when the page read it.
 */
export function CertificateDetails({ certificate: c, now }: { certificate: TCertificateSummary; now: number }) {
  return (
    <div className="space-y-1 text-xs" data-testid="certificate-details" data-state={c.state} data-source={c.source}>
      <div className="flex flex-wrap items-center gap-x-2 gap-y-0.5">
        <StatusBadge status={c.state} />
        <span className="text-neutral-600">{CERTIFICATE_SOURCE_LABEL[c.source]}</span>
        {c.issuer ? (
          <span className="text-neutral-900" data-testid="certificate-issuer">
            {c.issuer}
          </span>
        ) : null}
      </div>
      {c.notAfter ? (
        <p className="text-neutral-600">
          Expires <When iso={c.notAfter} now={now} withDate />
        </p>
      ) : null}
      {c.lastAttemptAt ? (
        <p className="text-neutral-600">
          Last attempt <When iso={c.lastAttemptAt} now={now} />
          {c.nextAttemptAt ? (
            <>
              {' '}
              · next <When iso={c.nextAttemptAt} now={now} />
            </>
          ) : null}
        </p>
      ) : null}
      {c.lastError ? (
        <p className="break-words text-red-700" data-testid="certificate-error">
          {c.lastError}
        </p>
      ) : null}
    </div>
  )
}
