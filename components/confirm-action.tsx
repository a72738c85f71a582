'use client'

import { ConfirmPost } from './confirm-post'

/** A small destructive action (revoke a token, revoke an invitation) behind a confirm dialog: a DELETE. */
export function ConfirmAction(props: { trigger: string; title: string; description: React.ReactNode; confirmLabel: string; path: string }) {
  return (
    <ConfirmPost
      {...props}
      method="DELETE"
      triggerVariant="ghost"
      triggerSize="sm"
      triggerClassName="text-red-700 hover:bg-red-50 hover:text-red-800"
      destructive
    />
  )
}
