import type { Metadata } from 'next'
import Link from 'next/link'
import { AcceptAsNewUser, AcceptAsSignedIn } from '@/components/accept-invitation'
import { AuthShell } from '@/components/auth-shell'
import { formatDateTime } from '@/components/format'
import { Alert } from '@/components/ui/alert'
import { buttonVariants } from '@/components/ui/button'
import { DomainError } from '@/lib/errors'
import { previewInvitation } from '@/lib/organizations/invitations'
import { currentActor, requestDb } from '../../(console)/_lib/page-actor'

export const metadata: Metadata = { title: 'Invitation', referrer: 'no-referrer' }

type Preview = Awaited<ReturnType<typeof previewInvitation>>

async function readInvitation(token: string): Promise<{ ok: true; preview: Preview } | { ok: false; title: string; message: string }> {
  try {
    return { ok: true, preview: await previewInvitation({ db: await requestDb(), token }) }
  } catch (err) {
    if (err instanceof DomainError && err.code === 'gone')
      return { ok: false, title: 'This invitation can no longer be used', message: err.message }
    if (err instanceof DomainError && err.code === 'not_found')
      return {
        ok: false,
        title: 'Invitation not found',
        message: 'The link is not valid. Check that you copied all of it, or ask for a new invitation.',
      }
    throw err
  }
}

export default async function InvitePage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params
  const result = await readInvitation(token)
  if (!result.ok) {
    return (
      <AuthShell title={result.title}>
        <Alert variant="warning">{result.message}</Alert>
        <p className="mt-4 text-sm">
          <Link href="/sign-in" className="text-blue-700 underline-offset-4 hover:underline">
            Go to sign in
          </Link>
        </p>
      </AuthShell>
    )
  }
  const { preview } = result
  const actor = await currentActor()
  const signedInAsInvitee = actor?.email === preview.email
  const next = `/invite/${encodeURIComponent(token)}`
  return (
    <AuthShell
      title={`Join ${preview.organization.name}`}
      description={
        <>
          <span className="font-medium text-neutral-900">{preview.email}</span> is invited to{' '}
          <span className="font-medium text-neutral-900">{preview.organization.name}</span> as{' '}
          <span className="font-medium text-neutral-900">{preview.role}</span>. The link expires {formatDateTime(preview.expiresAt)}.
        </>
      }
    >
      {!preview.accountExists ? (
        <AcceptAsNewUser token={token} email={preview.email} />
      ) : signedInAsInvitee ? (
        <AcceptAsSignedIn token={token} />
      ) : (
        <div className="space-y-3">
          {actor ? (
            <Alert variant="warning">
              You are signed in as {actor.email}. Sign out, then sign in as {preview.email} to accept.
            </Alert>
          ) : null}
          <Link
            className={buttonVariants({ className: 'w-full' })}
            href={`/sign-in?next=${encodeURIComponent(next)}&email=${encodeURIComponent(preview.email)}`}
          >
            Sign in as {preview.email} to accept
          </Link>
        </div>
      )}
    </AuthShell>
  )
}
