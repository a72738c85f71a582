import { redirect } from 'next/navigation'
import { needsSetup } from '@/lib/setup/setup-code'
import { currentActor, requestDb } from './(console)/_lib/page-actor'

export default async function Home() {
  if (await needsSetup(await requestDb())) redirect('/setup')
  if (!(await currentActor())) redirect('/sign-in')
  redirect('/instances')
}
