import { Globe } from 'lucide-react'
import { AddDomainDialog } from '@/components/add-domain-dialog'
import { CertificateDetails, When } from '@/components/certificate-details'
import { DnsRecords } from '@/components/dns-records'
import { CheckDomainButton, RemoveDomainDialog } from '@/components/domain-actions'
import { formatDateTime } from '@/components/format'
import { nextRefreshAt } from '@/components/next-refresh'
import { RefreshAt } from '@/components/refresh-at'
import { StatusBadge } from '@/components/status-badge'
import { UploadCertificateDialog } from '@/components/upload-certificate-dialog'
import { Alert } from '@/components/ui/alert'
import { EmptyState } from '@/components/ui/empty-state'
import { Table, TBody, TD, TH, THead, TR } from '@/components/ui/table'
import type { UserActor } from '@/lib/auth/actor'
import { getConfig } from '@/lib/config'
import type { Db } from '@/lib/db/client'
import { listInstanceDomains } from '@/lib/domains/list-domains'
import type { TDomain, TInstanceDomains } from '@/lib/domains/schemas'

const ROLE_LABEL: Record<string, string> = { lms: 'LMS', studio: 'Studio', preview: 'Preview', mfe: 'Micro-frontends' }

/** What the verification of a custom domain waits for, or how it ended. */
function Verification({ domain: d, now }: { domain: TDomain; now: number }) {
  if (d.state === 'verified') {
    return (
      <p>
        Verified <When iso={d.verifiedAt} now={now} /> <span className="text-neutral-500">({formatDateTime(d.verifiedAt)})</span>
      </p>
    )
  }
  return (
    <div className="space-y-1">
      {d.state === 'pending' ? (
        <p data-testid="domain-next-check">
          Waiting for the TXT record.{' '}
          {d.nextCheckAt ? (
            <>
              Next check <When iso={d.nextCheckAt} now={now} /> <span className="text-neutral-500">({formatDateTime(d.nextCheckAt)})</span>.
            </>
          ) : null}
        </p>
      ) : (
        <p>
          The TXT record was not found before {formatDateTime(d.verificationExpiresAt)}. Create the records, then check again: that starts a
          new verification period.
        </p>
      )}
      {d.lastCheckedAt ? (
        <p className="text-neutral-600" data-testid="domain-last-check">
          Last checked <When iso={d.lastCheckedAt} now={now} />
          {d.lastCheckError ? <span className="text-amber-800">: {d.lastCheckError}</span> : null}
        </p>
      ) : null}
      {d.state === 'pending' ? <p className="text-neutral-500">Checked until {formatDateTime(d.verificationExpiresAt)}.</p> : null}
    </div>
  )
}

/** Whether visitors reach the instance through this name yet: a hint for the client, not a condition of anything. */
function PointsHere({ domain: d }: { domain: TDomain }) {
  if (d.pointsHere === true)
    return (
      <p className="text-emerald-800" data-testid="domain-points-here" data-points-here="true">
        Points here: visitors reach the instance through it.
      </p>
    )
  if (d.pointsHere === false)
    return (
      <p className="text-amber-800" data-testid="domain-points-here" data-points-here="false">
        Does not point here yet: create the CNAME record (for a bare domain, A/AAAA records with the instance’s addresses).
      </p>
    )
  return (
    <p className="text-neutral-500" data-testid="domain-points-here" data-points-here="unknown">
      {d.lastCheckedAt ? 'Where it points could not be checked.' : 'Where it points is checked with its records.'}
    </p>
  )
}

function DomainCertificate({ domain: d, acme, now }: { domain: TDomain; acme: boolean; now: number }) {
  if (d.certificate) return <CertificateDetails certificate={d.certificate} now={now} />
  return (
    <p className="text-xs text-neutral-500">
      {!acme
        ? 'None: upload one to serve it over HTTPS.'
        : d.state === 'verified'
          ? 'None yet.'
          : `Ordered automatically once it is verified${d.acmeDelegated ? ' (by DNS, through the delegated _acme-challenge record)' : ''}, unless you upload one.`}
    </p>
  )
}

