import type { Metadata } from 'next'
import { redirect } from 'next/navigation'
import { AuthShell } from '@/components/auth-shell'
import { SetupForm } from '@/components/setup-form'
import { requestDb } from '../(console)/_lib/page-actor'
import { needsSetup } from '@/lib/setup/setup-code'

export const metadata: Metadata = { title: 'Set up' }

export default async function SetupPage() {
  if (!(await needsSetup(await requestDb()))) redirect('/sign-in')
  return (
    <AuthShell
      title="Set up Tenon"
      description={
        <>
          Create the first staff account. To prove you run this server, enter the one-time setup code it printed in its log at start-up
          (look for <span className="font-medium">“First run”</span>). Restarting the server prints a new code.
        </>
      }
    >
      <SetupForm />
    </AuthShell>
  )
}
