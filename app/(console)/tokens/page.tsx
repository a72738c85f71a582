import type { Metadata } from 'next'
import { ConfirmAction } from '@/components/confirm-action'
import { CreateToken } from '@/components/create-token'
import { formatDateTime } from '@/components/format'
import { PageHeader } from '@/components/page-header'
import { Badge } from '@/components/ui/badge'
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card'
import { Table, TBody, TD, TH, THead, TR } from '@/components/ui/table'
import { isStaff } from '@/lib/auth/policy'
import { listApiTokens } from '@/lib/tokens/api-tokens'
import { pageContext } from '../_lib/page-actor'

export const metadata: Metadata = { title: 'API tokens' }

export default async function TokensPage() {
  const { db, actor } = await pageContext()
  const tokens = await listApiTokens({ db, actor })
  const staff = isStaff(actor)
  return (
    <>
      <PageHeader
        title="API tokens"
        description={
          <>
            Tokens let scripts call the REST API as you: send{' '}
            <code className="rounded bg-neutral-100 px-1 font-mono text-xs">Authorization: Bearer TOKEN</code>.
            {staff ? ' As staff you see everyone’s tokens, so you can revoke a leaked one.' : null}
          </>
        }
      />
      <Card className="mb-6">
        <CardHeader>
          <CardTitle>Create a token</CardTitle>
        </CardHeader>
        <CardContent>
          <CreateToken />
        </CardContent>
      </Card>
      {tokens.length === 0 ? (
        <p className="rounded-lg border border-dashed border-neutral-300 bg-white px-4 py-8 text-center text-sm text-neutral-600">
          No API tokens yet.
        </p>
      ) : (
        <Table aria-label="API tokens">
          <THead>
            <tr>
              <TH>Name</TH>
              <TH>Prefix</TH>
              {staff ? <TH>Owner</TH> : null}
              <TH>Created</TH>
              <TH>Last used</TH>
              <TH>Revoked</TH>
              <TH className="text-right">
                <span className="sr-only">Actions</span>
              </TH>
            </tr>
          </THead>
          <TBody>
            {tokens.map((t) => (
              <TR key={t.id} className={t.revokedAt ? 'text-neutral-500' : undefined}>
                <TD className="font-medium">{t.name}</TD>
                <TD className="font-mono text-xs">{t.prefix}…</TD>
                {staff ? <TD>{t.owner.email}</TD> : null}
                <TD className="tabular-nums">{formatDateTime(t.createdAt)}</TD>
                <TD className="tabular-nums">{t.lastUsedAt ? formatDateTime(t.lastUsedAt) : 'never'}</TD>
                <TD>{t.revokedAt ? <Badge>{formatDateTime(t.revokedAt)}</Badge> : <Badge variant="green">active</Badge>}</TD>
                <TD className="py-1 text-right">
                  {t.revokedAt ? null : (
                    <ConfirmAction
                      trigger="Revoke"
                      title={`Revoke the token “${t.name}”?`}
                      description="Scripts using it stop working at once. This cannot be undone."
                      confirmLabel="Revoke token"
                      path={`/api/v1/tokens/${t.id}`}
                    />
                  )}
                </TD>
              </TR>
            ))}
          </TBody>
        </Table>
      )}
    </>
  )
}
