/** The frame of the pages used before signing in: the product mark and one centred card. */
export function AuthShell({ title, description, children }: { title: string; description?: React.ReactNode; children: React.ReactNode }) {
  return (
    <main className="flex min-h-screen flex-col items-center bg-neutral-100 px-4 pt-[10vh] pb-12">
      <div className="mb-6 flex items-center gap-2 text-lg font-semibold tracking-tight">
        <span aria-hidden className="grid size-7 place-items-center rounded bg-neutral-900 text-sm font-bold text-white">
          T
        </span>
        Tenon
      </div>
      <div className="w-full max-w-sm rounded-lg border border-neutral-200 bg-white p-6 shadow-sm">
        <h1 className="text-lg font-semibold text-neutral-900">{title}</h1>
        {description ? <div className="mt-1 text-sm text-neutral-600">{description}</div> : null}
        <div className="mt-5">{children}</div>
      </div>
    </main>
  )
}
