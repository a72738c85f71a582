import type { Metadata } from 'next'
import Link from 'next/link'
import { notFound } from 'next/navigation'
import { AlertTriangle, ShieldCheck } from 'lucide-react'
import { CERTIFICATE_SOURCE_LABEL, needsAttention, When } from '@/components/certificate-details'
import { RetryCertificateButton } from '@/components/domain-actions'
import { certificateDue } from '@/components/next-refresh'
import { PageHeader } from '@/components/page-header'
import { RefreshAt } from '@/components/refresh-at'
import { StatusBadge } from '@/components/status-badge'
import { Alert } from '@/components/ui/alert'
import { EmptyState } from '@/components/ui/empty-state'
import { Pagination } from '@/components/ui/pagination'
import { Table, TBody, TD, TH, THead, TR } from '@/components/ui/table'
import type { UserActor } from '@/lib/auth/actor'
import { isStaff } from '@/lib/auth/policy'
import { listCertificates, ZListCertificatesQuery, type TCertificateList } from '@/lib/certificates/list-certificates'
import { getConfig } from '@/lib/config'
import type { Db } from '@/lib/db/client'
import { pageContext, param, type SearchParams } from '../_lib/page-actor'

export const metadata: Metadata = { title: 'Certificates' }

const PAGE_SIZE = 50

type Item = TCertificateList['items'][number]

/** What a certificate serves: an instance (and which custom domain of it), or every instance (the zone's wildcard). */
function ServesCell({ item }: { item: Item }) {
  if (!item.instance) return <span className="text-neutral-600">{item.scope === 'zone' ? 'Every instance (zone wildcard)' : '—'}</span>
  return (
    <div className="space-y-0.5">
      <Link href={`/instances/${item.instance.id}`} className="font-medium text-blue-700 hover:underline">
        {item.instance.name}
      </Link>
      <p className="text-xs text-neutral-600">
        {item.domain ? (
          <>
            custom domain <span className="font-mono">{item.domain.hostname}</span>
          </>
        ) : (
          <>
            own hostnames of <span className="font-mono">{item.instance.slug}</span>
          </>
        )}
      </p>
    </div>
  )
}

function CertificateRow({ item, now }: { item: Item; now: number }) {
  const attention = needsAttention(item)
  return (
    <TR
      data-testid="certificate"
      data-state={item.state}
      data-source={item.source}
      data-attention={attention}
      data-last-attempt={item.lastAttemptAt ?? undefined}
    >
      <TD className="min-w-48">
        <ul className="space-y-0.5 font-mono text-xs break-all">
          {item.hostnames.map((h) => (
            <li key={h}>{h}</li>
          ))}
        </ul>
      </TD>
      <TD>
        <ServesCell item={item} />
      </TD>
      <TD className="whitespace-nowrap">{CERTIFICATE_SOURCE_LABEL[item.source]}</TD>
      <TD className="whitespace-nowrap">
        <span className="inline-flex items-center gap-1">
          {attention ? <AlertTriangle aria-label="Needs attention" className="size-3.5 text-red-700" /> : null}
          <StatusBadge status={item.state} />
        </span>
      </TD>
      <TD className="text-xs">{item.issuer ?? <span className="text-neutral-400">—</span>}</TD>
      <TD className="text-xs">
        <When iso={item.notAfter} now={now} withDate />
      </TD>
      <TD className="text-xs">
        <When iso={item.renewAt} now={now} withDate />
      </TD>
      <TD className="text-xs">
        <When iso={item.lastAttemptAt} now={now} />
        {item.nextAttemptAt ? (
          <p className="text-neutral-500">
            next <When iso={item.nextAttemptAt} now={now} />
          </p>
        ) : null}
      </TD>
      <TD className="max-w-sm text-xs" data-testid="certificate-last-error">
        {item.lastError ? <p className="break-words text-red-700">{item.lastError}</p> : <span className="text-neutral-400">—</span>}
      </TD>
      <TD>{item.source === 'acme' ? <RetryCertificateButton certificateId={item.id} names={item.hostnames.join(', ')} /> : null}</TD>
    </TR>
  )
}

/** One page of certificates and when it was read; a stale or hand-made cursor falls back to the first page. */
async function readPage(
  db: Db,
  actor: UserActor,
  cursor: string | undefined,
): Promise<{ page: TCertificateList; now: number; problem: string | null }> {
  const query = ZListCertificatesQuery.safeParse({ limit: PAGE_SIZE, cursor })
  const page = await listCertificates(db, actor, query.success ? query.data : { limit: PAGE_SIZE })
  return { page, now: Date.now(), problem: query.success ? null : 'The page link is not valid; showing the first page.' }
}

/**
 * Every certificate (staff only; for anyone else the page does not exist): those that need a person first (failed,
 * expired, or with an error from their last attempt), then by expiry. ACME ones can be retried after fixing the cause.
 * Live: issuing, renewing and failing raise events, which refresh the page.
 */
export default async function CertificatesPage({ searchParams }: { searchParams: SearchParams }) {
  const { db, actor } = await pageContext()
  if (!isStaff(actor)) notFound()
  const cursor = param((await searchParams).cursor)
  const { page, now, problem } = await readPage(db, actor, cursor)
  const acme = Boolean(getConfig().acme)
  // The soonest attempt on this page: an order that fails and waits again announces nothing, so read the page then.
  const due = page.items.flatMap((c) => certificateDue(c, null) ?? []).sort((a, b) => Date.parse(a) - Date.parse(b))[0]

  return (
    <>
      {due ? <RefreshAt key={due} at={due} /> : null}
      <PageHeader
        title="Certificates"
        description="What the load balancers serve over HTTPS: issued and renewed here by ACME, or uploaded by clients for their domains. Those that need attention come first, then the soonest to expire."
      />
      {problem ? (
        <Alert variant="warning" className="mb-4">
          {problem}
        </Alert>
      ) : null}
      {acme ? null : (
        <Alert variant="info" className="mb-4" data-testid="certificates-no-acme">
          No ACME certificate authority is configured (<code className="font-mono">ACME_DIRECTORY_URL</code>): no certificate is issued
          here, and only the ones clients upload are served.
        </Alert>
      )}
      {page.items.length === 0 ? (
        <EmptyState icon={<ShieldCheck aria-hidden />} title="No certificates yet">
          {acme
            ? 'Certificates appear here once they are ordered: the hosting zone’s wildcard and each instance’s own (with a DNS provider configured), and one per verified custom domain. Clients’ uploads appear too.'
            : 'Certificates clients upload for their custom domains appear here.'}
        </EmptyState>
      ) : (
        <div className="space-y-3">
          <Table aria-label="Certificates">
            <THead>
              <tr>
                <TH>Names</TH>
                <TH>Instance / domain</TH>
                <TH>Source</TH>
                <TH>State</TH>
                <TH>Issuer</TH>
                <TH>Expires</TH>
                <TH>Renews</TH>
                <TH>Last attempt</TH>
                <TH>Last error</TH>
                <TH>
                  <span className="sr-only">Actions</span>
                </TH>
              </tr>
            </THead>
            <TBody>
              {page.items.map((item) => (
                <CertificateRow key={item.id} item={item} now={now} />
              ))}
            </TBody>
          </Table>
          <Pagination basePath="/certificates" params={{}} cursor={cursor} nextCursor={page.nextCursor} count={page.items.length} />
        </div>
      )}
    </>
  )
}
