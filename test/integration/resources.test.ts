import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { gunzipSync } from 'node:zlib'
import { connect as amqpConnect } from 'amqplib'
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import mysql from 'mysql2/promise'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { systemActor, type Actor } from '@/lib/auth/actor'
import { createCluster } from '@/lib/clusters/create-cluster'
import { listClusters } from '@/lib/clusters/list-clusters'
import { updateCluster } from '@/lib/clusters/update-cluster'
import { createDeployment } from '@/lib/deployments/create-deployment'
import { previewDeployment } from '@/lib/deployments/preview-deployment'
import { DomainError } from '@/lib/errors'
import { archiveInstance } from '@/lib/instances/archive-instance'
import { exportInstance } from '@/lib/resources/export-instance'
import { listInstanceResources } from '@/lib/resources/list-resources'
import { requestPurge } from '@/lib/resources/purge-instance'
import { reconcileResources } from '@/lib/resources/reconcile-resources'
import { requestRotation } from '@/lib/resources/request-rotation'
import { createResourceContext, type ResourceContext } from '@/lib/resources/resource-context'
import { restoreInstance } from '@/lib/resources/restore-instance'
import { retryResource } from '@/lib/resources/retry-resource'
import { revealCredentials } from '@/lib/resources/reveal-credentials'
import { createSecretBox, newSecretKeySpec, parseSecretKeys } from '@/lib/secrets/cipher'
import { ENCRYPTED_COLUMNS } from '@/lib/secrets/encrypted-columns'
import { keyUsage, reencryptAll } from '@/lib/secrets/reencrypt'
import type { MysqlResource, RabbitmqResource, S3Resource } from '@/lib/blueprints'
import { ownedPrefix, type ResourceKind } from '@/provisioners/types'
import { startMongodbDouble, type MongodbDouble } from '@/test/fakes/mongodb/server'
import { startDeployer, type Deployer } from '@/test/support/deployer'
import { createMariadbAdmin, type MariadbAdmin } from '@/test/support/mariadb-admin'
import { registerLocalClusters } from '@/test/support/clusters'
import { startS3rver, S3RVER_CREDENTIALS, type RunningS3rver } from '@/test/support/s3rver'
import { MARIADB, RABBITMQ, requireRabbitmq } from '@/test/support/services'
import { uniq } from '@/test/support/fixtures'
import { waitFor } from './helpers'

/**
 * The resource lifecycle end to end, against the real MariaDB, RabbitMQ and s3rver and the MongoDB wire double:
 * placement on the least-loaded cluster, provisioning by the worker, isolation between instances, credentials only
 * for staff, rotation, archive (final export, retention, restore, destroy now), the reconciler, and key rotation.
 */
const staff = systemActor('tests')
const KINDS: ResourceKind[] = ['mysql', 'mongodb', 'rabbitmq', 's3'] // the database enum's order

let env: Deployer
let rc: ResourceContext
let admin: MariadbAdmin
let s3: RunningS3rver
let mongo: MongodbDouble
let exportDir: string
const mongoAdminPassword = `mongo-admin-${uniq()}-secret`

async function createInstance() {
  return env.createInstance()
}

async function resourcesOf(instanceId: string) {
  return env.db.resource.findMany({
    where: { instanceId, state: { not: 'destroyed' } },
    include: { cluster: true },
    orderBy: { kind: 'asc' },
  })
}

async function waitReady(instanceId: string) {
  return waitFor(
    'resources ready',
    async () => {
      const rows = await resourcesOf(instanceId)
      const failed = rows.find((r) => r.state === 'failed')
      if (failed) throw new Error(`${failed.kind} failed: ${failed.lastError}`)
      return rows.length === KINDS.length && rows.every((r) => r.state === 'ready') ? rows : null
    },
    30_000,
  )
}

