import type { Metadata } from 'next'
import Link from 'next/link'
import { openedxFormMeta } from '@/components/blueprint-meta'
import { InstanceForm } from '@/components/instance-form'
import { valuesFromInstance } from '@/components/instance-values'
import { PageHeader } from '@/components/page-header'
import { Alert } from '@/components/ui/alert'
import { isStaff } from '@/lib/auth/policy'
import { findReadableInstance } from '@/lib/instances/get-instance'
import { toInstance } from '@/lib/instances/to-instance'
import { orNotFound, pageContext } from '../../../_lib/page-actor'

export const metadata: Metadata = { title: 'Edit instance' }

export default async function EditInstancePage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params
  const { db, actor, hostingZone } = await pageContext()
  const instance = toInstance(await orNotFound(findReadableInstance(db, actor, id)), hostingZone)
  const meta = openedxFormMeta()
  const back = (
    <Link href={`/instances/${instance.id}`} className="text-blue-700 hover:underline">
      Back to the instance
    </Link>
  )
  if (!isStaff(actor)) {
    return (
      <>
        <PageHeader title={`Edit ${instance.name}`} />
        <Alert variant="warning" title="Not allowed">
          Only hosting staff can change an instance. {back}
        </Alert>
      </>
    )
  }
  if (instance.status === 'archived') {
    return (
      <>
        <PageHeader title={`Edit ${instance.name}`} />
        <Alert variant="warning" title="This instance is archived">
          An archived instance cannot be edited. {back}
        </Alert>
      </>
    )
  }
  const current = valuesFromInstance(instance, meta.features)
  if (!current) throw new Error('instance could not be read into the form')
  return (
    <>
      <PageHeader title={`Edit ${instance.name}`} description={<span className="font-mono">{instance.hostname}</span>} />
      <InstanceForm
        mode="edit"
        instance={{ id: instance.id, version: current.version, values: current.values }}
        slug={instance.slug}
        releases={meta.releases}
        features={meta.features}
        hostingZone={hostingZone}
      />
    </>
  )
}
