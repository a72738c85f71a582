'use client'

import { Rocket } from 'lucide-react'
import { useRouter } from 'next/navigation'
import { useState } from 'react'
import { api } from './api-client'
import { ZDeploymentPreview, ZDeploymentStarted, type TDeploymentPreview } from './api-schemas'
import { formatValue } from './format'
import { Alert } from './ui/alert'
import { Badge } from './ui/badge'
import { Button } from './ui/button'
import { Dialog, DialogClose, DialogContent, DialogDescription, DialogFooter, DialogTitle, DialogTrigger } from './ui/dialog'
import { Table, TBody, TD, TH, THead, TR } from './ui/table'

type Preview = { state: 'loading' } | { state: 'failed'; message: string } | { state: 'ready'; data: TDeploymentPreview }

const KIND_VARIANT = { added: 'green', removed: 'red', changed: 'amber' } as const

function Value({ present, value }: { present: boolean; value: unknown }) {
  if (!present) return <span className="text-neutral-400">—</span>
  return <span className="font-mono text-xs break-all">{formatValue(value)}</span>
}

/** What the new deployment changes, as a table; secret values arrive masked from the server. */
function ChangesTable({ preview }: { preview: TDeploymentPreview }) {
  return (
    <div className="max-h-[45vh] overflow-auto">
      <Table aria-label="Changes">
        <THead className="sticky top-0">
          <tr>
            <TH>Path</TH>
            <TH>Before</TH>
            <TH>After</TH>
          </tr>
        </THead>
        <TBody>
          {preview.changes.map((c) => (
            <TR key={c.path}>
              <TD className="font-mono text-xs break-all">
                {c.path}{' '}
                <Badge variant={KIND_VARIANT[c.kind]} className="ml-1 align-middle">
                  {c.kind}
                </Badge>
              </TD>
              <TD>
                <Value present={c.kind !== 'added'} value={c.before} />
              </TD>
              <TD>
                <Value present={c.kind !== 'removed'} value={c.after} />
              </TD>
            </TR>
          ))}
        </TBody>
      </Table>
    </div>
  )
}

/**
 * Deploy (the first time) or Redeploy: opens with what will change compared with the active deployment, then
 * starts the deployment. A deployment already in progress is refused by the API (409) and said so here.
 */
export function DeployDialog({ instanceId, redeploy }: { instanceId: string; redeploy: boolean }) {
  const router = useRouter()
  const [open, setOpen] = useState(false)
  const [preview, setPreview] = useState<Preview>({ state: 'loading' })
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)

  const load = async () => {
    setPreview({ state: 'loading' })
    const result = await api('GET', `/api/v1/instances/${instanceId}/deployments/preview`, undefined, ZDeploymentPreview)
    setPreview(result.ok ? { state: 'ready', data: result.data } : { state: 'failed', message: result.error.message })
  }

  const deploy = async () => {
    setBusy(true)
    setError(null)
    const result = await api('POST', `/api/v1/instances/${instanceId}/deployments`, { action: 'deploy' }, ZDeploymentStarted)
    setBusy(false)
    if (!result.ok) return setError(result.error.message)
    setOpen(false)
    router.refresh()
  }

  const title = redeploy ? 'Redeploy' : 'Deploy'
  return (
    <Dialog
      open={open}
      onOpenChange={(o) => {
        setOpen(o)
        setError(null)
        if (o) void load()
      }}
    >
      <DialogTrigger asChild>
        <Button variant={redeploy ? 'secondary' : 'default'}>
          <Rocket aria-hidden /> {title}
        </Button>
      </DialogTrigger>
      <DialogContent className="max-w-3xl">
        <DialogTitle>{title}</DialogTitle>
        <DialogDescription>
          New appservers are built from the settings as they are now. Traffic moves to them once every one is healthy; until then the
          current ones keep serving.
        </DialogDescription>
        <div className="mt-4 space-y-3" aria-live="polite" aria-busy={preview.state === 'loading'}>
          {preview.state === 'loading' ? (
            <p className="text-sm text-neutral-500">Comparing with the active deployment…</p>
          ) : preview.state === 'failed' ? (
            <Alert variant="error" title="Could not compute the changes">
              {preview.message}
            </Alert>
          ) : preview.data.activeDeployment === null ? (
            <>
              <p className="text-sm text-neutral-700">
                Nothing is deployed yet. The first deployment freezes this configuration ({preview.data.changes.length} values):
              </p>
              <ChangesTable preview={preview.data} />
            </>
          ) : preview.data.changes.length === 0 ? (
            <Alert variant="info" title={`No changes since deployment #${preview.data.activeDeployment}`} data-testid="no-changes">
              Redeploying builds fresh appservers with the same configuration.
            </Alert>
          ) : (
            <>
              <p className="text-sm text-neutral-700">
                {preview.data.changes.length === 1 ? '1 change' : `${preview.data.changes.length} changes`} compared with deployment #
                {preview.data.activeDeployment}:
              </p>
              <ChangesTable preview={preview.data} />
            </>
          )}
          {error ? <Alert variant="error">{error}</Alert> : null}
        </div>
        <DialogFooter>
          <DialogClose asChild>
            <Button variant="secondary">Cancel</Button>
          </DialogClose>
          <Button onClick={deploy} disabled={busy || preview.state === 'loading'}>
            {busy ? 'Starting…' : 'Start deployment'}
          </Button>
        </DialogFooter>
      </DialogContent>
    </Dialog>
  )
}
