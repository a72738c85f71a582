'use client'

import Link from 'next/link'
import { Button, buttonVariants } from '@/components/ui/button'

/** Something failed while rendering. The details stay in the server log; the digest lets staff find them. */
export default function ErrorPage({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <main className="flex min-h-[60vh] flex-col items-center justify-center px-4 text-center">
      <h1 className="text-xl font-semibold text-neutral-900">Something went wrong</h1>
      <p className="mt-2 max-w-md text-sm text-neutral-600">
        This page could not be shown. Try again; if it keeps happening, tell your hosting team
        {error.digest ? (
          <>
            {' '}
            and quote the reference <span className="font-mono">{error.digest}</span>
          </>
        ) : null}
        .
      </p>
      <div className="mt-5 flex gap-2">
        <Button onClick={reset}>Try again</Button>
        <Link href="/instances" className={buttonVariants({ variant: 'secondary' })}>
          Go to instances
        </Link>
      </div>
    </main>
  )
}
