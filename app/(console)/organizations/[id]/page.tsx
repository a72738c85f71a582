import type { Metadata } from 'next'
import Link from 'next/link'
import { Plus, Server } from 'lucide-react'
import { ConfirmAction } from '@/components/confirm-action'
import { formatDate, formatDateTime } from '@/components/format'
import { InviteForm } from '@/components/invite-form'
import { PageHeader } from '@/components/page-header'
import { StatusBadge } from '@/components/status-badge'
import { Badge } from '@/components/ui/badge'
import { buttonVariants } from '@/components/ui/button'
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card'
import { Table, TBody, TD, TH, THead, TR } from '@/components/ui/table'
import { isOrganizationOwner, isStaff } from '@/lib/auth/policy'
import { listInvitations } from '@/lib/organizations/invitations'
import { getOrganization } from '@/lib/organizations/list-organizations'
import { listMembers } from '@/lib/organizations/members'
import { orNotFound, pageContext } from '../../_lib/page-actor'

export const metadata: Metadata = { title: 'Organization' }

export default async function OrganizationPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params
  const { db, actor } = await pageContext()
  const org = await orNotFound(getOrganization({ db, actor, id }))
  const manages = isStaff(actor) || isOrganizationOwner(actor, org.id)
  const [members, invitations] = await Promise.all([
    listMembers({ db, actor, organizationId: org.id }),
    manages ? listInvitations({ db, actor, organizationId: org.id }) : Promise.resolve(null),
  ])

  return (
    <>
      <nav aria-label="Breadcrumb" className="mb-2 text-sm text-neutral-500">
        <Link href="/organizations" className="hover:underline">
          Organizations
        </Link>{' '}
        / <span className="text-neutral-700">{org.slug}</span>
      </nav>
      <PageHeader
        title={org.name}
        description={
          <>
            <span className="font-mono">{org.slug}</span> · created {formatDate(org.createdAt)}
          </>
        }
        actions={
          <>
            <Link href={`/instances?organizationId=${org.id}`} className={buttonVariants({ variant: 'secondary' })}>
              <Server aria-hidden /> {org.instanceCount} {org.instanceCount === 1 ? 'instance' : 'instances'}
            </Link>
            {isStaff(actor) ? (
              <Link href={`/instances/new?organizationId=${org.id}`} className={buttonVariants()}>
                <Plus aria-hidden /> New instance
              </Link>
            ) : null}
          </>
        }
      />
      <div className="space-y-6">
        <section aria-labelledby="members-heading" className="space-y-2">
          <h2 id="members-heading" className="text-sm font-semibold">
            Members
          </h2>
          {members.length ? (
            <Table aria-label="Members">
              <THead>
                <tr>
                  <TH>Name</TH>
                  <TH>Email</TH>
                  <TH>Role</TH>
                  <TH className="text-right">Member since</TH>
                </tr>
              </THead>
              <TBody>
                {members.map((m) => (
                  <TR key={m.userId}>
                    <TD className="font-medium">{m.name}</TD>
                    <TD>{m.email}</TD>
                    <TD>
                      <Badge variant={m.role === 'owner' ? 'blue' : 'neutral'}>{m.role}</Badge>
                    </TD>
                    <TD className="text-right text-neutral-600 tabular-nums">{formatDate(m.since)}</TD>
                  </TR>
                ))}
              </TBody>
            </Table>
          ) : (
            <p className="rounded-lg border border-dashed border-neutral-300 bg-white px-4 py-6 text-center text-sm text-neutral-600">
              No members yet. {manages ? 'Invite the first one below.' : null}
            </p>
          )}
        </section>

        {invitations ? (
          <>
            <Card>
              <CardHeader>
                <CardTitle>Invite someone</CardTitle>
              </CardHeader>
              <CardContent>
                <InviteForm organizationId={org.id} />
              </CardContent>
            </Card>
            <section aria-labelledby="invitations-heading" className="space-y-2">
              <h2 id="invitations-heading" className="text-sm font-semibold">
                Invitations
              </h2>
              {invitations.length ? (
                <Table aria-label="Invitations">
                  <THead>
                    <tr>
                      <TH>Email</TH>
                      <TH>Role</TH>
                      <TH>Status</TH>
                      <TH>Sent</TH>
                      <TH>Expires</TH>
                      <TH className="text-right">
                        <span className="sr-only">Actions</span>
                      </TH>
                    </tr>
                  </THead>
                  <TBody>
                    {invitations.map((i) => (
                      <TR key={i.id}>
                        <TD>{i.email}</TD>
                        <TD>{i.role}</TD>
                        <TD>
                          <StatusBadge status={i.status} />
                        </TD>
                        <TD className="text-neutral-600 tabular-nums">{formatDateTime(i.createdAt)}</TD>
                        <TD className="text-neutral-600 tabular-nums">{formatDateTime(i.expiresAt)}</TD>
                        <TD className="py-1 text-right">
                          {i.status === 'pending' ? (
                            <ConfirmAction
                              trigger="Revoke"
                              title={`Revoke the invitation for ${i.email}?`}
                              description="The link stops working at once. You can invite the same address again later."
                              confirmLabel="Revoke invitation"
                              path={`/api/v1/organizations/${org.id}/invitations/${i.id}`}
                            />
                          ) : null}
                        </TD>
                      </TR>
                    ))}
                  </TBody>
                </Table>
              ) : (
                <p className="text-sm text-neutral-500">No invitations sent yet.</p>
              )}
            </section>
          </>
        ) : null}
      </div>
    </>
  )
}