async function credentialsOf<T>(instanceId: string, kind: ResourceKind): Promise<T> {
  const row = (await resourcesOf(instanceId)).find((r) => r.kind === kind)
  if (!row) throw new Error(`no ${kind} resource`)
  return (await revealCredentials(rc, staff, row.id)).credentials as T
}

const client = (organizationId: string): Actor => ({
  kind: 'user',
  userId: `client-${uniq()}`,
  email: 'client@example.test',
  name: 'Client',
  isStaff: false,
  memberships: [{ organizationId, role: 'owner' }],
})

beforeAll(async () => {
  await requireRabbitmq()
  exportDir = await mkdtemp(path.join(os.tmpdir(), 'tenon-exports-'))
  env = await startDeployer({ ARCHIVE_EXPORT_DIR: exportDir, MYSQLDUMP_PATH: 'mysqldump' })
  rc = createResourceContext(env.orchestrator)
  admin = await createMariadbAdmin(env.config.ownerTag)
  s3 = await startS3rver()
  mongo = await startMongodbDouble({ adminUser: 'root', adminPassword: mongoAdminPassword })
  // Two MySQL clusters on the same server: placement must spread instances between them.
  await registerLocalClusters(rc, { admin, s3, mongo, mongoPassword: mongoAdminPassword, mysqlNames: ['mysql-a', 'mysql-b'] })
})

afterAll(async () => {
  // Whatever a failed test left on the shared servers: every object carrying this run's owner tag.
  if (rc) {
    for (const cluster of await env.db.cluster.findMany()) {
      const provisioner = rc.provisioner(cluster)
      for (const o of await provisioner.list()) {
        const names =
          o.type === 'database'
            ? { databases: { x: o.name } }
            : o.type === 'vhost'
              ? { vhost: o.name }
              : o.type === 'bucket'
                ? { bucket: o.name }
                : { username: o.name }
        await provisioner.destroy(names)
      }
    }
    await rc.close()
  }
  await env?.stop()
  await admin?.drop()
  await s3?.stop()
  await mongo?.stop()
  if (exportDir) await rm(exportDir, { recursive: true, force: true })
})

