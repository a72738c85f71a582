/**
 * Secrets at rest, read the way an attacker with a database dump would: raw rows, no Prisma models. After a
 * real deployment (local driver) no column holds a plaintext secret value, and the readable configuration
 * column holds none of the secret keys.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { systemActor } from '@/lib/auth/actor'
import { createDeployment } from '@/lib/deployments/create-deployment'
import { openJson } from '@/lib/secrets'
import { startDeployer, type Deployer } from '../support/deployer'
import { waitFor } from './helpers'

const staff = systemActor('tests')
const SMTP_PASSWORD = `smtp-pw-${Date.now().toString(36)}-do-not-leak`
const API_TOKEN = `api-token-${Date.now().toString(36)}-do-not-leak`

let env: Deployer
let instanceId: string
let deploymentId: string

beforeAll(async () => {
  env = await startDeployer()
  // Extra settings with secret-looking keys, nested and top level: they are secrets of the deployment too.
  const instance = await env.createInstance({
    appserverCount: 2,
    extraSettings: `SMTP:\n  HOST: smtp.example.test\n  PASSWORD: ${SMTP_PASSWORD}\nPARTNER_API_TOKEN: ${API_TOKEN}\n`,
  })
  instanceId = instance.id
  const d = await createDeployment(env.orchestrator, { actor: staff, instanceId })
  deploymentId = d.id
  await waitFor(
    'the deployment to be active',
    async () => {
      const row = await env.db.deployment.findUniqueOrThrow({ where: { id: deploymentId } })
      if (row.status === 'failed') throw new Error(`deployment failed: ${row.error}`)
      return row.status === 'active'
    },
    30_000,
  )
}, 60_000)

afterAll(async () => {
  await env?.stop()
})

/** Strings that must not appear: each value, and each long line of a multi-line value (a PEM body). */
function needles(values: unknown[]): string[] {
  const out = new Set<string>()
  for (const v of values) {
    if (typeof v !== 'string' || v.length < 8) continue
    out.add(v)
    for (const line of v.split('\n')) if (line.length >= 16 && !line.startsWith('-----')) out.add(line)
  }
  return [...out]
}

function expectNoneIn(where: string, texts: (string | null)[], secrets: string[]) {
  for (const text of texts) {
    if (text === null) continue
    for (const secret of secrets) {
      if (text.includes(secret)) throw new Error(`${where} contains a plaintext secret (${secret.slice(0, 6)}…)`)
    }
  }
}

describe('secrets at rest after a deployment', () => {
  it('no raw column holds a plaintext secret value', async () => {
    const [instance] = await env.db.$queryRaw<{ secrets: string | null; extra_settings: string }[]>`
      SELECT secrets, extra_settings FROM instances WHERE id = ${instanceId}::uuid`
    const deployments = await env.db.$queryRaw<{ configuration: string; configuration_secrets: string; secret_keys: string[] }[]>`
      SELECT configuration::text AS configuration, configuration_secrets, secret_keys FROM deployments WHERE instance_id = ${instanceId}::uuid`
    const appservers = await env.db.$queryRaw<
      { state: string; vm_secrets: string | null; vm_facts: string | null; error: string | null }[]
    >`
      SELECT state::text AS state, vm_secrets, vm_facts::text AS vm_facts, error FROM appservers WHERE instance_id = ${instanceId}::uuid`
    const lines = await env.db.$queryRaw<{ message: string }[]>`
      SELECT l.message FROM appserver_log_lines l JOIN appservers a ON a.id = l.appserver_id WHERE a.instance_id = ${instanceId}::uuid`
    const audit = await env.db.$queryRaw<{ diff: string }[]>`SELECT diff::text AS diff FROM audit_entries WHERE target_id = ${instanceId}`

    expect(instance?.secrets).toMatch(/^v1\./)
    expect(deployments).toHaveLength(1)
    // a real deployment: both appservers got their configuration, secrets included, and run
    expect(appservers.map((a) => a.state)).toEqual(['active', 'active'])
    expect(lines.length).toBeGreaterThanOrEqual(10)

    // The values to look for, decrypted through the secret box.
    const instanceSecrets = openJson<Record<string, string>>(env.orchestrator.box, instance!.secrets!)
    const deploymentSecrets = openJson<Record<string, unknown>>(env.orchestrator.box, deployments[0]!.configuration_secrets)
    expect(Object.keys(instanceSecrets)).toEqual(expect.arrayContaining(['OPENEDX_SECRET_KEY', 'JWT_RSA_PRIVATE_KEY']))
    expect(deploymentSecrets).toMatchObject({ 'SMTP.PASSWORD': SMTP_PASSWORD, PARTNER_API_TOKEN: API_TOKEN })
    const secrets = needles([...Object.values(instanceSecrets), ...Object.values(deploymentSecrets)])
    expect(secrets.length).toBeGreaterThan(8)

    expectNoneIn('instances.secrets', [instance!.secrets], secrets)
    expectNoneIn('deployments.configuration_secrets', [deployments[0]!.configuration_secrets], secrets)
    expectNoneIn('deployments.configuration', [deployments[0]!.configuration], secrets)
    expectNoneIn(
      'appservers.vm_secrets',
      appservers.map((a) => a.vm_secrets),
      secrets,
    )
    expectNoneIn(
      'appservers.vm_facts',
      appservers.map((a) => a.vm_facts),
      secrets,
    )
    expectNoneIn(
      'appservers.error',
      appservers.map((a) => a.error),
      secrets,
    )
    expectNoneIn(
      'appserver_log_lines.message',
      lines.map((l) => l.message),
      secrets,
    )
    // The generated secrets never reach the audit log (the extra settings text is the staff's own input, audited as typed).
    expectNoneIn(
      'audit_entries.diff',
      audit.map((a) => a.diff),
      needles(Object.values(instanceSecrets)),
    )

    for (const a of appservers) if (a.vm_secrets !== null) expect(a.vm_secrets).toMatch(/^v1\./)
  })

  it('the configuration column holds none of the secret keys, at any depth', async () => {
    const d = await env.db.deployment.findUniqueOrThrow({ where: { id: deploymentId } })
    expect(d.secretKeys).toEqual(
      expect.arrayContaining(['OPENEDX_SECRET_KEY', 'JWT_RSA_PRIVATE_KEY', 'SMTP.PASSWORD', 'PARTNER_API_TOKEN']),
    )
    const configuration: unknown = d.configuration
    for (const key of d.secretKeys) {
      const path = key.split('.')
      let node: unknown = configuration
      for (const part of path.slice(0, -1)) node = node !== null && typeof node === 'object' ? Reflect.get(node, part) : undefined
      const present = node !== null && typeof node === 'object' && Object.hasOwn(node, path[path.length - 1]!)
      expect(present, `configuration holds secret key ${key}`).toBe(false)
    }
    // what is not secret is there, readable
    expect(d.configuration).toMatchObject({ SMTP: { HOST: 'smtp.example.test' }, PLATFORM_NAME: expect.any(String) })
  })
})
