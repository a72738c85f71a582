'use client'

import { Trash2 } from 'lucide-react'
import { TypedConfirmDialog } from './typed-confirm-dialog'

/**
 * Destroys an archived instance's databases, vhost and bucket now instead of at the end of the retention period.
 * Like archiving, the slug must be typed again; there is no undo (the final export is what remains).
 */
export function ResourcePurgeDialog({ instanceId, slug, name }: { instanceId: string; slug: string; name: string }) {
  return (
    <TypedConfirmDialog
      slug={slug}
      trigger={
        <>
          <Trash2 aria-hidden /> Destroy data now
        </>
      }
      triggerSize="sm"
      title={`Destroy ${name}’s data now?`}
      description="Its databases, message queue vhost and bucket are deleted with everything in them, and the instance can no longer be restored. Only the final export is kept."
      method="POST"
      path={`/api/v1/instances/${instanceId}/purge`}
      confirmLabel="Destroy data"
      busyLabel="Destroying…"
      fieldId="purge-confirm-slug"
    />
  )
}
