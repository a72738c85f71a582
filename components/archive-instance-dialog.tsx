'use client'

import { Archive } from 'lucide-react'
import { TypedConfirmDialog } from './typed-confirm-dialog'

/** Archiving asks for the slug to be typed again; the button stays disabled until it matches. */
export function ArchiveInstanceDialog({ id, slug, name }: { id: string; slug: string; name: string }) {
  return (
    <TypedConfirmDialog
      slug={slug}
      trigger={
        <>
          <Archive aria-hidden /> Archive
        </>
      }
      title={`Archive ${name}?`}
      description="The instance stops being served and can no longer be edited. Its databases are exported, and its data is kept for the retention period, during which it can be restored. Its audit history is kept."
      method="DELETE"
      path={`/api/v1/instances/${id}`}
      confirmLabel="Archive instance"
      busyLabel="Archiving…"
      fieldId="confirm-slug"
    />
  )
}
