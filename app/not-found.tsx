import type { Metadata } from 'next'
import Link from 'next/link'
import { buttonVariants } from '@/components/ui/button'

export const metadata: Metadata = { title: 'Not found' }

export default function NotFound() {
  return (
    <main className="flex min-h-[60vh] flex-col items-center justify-center px-4 text-center">
      <p className="font-mono text-sm text-neutral-500">404</p>
      <h1 className="mt-1 text-xl font-semibold text-neutral-900">Page not found</h1>
      <p className="mt-2 max-w-md text-sm text-neutral-600">
        There is nothing here, or you do not have access to it. Check the address, or start again from the instance list.
      </p>
      <Link href="/instances" className={buttonVariants({ variant: 'secondary', className: 'mt-5' })}>
        Go to instances
      </Link>
    </main>
  )
}