function CustomDomain({ domain: d, acme, archived, now }: { domain: TDomain; acme: boolean; archived: boolean; now: number }) {
  return (
    <li
      className="space-y-3 rounded-lg border border-neutral-200 bg-white p-4 shadow-xs"
      data-testid="custom-domain"
      data-hostname={d.hostname}
      data-state={d.state}
      aria-label={d.hostname}
    >
      <div className="flex flex-wrap items-start justify-between gap-3">
        <div className="flex min-w-0 flex-wrap items-center gap-2">
          <h4 className="font-mono text-sm font-semibold break-all">{d.hostname}</h4>
          <StatusBadge status={d.state} />
        </div>
        {archived ? null : (
          <div className="flex flex-wrap items-start gap-1.5">
            {d.state !== 'verified' ? <CheckDomainButton domainId={d.id} hostname={d.hostname} expired={d.state === 'expired'} /> : null}
            <UploadCertificateDialog domainId={d.id} hostname={d.hostname} replacing={d.certificate !== null} />
            <RemoveDomainDialog domainId={d.id} hostname={d.hostname} />
          </div>
        )}
      </div>
      <div className="grid gap-4 text-sm md:grid-cols-2">
        <div className="space-y-1 text-xs">
          <h5 className="text-xs font-medium text-neutral-500">Verification</h5>
          <Verification domain={d} now={now} />
          <PointsHere domain={d} />
        </div>
        <div className="space-y-1">
          <h5 className="text-xs font-medium text-neutral-500">Certificate</h5>
          <DomainCertificate domain={d} acme={acme} now={now} />
        </div>
      </div>
      {d.state === 'verified' ? (
        <details className="text-sm">
          <summary className="cursor-pointer text-xs text-neutral-600">DNS records</summary>
          <div className="mt-2">
            <DnsRecords records={d.records} hostname={d.hostname} />
          </div>
        </details>
      ) : (
        <div className="space-y-1.5">
          <h5 className="text-xs font-medium text-neutral-500">Create these records at the domain’s DNS provider</h5>
          <DnsRecords records={d.records} hostname={d.hostname} />
        </div>
      )}
    </li>
  )
}

function OwnHostnames({ data, now }: { data: TInstanceDomains; now: number }) {
  return (
    <Table aria-label="Instance hostnames">
      <THead>
        <tr>
          <TH>Hostname</TH>
          <TH>Serves</TH>
          <TH>DNS</TH>
          <TH>Certificate</TH>
        </tr>
      </THead>
      <TBody>
        {data.hostnames.map((h) => (
          <TR key={h.hostname} data-testid="instance-hostname" data-hostname={h.hostname} data-dns={h.dnsState}>
            <TD className="font-mono break-all">{h.hostname}</TD>
            <TD className="whitespace-nowrap text-neutral-700">{ROLE_LABEL[h.role] ?? h.role}</TD>
            <TD>
              <StatusBadge status={h.dnsState} />
              {h.dnsError ? <p className="mt-1 max-w-xs text-xs break-words text-red-700">{h.dnsError}</p> : null}
            </TD>
            <TD>
              {h.certificate ? (
                <CertificateDetails certificate={h.certificate} now={now} />
              ) : (
                <span className="text-xs text-neutral-500">{data.acme ? 'Not issued yet' : 'Not issued here'}</span>
              )}
            </TD>
          </TR>
        ))}
      </TBody>
    </Table>
  )
}

/** When the page read the domains: what "in 3 d" and "5 min ago" are relative to. */
async function readDomains(db: Db, actor: UserActor, instanceId: string): Promise<{ data: TInstanceDomains; now: number }> {
  const data = await listInstanceDomains(db, getConfig(), actor, instanceId)
  return { data, now: Date.now() }
}

/**
 * The instance page's Domains section: its own hostnames under the hosting zone (DNS records, certificate), then the
 * client's custom domains with their verification, the records to create and their certificates. Staff and the
 * instance's organization see it (lib/ checks); anyone who sees it may add, check, upload and remove. Live: adding,
 * verifying, issuing and removing are audit events, which refresh the page.
 */
export async function DomainsSection({
  db,
  actor,
  instanceId,
  archived,
}: {
  db: Db
  actor: UserActor
  instanceId: string
  archived: boolean
}) {
  const { data, now } = await readDomains(db, actor, instanceId)
  const next = archived ? null : nextRefreshAt(data)

  return (
    <section className="mt-6 space-y-3" aria-labelledby="domains-heading" data-testid="domains">
      {next ? <RefreshAt key={next} at={next} /> : null}
      <div className="flex flex-wrap items-end justify-between gap-3">
        <div>
          <h2 id="domains-heading" className="text-sm font-semibold">
            Domains
          </h2>
          <p className="text-sm text-neutral-600">
            The hostnames the instance answers on, and the certificates that serve them over HTTPS.
          </p>
        </div>
        {archived ? null : <AddDomainDialog instanceId={instanceId} />}
      </div>

      {data.acme ? null : (
        <div data-testid="domains-no-acme">
          <Alert variant="info" title="Certificates are not issued automatically here">
            No ACME certificate authority is configured for this installation. Uploading your own certificate for a custom domain still
            works.
          </Alert>
        </div>
      )}

      <OwnHostnames data={data} now={now} />

      <h3 className="pt-2 text-sm font-semibold">Custom domains</h3>
      {data.domains.length ? (
        <ul aria-label="Custom domains" className="space-y-3">
          {data.domains.map((d) => (
            <CustomDomain key={d.id} domain={d} acme={data.acme} archived={archived} now={now} />
          ))}
        </ul>
      ) : (
        <div data-testid="domains-empty">
          <EmptyState icon={<Globe aria-hidden />} title="No custom domains yet" className="py-8">
            {archived
              ? 'It was archived: no domains can be added.'
              : `Add a hostname of your own, such as learn.example.com: you then create a TXT record that proves you control it and a CNAME that sends its visitors here. ${data.acme ? 'Its certificate is issued once it is verified, unless you upload your own.' : 'Then upload its certificate.'}`}
          </EmptyState>
        </div>
      )}
    </section>
  )
}
