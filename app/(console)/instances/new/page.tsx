import type { Metadata } from 'next'
import Link from 'next/link'
import { openedxFormMeta } from '@/components/blueprint-meta'
import { InstanceForm } from '@/components/instance-form'
import { PageHeader } from '@/components/page-header'
import { Alert } from '@/components/ui/alert'
import { buttonVariants } from '@/components/ui/button'
import { EmptyState } from '@/components/ui/empty-state'
import { isStaff } from '@/lib/auth/policy'
import { listOrganizations } from '@/lib/organizations/list-organizations'
import { pageContext, param, type SearchParams } from '../../_lib/page-actor'

export const metadata: Metadata = { title: 'New instance' }

export default async function NewInstancePage({ searchParams }: { searchParams: SearchParams }) {
  const { db, actor, hostingZone } = await pageContext()
  if (!isStaff(actor)) {
    return (
      <>
        <PageHeader title="New instance" />
        <Alert variant="warning" title="Not allowed">
          Only hosting staff can create instances. Ask your hosting team if you need another one.
        </Alert>
      </>
    )
  }
  const sp = await searchParams
  const organizations = (await listOrganizations({ db, actor, query: { limit: 100 } })).items
  const meta = openedxFormMeta()
  const requested = param(sp.organizationId)
  return (
    <>
      <PageHeader title="New instance" description={`The instance is served at <slug>.${hostingZone} once it is deployed.`} />
      {organizations.length === 0 ? (
        <EmptyState
          title="Create an organization first"
          action={
            <Link href="/organizations" className={buttonVariants()}>
              Go to organizations
            </Link>
          }
        >
          Every instance belongs to a client organization.
        </EmptyState>
      ) : (
        <InstanceForm
          mode="create"
          organizations={organizations.map((o) => ({ id: o.id, name: o.name }))}
          defaultOrganizationId={
            organizations.some((o) => o.id === requested) ? requested : organizations.length === 1 ? organizations[0]?.id : undefined
          }
          blueprints={meta.blueprints}
          releases={meta.releases}
          features={meta.features}
          hostingZone={hostingZone}
        />
      )}
    </>
  )
}
