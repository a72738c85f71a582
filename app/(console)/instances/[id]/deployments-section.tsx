import Link from 'next/link'
import { ExternalLink, Rocket, Undo2 } from 'lucide-react'
import { ConfirmPost } from '@/components/confirm-post'
import { DeployDialog } from '@/components/deploy-dialog'
import { DeploymentList } from '@/components/deployment-list'
import { Alert } from '@/components/ui/alert'
import { buttonVariants } from '@/components/ui/button'
import { EmptyState } from '@/components/ui/empty-state'
import type { UserActor } from '@/lib/auth/actor'
import { isStaff } from '@/lib/auth/policy'
import { getConfig } from '@/lib/config'
import type { Db } from '@/lib/db/client'
import { listDeployments } from '@/lib/deployments/list-deployments'
import { previewDeployment } from '@/lib/deployments/preview-deployment'
import type { TDeployment } from '@/lib/deployments/schemas'
import { DomainError } from '@/lib/errors'
import { getSecretBox } from '@/lib/secrets'

const PAGE_SIZE = 10

/** The deployment a plain "roll back" brings back: the one replaced last that was once active (as lib/ decides). */
function previousDeployment(deployments: TDeployment[]): TDeployment | undefined {
  return deployments
    .filter((d) => (d.status === 'superseded' || d.status === 'terminated') && d.activatedAt)
    .sort((a, b) => (b.supersededAt ?? '').localeCompare(a.supersededAt ?? ''))[0]
}

async function settingsChanges(db: Db, actor: UserActor, instanceId: string) {
  const config = getConfig()
  try {
    return await previewDeployment({ db, config, box: getSecretBox(config) }, actor, instanceId)
  } catch (err) {
    // Settings that cannot be rendered are the edit form's business; the Deploy dialog says why too.
    if (err instanceof DomainError) return null
    throw err
  }
}

/**
 * The instance page's Deployments section: where the site is served, what is deployed, and (staff) deploy,
 * redeploy, roll back and cancel. Live: the console layout's event stream refreshes it on every state change.
 */
export async function DeploymentsSection({
  db,
  actor,
  instanceId,
  hostname,
  archived,
  before,
}: {
  db: Db
  actor: UserActor
  instanceId: string
  hostname: string
  archived: boolean
  before: number | undefined
}) {
  const staff = isStaff(actor)
  // The newest deployments always: what is active, in progress and previous is decided from them, whatever page is shown.
  const [latest, shown, route, preview] = await Promise.all([
    listDeployments(db, actor, instanceId, { limit: PAGE_SIZE }),
    before !== undefined ? listDeployments(db, actor, instanceId, { limit: PAGE_SIZE, before }) : null,
    // Read after listDeployments has checked the actor may read this instance (the direct router's record).
    db.instanceRoute.findUnique({ where: { instanceId }, select: { url: true } }),
    staff && !archived ? settingsChanges(db, actor, instanceId) : null,
  ])
  const page = shown ?? latest
  const active = latest.items.find((d) => d.status === 'active')
  const previous = previousDeployment(latest.items)
  const canAct = staff && !archived
  const siteUrl = active ? route?.url : null

  return (
    <section className="mt-6 space-y-3" aria-labelledby="deployments-heading">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <div>
          <h2 id="deployments-heading" className="text-sm font-semibold">
            Deployments
          </h2>
          <p className="text-sm text-neutral-600" data-testid="serving">
            {active ? (
              <>
                <span className="font-mono">{hostname}</span> is served by deployment #{active.number}
                {active.release ? (
                  <>
                    {' '}
                    (<span className="font-mono">{active.release}</span>)
                  </>
                ) : null}
                .
              </>
            ) : (
              <>
                <span className="font-mono">{hostname}</span> is not served yet: nothing is deployed.
              </>
            )}
          </p>
        </div>
        <div className="flex flex-wrap items-center gap-2">
          {siteUrl ? (
            <a href={siteUrl} target="_blank" rel="noreferrer" className={buttonVariants({ variant: 'secondary' })} data-testid="open-site">
              Open site <ExternalLink aria-hidden />
              <span className="sr-only">(opens in a new tab)</span>
            </a>
          ) : null}
          {canAct && previous && active ? (
            <ConfirmPost
              trigger={
                <>
                  <Undo2 aria-hidden /> Roll back to previous
                </>
              }
              title={`Roll back to deployment #${previous.number}?`}
              description={
                previous.status === 'superseded'
                  ? `Its appservers are still running: they are health-checked, then take the traffic back from deployment #${active.number}.`
                  : `Its appservers are gone: new ones are built from its frozen configuration, then take the traffic from deployment #${active.number}.`
              }
              confirmLabel="Roll back now"
              path={`/api/v1/instances/${instanceId}/deployments`}
              body={{ action: 'rollback' }}
            />
          ) : null}
          {canAct ? <DeployDialog instanceId={instanceId} redeploy={latest.items.length > 0} /> : null}
        </div>
      </div>

      {canAct && preview && preview.activeDeployment !== null && preview.changes.length > 0 ? (
        <div data-testid="settings-changed">
          <Alert variant="warning" title={`Settings changed since deployment #${preview.activeDeployment} — redeploy to apply`}>
            <div className="mt-1 flex flex-wrap items-center gap-3">
              <span>
                {preview.changes.length === 1 ? '1 value differs' : `${preview.changes.length} values differ`} from what the appservers run.
              </span>
              <DeployDialog instanceId={instanceId} redeploy />
            </div>
          </Alert>
        </div>
      ) : null}

      {page.items.length ? (
        <>
          <DeploymentList instanceId={instanceId} deployments={page.items} staff={staff} />
          {shown || page.nextBefore ? (
            <nav aria-label="Deployment pages" className="flex justify-end gap-2 text-sm">
              {shown ? (
                <Link
                  href={`/instances/${instanceId}#deployments-heading`}
                  className={buttonVariants({ variant: 'secondary', size: 'sm' })}
                >
                  Newest deployments
                </Link>
              ) : null}
              {page.nextBefore ? (
                <Link
                  href={`/instances/${instanceId}?before=${page.nextBefore}#deployments-heading`}
                  className={buttonVariants({ variant: 'secondary', size: 'sm' })}
                >
                  Older deployments
                </Link>
              ) : null}
            </nav>
          ) : null}
        </>
      ) : (
        <EmptyState icon={<Rocket aria-hidden />} title="Not deployed yet">
          {canAct
            ? 'Deploy builds appservers from the current settings and sends the site’s traffic to them once they are healthy.'
            : archived
              ? 'This instance was archived before it was deployed.'
              : 'The hosting team has not deployed this instance yet. Its deployments will appear here.'}
        </EmptyState>
      )}
    </section>
  )
}
