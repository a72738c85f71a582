import type { Metadata } from 'next'
import { redirect } from 'next/navigation'
import { AuthShell } from '@/components/auth-shell'
import { safeNextPath } from '@/components/format'
import { SignInForm } from '@/components/sign-in-form'
import { needsSetup } from '@/lib/setup/setup-code'
import { currentActor, param, requestDb, type SearchParams } from '../(console)/_lib/page-actor'

export const metadata: Metadata = { title: 'Sign in' }

export default async function SignInPage({ searchParams }: { searchParams: SearchParams }) {
  const sp = await searchParams
  const next = safeNextPath(param(sp.next))
  if (await needsSetup(await requestDb())) redirect('/setup')
  if (await currentActor()) redirect(next)
  return (
    <AuthShell title="Sign in" description="Sign in to the hosting console.">
      <SignInForm next={next} defaultEmail={param(sp.email)} />
    </AuthShell>
  )
}