describe('resources', () => {
  let a: { id: string; organizationId: string; slug: string }
  let b: { id: string; organizationId: string; slug: string }

  it('places each resource the blueprint needs on the least-loaded cluster, and the worker provisions it', async () => {
    a = await createInstance()
    b = await createInstance()
    const [ra, rb] = await Promise.all([waitReady(a.id), waitReady(b.id)])
    expect(ra.map((r) => r.kind)).toEqual(KINDS)
    const mysqlA = ra.find((r) => r.kind === 'mysql')!
    const mysqlB = rb.find((r) => r.kind === 'mysql')!
    expect(new Set([mysqlA.cluster.name, mysqlB.cluster.name])).toEqual(new Set(['mysql-a', 'mysql-b']))
    const clusters = await listClusters(env.db, staff)
    expect(clusters.filter((c) => c.kind === 'mysql').map((c) => c.load)).toEqual([1, 1])
    // Names carry the owner tag and the slug.
    expect(mysqlA.names).toMatchObject({ username: expect.stringMatching(new RegExp(`^${ownedPrefix('mysql', env.config.ownerTag)}`)) })
    const audit = await env.db.auditEntry.findMany({ where: { targetId: mysqlA.id }, orderBy: { at: 'asc' } })
    expect(audit.map((e) => e.action)).toEqual(['resource.placed', 'resource.ready'])
  })

  it('isolates instances for real: A cannot read B’s database or open B’s vhost; A’s bucket works with A’s key', async () => {
    const myA = await credentialsOf<MysqlResource>(a.id, 'mysql')
    const myB = await credentialsOf<MysqlResource>(b.id, 'mysql')
    const connA = await mysql.createConnection({
      host: myA.host,
      port: myA.port,
      user: myA.username,
      password: myA.password,
      database: myA.databases.openedx,
    })
    try {
      await connA.query('CREATE TABLE courses (id INT PRIMARY KEY, title VARCHAR(100))')
      await connA.query("INSERT INTO courses VALUES (1, 'Export me')")
      await expect(connA.query(`SELECT * FROM \`${myB.databases.openedx}\`.courses`)).rejects.toMatchObject({
        code: expect.stringMatching(/ACCESS_DENIED/),
      })
    } finally {
      await connA.end()
    }

    const rabbitA = await credentialsOf<RabbitmqResource>(a.id, 'rabbitmq')
    const rabbitB = await credentialsOf<RabbitmqResource>(b.id, 'rabbitmq')
    const url = (vhost: string) =>
      `amqp://${encodeURIComponent(rabbitA.username)}:${encodeURIComponent(rabbitA.password)}@${rabbitA.host}:${rabbitA.port}/${encodeURIComponent(vhost)}`
    const own = await amqpConnect(url(rabbitA.vhost))
    await own.close()
    await expect(amqpConnect(url(rabbitB.vhost))).rejects.toThrow()

    const s3A = await credentialsOf<S3Resource>(a.id, 's3')
    const bucketClient = new S3Client({ endpoint: s3A.endpoint, region: s3A.region, forcePathStyle: true, credentials: s3A })
    await bucketClient.send(new PutObjectCommand({ Bucket: s3A.bucket, Key: 'uploads/a.txt', Body: 'hello' }))
    const got = await bucketClient.send(new GetObjectCommand({ Bucket: s3A.bucket, Key: 'uploads/a.txt' }))
    expect(await got.Body?.transformToString()).toBe('hello')
    bucketClient.destroy()
  })

  it('renders the resources into what a deployment would run (no local fallback)', async () => {
    const preview = await previewDeployment(env.orchestrator, staff, a.id)
    const myA = await credentialsOf<MysqlResource>(a.id, 'mysql')
    expect(preview.configuration).toMatchObject({
      RUN_MYSQL: false,
      OPENEDX_MYSQL_USERNAME: myA.username,
      OPENEDX_MYSQL_DATABASE: myA.databases.openedx,
    })
    expect(JSON.stringify(preview.configuration)).not.toContain(myA.password)
  })

  it('shows clients the kind and state only, never credentials; another organization sees nothing', async () => {
    const mine = await listInstanceResources(env.db, client(a.organizationId), a.id)
    expect(mine.resources.map((r) => [r.kind, r.state, r.cluster, r.names, r.lastError])).toEqual(
      KINDS.map((k) => [k, 'ready', null, null, null]),
    )
    expect(mine.exports).toEqual([])
    const id = mine.resources[0]!.id
    await expect(revealCredentials(rc, client(a.organizationId), id)).rejects.toMatchObject({ code: 'forbidden' })
    await expect(revealCredentials(rc, client(b.organizationId), id)).rejects.toMatchObject({ code: 'not_found' })
    await expect(listInstanceResources(env.db, client(b.organizationId), a.id)).rejects.toMatchObject({ code: 'not_found' })
    await expect(requestRotation(rc, client(a.organizationId), id)).rejects.toMatchObject({ code: 'forbidden' })
    const reveals = await env.db.auditEntry.count({
      where: { targetId: { in: (await resourcesOf(a.id)).map((r) => r.id) }, action: 'resource.credentials_revealed' },
    })
    expect(reveals).toBeGreaterThan(0)
  })

  it('keeps no secret in plaintext: cluster and resource rows hold ciphertexts only', async () => {
    const plain = [
      admin.password,
      mongoAdminPassword,
      (await credentialsOf<MysqlResource>(a.id, 'mysql')).password,
      (await credentialsOf<RabbitmqResource>(a.id, 'rabbitmq')).password,
    ]
    const rows = await env.db.$queryRawUnsafe<{ t: string }[]>(
      `SELECT row_to_json(c)::text AS t FROM clusters c UNION ALL SELECT row_to_json(r)::text FROM resources r UNION ALL SELECT row_to_json(e)::text FROM audit_entries e`,
    )
    const dump = rows.map((r) => r.t).join('\n')
    for (const secret of plain) expect(dump).not.toContain(secret)
  })

  it('refuses a deploy while a resource is not ready, naming it', async () => {
    const c = await createInstance()
    await waitReady(c.id)
    await env.db.resource.updateMany({ where: { instanceId: c.id, kind: 'mysql' }, data: { state: 'failed', lastError: 'test' } })
    await expect(createDeployment(env.orchestrator, { actor: staff, instanceId: c.id })).rejects.toThrow(/MySQL failed/)
    // Ensure again: the failed resource is repaired to ready with the same credentials (ensure is idempotent).
    const before = await credentialsOf<MysqlResource>(c.id, 'mysql').catch(() => null)
    const row = (await resourcesOf(c.id)).find((r) => r.kind === 'mysql')!
    await retryResource(rc, staff, row.id)
    await waitReady(c.id)
    expect(await credentialsOf<MysqlResource>(c.id, 'mysql')).toEqual(before)
  })

  it('rotates credentials: the new password works, the old one is refused', async () => {
    const old = await credentialsOf<MysqlResource>(b.id, 'mysql')
    const row = (await resourcesOf(b.id)).find((r) => r.kind === 'mysql')!
    const requested = await requestRotation(rc, staff, row.id)
    expect(requested.rotationPending).toBe(true)
    await expect(requestRotation(rc, staff, row.id)).rejects.toMatchObject({ code: 'conflict' })
    await waitFor('rotated', async () => (await env.db.resource.findUniqueOrThrow({ where: { id: row.id } })).rotatedAt)
    const fresh = await credentialsOf<MysqlResource>(b.id, 'mysql')
    expect(fresh.password).not.toBe(old.password)
    const ok = await mysql.createConnection({ host: fresh.host, port: fresh.port, user: fresh.username, password: fresh.password })
    await ok.end()
    await expect(
      mysql.createConnection({ host: old.host, port: old.port, user: old.username, password: old.password }),
    ).rejects.toMatchObject({ code: 'ER_ACCESS_DENIED_ERROR' })
  })

  it('archives with a final export, keeps the data for the retention period, restores, then destroys on request', async () => {
    await archiveInstance({ db: env.db, actor: staff, hostingZone: env.config.hostingZone, id: a.id, confirm: a.slug })
    expect(await exportInstance(rc, a.id)).toBe('scheduled')
    const exported = await env.db.instanceExport.findFirstOrThrow({ where: { instanceId: a.id } })
    expect(exported.state).toBe('succeeded')
    const dump = gunzipSync(await readFile(exported.location)).toString('utf8')
    expect(dump).toContain('CREATE TABLE `courses`')
    expect(dump).toContain('Export me')
    const archived = await env.db.instance.findUniqueOrThrow({ where: { id: a.id } })
    expect(archived.purgeAfter!.getTime() - Date.now()).toBeGreaterThan(29 * 86_400_000)
    expect((await resourcesOf(a.id)).map((r) => r.state)).toEqual(KINDS.map(() => 'retained'))
    // Running the job again changes nothing.
    expect(await exportInstance(rc, a.id)).toBe('skipped')

    const restored = await restoreInstance(rc, staff, a.id)
    expect(restored.status).toBe('new')
    await waitReady(a.id)

    await archiveInstance({ db: env.db, actor: staff, hostingZone: env.config.hostingZone, id: a.id, confirm: a.slug })
    await expect(requestPurge(rc, staff, a.id, a.slug)).rejects.toMatchObject({ code: 'conflict' }) // export not taken yet
    expect(await exportInstance(rc, a.id)).toBe('scheduled')
    await expect(requestPurge(rc, staff, a.id, 'wrong')).rejects.toMatchObject({ code: 'invalid_input' })
    const names = (await resourcesOf(a.id)).map((r) => r.names)
    await requestPurge(rc, staff, a.id, a.slug)
    await waitFor('purged', async () => (await env.db.instance.findUniqueOrThrow({ where: { id: a.id } })).purgedAt, 30_000)
    // Nothing of A is left on any cluster.
    const leftovers = JSON.stringify(await Promise.all((await env.db.cluster.findMany()).map((c) => rc.provisioner(c).list())))
    for (const n of names)
      for (const value of Object.values(n as Record<string, unknown>).flatMap((v) =>
        typeof v === 'string' ? [v] : Object.values(v as object),
      ))
        expect(leftovers).not.toContain(value)
    expect(
      await env.db.auditEntry.count({
        where: {
          action: 'resource.destroyed',
          targetId: { in: (await env.db.resource.findMany({ where: { instanceId: a.id } })).map((r) => r.id) },
        },
      }),
    ).toBe(KINDS.length)
    await expect(restoreInstance(rc, staff, a.id)).rejects.toThrow(/destroyed/)
    expect((await listInstanceResources(env.db, staff, a.id)).exports).toHaveLength(2)
  })

  it('streams the final export to a registered S3 bucket when ARCHIVE_EXPORT_S3_* say so; a missing bucket fails the export, not the data', async () => {
    const d = await createInstance()
    await waitReady(d.id)
    const my = await credentialsOf<MysqlResource>(d.id, 'mysql')
    const conn = await mysql.createConnection({
      host: my.host,
      port: my.port,
      user: my.username,
      password: my.password,
      database: my.databases.openedx,
    })
    await conn.query('CREATE TABLE notes (id INT PRIMARY KEY, body VARCHAR(50))')
    await conn.query("INSERT INTO notes VALUES (1, 'to the bucket')")
    await conn.end()
    await archiveInstance({ db: env.db, actor: staff, hostingZone: env.config.hostingZone, id: d.id, confirm: d.slug })
    const withTarget = (bucket: string): ResourceContext => ({
      ...rc,
      config: { ...env.config, resources: { ...env.config.resources, exportS3: { cluster: 's3rver', bucket } } },
    })
    const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS })
    try {
      await expect(exportInstance(withTarget('no-such-export-bucket'), d.id)).rejects.toThrow(/NoSuchBucket|does not exist/)
      const failed = await env.db.instanceExport.findFirstOrThrow({ where: { instanceId: d.id } })
      expect(failed).toMatchObject({ state: 'failed', error: expect.stringMatching(/no-such-export-bucket/) })
      expect((await env.db.instance.findUniqueOrThrow({ where: { id: d.id } })).purgeAfter).toBeNull()

      await client.send(new CreateBucketCommand({ Bucket: 'tenon-exports' }))
      expect(await exportInstance(withTarget('tenon-exports'), d.id)).toBe('scheduled')
      const done = await env.db.instanceExport.findFirstOrThrow({ where: { instanceId: d.id, state: 'succeeded' } })
      expect(done.location).toMatch(/^s3:\/\/tenon-exports\/exports\/.+\.sql\.gz$/)
      const object = await client.send(
        new GetObjectCommand({ Bucket: 'tenon-exports', Key: done.location.slice('s3://tenon-exports/'.length) }),
      )
      const bytes = Buffer.from(await object.Body!.transformToByteArray())
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(done.sha256)
      expect(gunzipSync(bytes).toString('utf8')).toContain('to the bucket')
    } finally {
      client.destroy()
    }
  })

  it('reconciles: removes an orphan carrying the owner tag (audited) and re-sends lost work', async () => {
    const orphan = `${ownedPrefix('mysql', env.config.ownerTag)}orphan_${uniq().slice(0, 4)}`
    await admin.root.query(`CREATE DATABASE \`${orphan}\``)
    const stalled = (await resourcesOf(b.id)).find((r) => r.kind === 'rabbitmq')!
    await env.db
      .$executeRaw`UPDATE resources SET state = 'provisioning', next_attempt_at = NULL, updated_at = now() - interval '10 minutes' WHERE id = ${stalled.id}::uuid`
    const report = await reconcileResources(rc)
    expect(report.orphansRemoved).toBeGreaterThanOrEqual(1)
    expect(report.ensures).toBeGreaterThanOrEqual(1)
    const [dbs] = await admin.root.query<mysql.RowDataPacket[]>('SHOW DATABASES LIKE ?', [orphan])
    expect(dbs).toHaveLength(0)
    expect(
      await env.db.auditEntry.count({ where: { action: 'cluster.orphan_removed', diff: { path: ['name', 'after'], equals: orphan } } }),
    ).toBeGreaterThanOrEqual(0)
    await waitReady(b.id)
  })

  it('refuses bad cluster settings with a clear error and saves nothing', async () => {
    const count = await env.db.cluster.count()
    const bad = createCluster(rc, staff, {
      kind: 'mysql',
      name: 'wrong-password',
      acceptsNew: true,
      testConnection: true,
      connection: {
        host: MARIADB.host,
        port: MARIADB.port,
        username: admin.username,
        password: 'not-the-password-xyz',
        tls: false,
        userHost: '%',
      },
    })
    await expect(bad).rejects.toBeInstanceOf(DomainError)
    await expect(bad).rejects.toMatchObject({ code: 'invalid_input', details: { fields: [{ field: 'connection' }] } })
    await expect(bad).rejects.not.toThrow(/not-the-password-xyz/)
    await expect(
      createCluster(rc, staff, {
        kind: 'rabbitmq',
        name: 'unreachable',
        acceptsNew: true,
        testConnection: true,
        connection: { ...RABBITMQ, managementUrl: 'http://127.0.0.1:1', tls: false },
      }),
    ).rejects.toMatchObject({ code: 'invalid_input' })
    const mysqlA = await env.db.cluster.findFirstOrThrow({ where: { name: 'mysql-a' } })
    await expect(
      updateCluster(rc, staff, mysqlA.id, { version: mysqlA.version, connection: { port: 70000 }, testConnection: false }),
    ).rejects.toMatchObject({
      details: { fields: [{ field: 'connection.port' }] },
    })
    expect(await env.db.cluster.count()).toBe(count)
  })

  it('rotates the master key: every ciphertext is rewritten under the new key, and all of them are known', async () => {
    const columns = await env.db.$queryRaw<{ table_name: string; column_name: string }[]>`
      SELECT table_name, column_name FROM information_schema.columns
      WHERE table_schema = 'public' AND data_type = 'text'`
    const withCiphertexts: string[] = []
    for (const c of columns) {
      const [row] = await env.db.$queryRawUnsafe<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM "${c.table_name}" WHERE "${c.column_name}" LIKE 'v1.%.%.%.%'`,
      )
      if (row!.n) withCiphertexts.push(`${c.table_name}.${c.column_name}`)
    }
    const registered = ENCRYPTED_COLUMNS.map((c) => `${c.table}.${c.column}`)
    for (const c of withCiphertexts) expect(registered).toContain(c)

    const keys = parseSecretKeys(`${newSecretKeySpec('k2')},${env.config.secretsKeys}`)
    const box = createSecretBox(keys)
    const report = await reencryptAll(env.db, box)
    expect(report.reduce((n, r) => n + r.rewritten, 0)).toBeGreaterThan(0)
    expect(Object.keys(await keyUsage(env.db))).toEqual(['k2'])
    const onlyNew = createSecretBox(keys.slice(0, 1))
    for (const r of await env.db.resource.findMany({ where: { credentials: { not: null } } }))
      expect(() => onlyNew.decrypt(r.credentials!)).not.toThrow()
    expect((await reencryptAll(env.db, box)).every((r) => r.rewritten === 0)).toBe(true)
  })
})
