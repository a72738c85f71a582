import type { RouteHandler } from './route'
import * as appserver from '@/app/api/v1/appservers/[id]/route'
import * as appserverLog from '@/app/api/v1/appservers/[id]/log/route'
import * as audit from '@/app/api/v1/audit/route'
import * as blueprints from '@/app/api/v1/blueprints/route'
import * as events from '@/app/api/v1/events/route'
import * as instance from '@/app/api/v1/instances/[id]/route'
import * as instances from '@/app/api/v1/instances/route'
import * as deployments from '@/app/api/v1/instances/[id]/deployments/route'
import * as deploymentPreview from '@/app/api/v1/instances/[id]/deployments/preview/route'
import * as cancelDeployment from '@/app/api/v1/instances/[id]/deployments/[deploymentId]/cancel/route'
import * as clusters from '@/app/api/v1/clusters/route'
import * as cluster from '@/app/api/v1/clusters/[id]/route'
import * as clusterTest from '@/app/api/v1/clusters/[id]/test/route'
import * as instanceResources from '@/app/api/v1/instances/[id]/resources/route'
import * as restoreInstance from '@/app/api/v1/instances/[id]/restore/route'
import * as purgeInstance from '@/app/api/v1/instances/[id]/purge/route'
import * as resource from '@/app/api/v1/resources/[id]/route'
import * as resourceRetry from '@/app/api/v1/resources/[id]/retry/route'
import * as resourceRotate from '@/app/api/v1/resources/[id]/rotate/route'
import * as resourceCredentials from '@/app/api/v1/resources/[id]/credentials/route'
import * as loadBalancers from '@/app/api/v1/load-balancers/route'
import * as instanceRouting from '@/app/api/v1/instances/[id]/routing/route'
import * as instanceDomains from '@/app/api/v1/instances/[id]/domains/route'
import * as domain from '@/app/api/v1/domains/[id]/route'
import * as domainCheck from '@/app/api/v1/domains/[id]/check/route'
import * as domainCertificate from '@/app/api/v1/domains/[id]/certificate/route'
import * as certificates from '@/app/api/v1/certificates/route'
import * as certificateRetry from '@/app/api/v1/certificates/[id]/retry/route'
import * as rollouts from '@/app/api/v1/rollouts/route'
import * as rollout from '@/app/api/v1/rollouts/[id]/route'
import * as rolloutItems from '@/app/api/v1/rollouts/[id]/items/route'
import * as rolloutActions from '@/app/api/v1/rollouts/[id]/actions/route'
import * as slugSuggestion from '@/app/api/v1/instances/slug-suggestion/route'
import * as invitation from '@/app/api/v1/invitations/[token]/route'
import * as acceptInvitation from '@/app/api/v1/invitations/[token]/accept/route'
import * as me from '@/app/api/v1/me/route'
import * as organization from '@/app/api/v1/organizations/[id]/route'
import * as invitations from '@/app/api/v1/organizations/[id]/invitations/route'
import * as revokeInvitation from '@/app/api/v1/organizations/[id]/invitations/[invitationId]/route'
import * as members from '@/app/api/v1/organizations/[id]/members/route'
import * as organizations from '@/app/api/v1/organizations/route'
import * as setup from '@/app/api/v1/setup/route'
import * as token from '@/app/api/v1/tokens/[id]/route'
import * as tokens from '@/app/api/v1/tokens/route'

/** Every /api/v1 route module; a test checks that each route file on disk is listed here. */
export const ROUTE_MODULES: Record<string, Partial<Record<'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', RouteHandler>>> = {
  appserver,
  appserverLog,
  audit,
  blueprints,
  deployments,
  deploymentPreview,
  cancelDeployment,
  clusters,
  cluster,
  clusterTest,
  instanceResources,
  restoreInstance,
  purgeInstance,
  resource,
  resourceRetry,
  resourceRotate,
  resourceCredentials,
  loadBalancers,
  instanceRouting,
  instanceDomains,
  domain,
  domainCheck,
  domainCertificate,
  certificates,
  certificateRetry,
  rollouts,
  rollout,
  rolloutItems,
  rolloutActions,
  events,
  instance,
  instances,
  slugSuggestion,
  invitation,
  acceptInvitation,
  me,
  organization,
  invitations,
  revokeInvitation,
  members,
  organizations,
  setup,
  token,
  tokens,
}
