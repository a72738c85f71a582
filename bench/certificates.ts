/**
 * Certificates: (1) 100 hostnames certified by Pebble through the product's ACME adapter, DNS-01 answered through the
 * Gandi LiveDNS double (which forwards to pebble-challtestsrv, so Pebble really validates), 10 orders at a time: time
 * per certificate; (2) the daily renewal sweep over 10,000 certificate records: the selection query and the whole
 * sweep (expired marking, upload notices, one certificate.issue job per due certificate).
 */
import { generateKeyPairSync } from 'node:crypto'
import { parseArgs } from 'node:util'
import pino from 'pino'
import { parseConfig } from '@/lib/config'
import { renewCertificates, selectDueCertificates } from '@/lib/certificates/renew-certificates'
import { renewalTime } from '@/lib/certificates/renewal-schedule'
import { createDb } from '@/lib/db/client'
import { applyMigrations } from '@/lib/db/migrate'
import { createOrchestrator } from '@/lib/deployments/create-orchestrator'
import { createDomainContext } from '@/lib/domains/domain-context'
import { newSecretKeySpec } from '@/lib/secrets/cipher'
import { createAcmeCa } from '@/provisioners/acme'
import { createGandiDns } from '@/provisioners/dns/gandi'
import type { AcmeChallengeSolver } from '@/provisioners/types'
import { GANDI_DOUBLE_TOKEN, startGandiDouble } from '@/test/fakes/gandi/server'
import { startPebble } from '@/test/support/pebble'
import { TEST_PG_URL } from '@/test/support/postgres'
import { createScratchDatabase } from '@/test/support/scratch-database'
import { onCleanup, percentile, table } from './support'

export const title = 'Certificates: 100 hostnames from Pebble, and the renewal sweep over 10,000 records'

const ZONE = 'hosting.test'

export async function run(): Promise<void> {
  const { values } = parseArgs({
    options: { hostnames: { type: 'string' }, records: { type: 'string' } },
    strict: false,
    allowPositionals: true,
  })
  const hostnames = Number(values.hostnames ?? 100)
  const records = Number(values.records ?? 10_000)
  await issuance(hostnames)
  await sweep(records)
}

async function issuance(count: number) {
  const pebble = await startPebble()
  onCleanup(() => pebble.close())
  const gandi = await startGandiDouble({ zones: [ZONE], challtestsrv: pebble.challtestsrv })
  onCleanup(() => gandi.close())
  const dns = createGandiDns({ baseUrl: gandi.url, token: GANDI_DOUBLE_TOKEN, zone: ZONE, timeoutMs: 10_000 })
  const accountKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  const ca = createAcmeCa({ directoryUrl: pebble.directoryUrl, accountKey, caBundle: pebble.caBundle, timeoutMs: 20_000 })
  await ca.ensureAccount()
  const solver: AcmeChallengeSolver = {
    async present(task) {
      if (task.type !== 'dns-01') throw new Error('dns-01 only here')
      await dns.replace({ name: task.recordName.replace(`.${ZONE}`, ''), type: 'TXT', ttl: 300, values: [task.value] })
    },
    async cleanup(task) {
      if (task.type === 'dns-01') await dns.remove(task.recordName.replace(`.${ZONE}`, ''), 'TXT')
    },
  }
  const names = Array.from({ length: count }, (_, i) => `site-${i}.${ZONE}`)
  const samples: number[] = []
  const started = performance.now()
  let next = 0
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (next < names.length) {
        const hostname = names[next++]!
        const privateKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
          .privateKey.export({ type: 'pkcs8', format: 'pem' })
          .toString()
        const t = performance.now()
        await ca.issue({ hostnames: [hostname], challenge: 'dns-01', privateKey }, solver)
        samples.push(performance.now() - t)
      }
    }),
  )
  const wall = performance.now() - started
  samples.sort((a, b) => a - b)
  console.log(
    table(
      ['certificates', 'concurrency', 'p50 ms', 'p95 ms', 'max ms', 'wall s'],
      [
        [
          String(count),
          '10',
          percentile(samples, 50).toFixed(0),
          percentile(samples, 95).toFixed(0),
          samples.at(-1)!.toFixed(0),
          (wall / 1000).toFixed(1),
        ],
      ],
    ),
  )
}

async function sweep(count: number) {
  const scratch = await createScratchDatabase(TEST_PG_URL, 'tenon_bench')
  onCleanup(() => scratch.drop())
  await applyMigrations(scratch.url)
  const db = createDb(scratch.url)
  onCleanup(() => db.$disconnect())
  const now = new Date('2026-11-26T03:17:00Z')
  const DAY = 86_400_000
  // Issued evenly over the last 90 days with 90-day lifetimes: about a third are inside the renewal window.
  const rows = Array.from({ length: count }, (_, i) => {
    const notBefore = new Date(now.getTime() - ((i * 90) / count) * DAY)
    const notAfter = new Date(notBefore.getTime() + 90 * DAY)
    const id = `00000000-0000-7000-8000-${i.toString(16).padStart(12, '0')}`
    return {
      id,
      source: 'acme' as const,
      hostnames: [`site-${i}.${ZONE}`, `*.site-${i}.${ZONE}`],
      challenge: 'dns-01',
      state: 'valid' as const,
      certificate: 'x',
      serial: i.toString(16),
      notBefore,
      notAfter,
      renewAt: renewalTime({ id, serial: i.toString(16), notBefore, notAfter }, { renewDays: 30 }),
      fingerprint: i.toString(16).padStart(64, '0'),
      deliveredFingerprint: i.toString(16).padStart(64, '0'),
    }
  })
  for (let i = 0; i < rows.length; i += 1000) await db.certificate.createMany({ data: rows.slice(i, i + 1000) })
  await db.$executeRawUnsafe('ANALYZE certificates')

  const selections: number[] = []
  let due = 0
  for (let i = 0; i < 10; i++) {
    const t = performance.now()
    due = (await selectDueCertificates(db, now)).length
    selections.push(performance.now() - t)
  }
  selections.sort((a, b) => a - b)
  let sent = 0
  const config = parseConfig({
    ...process.env,
    DATABASE_URL: scratch.url,
    ACME_DIRECTORY_URL: 'https://127.0.0.1:1/dir',
    SECRETS_KEYS: newSecretKeySpec('b'),
  })
  const orchestrator = createOrchestrator({
    db,
    config,
    log: pino({ level: 'silent' }),
    jobs: { send: async () => void sent++ },
    now: () => now,
  })
  const ctx = createDomainContext(orchestrator, { dns: undefined, lbBox: undefined })
  const t = performance.now()
  const report = await renewCertificates(ctx)
  const wholeMs = performance.now() - t
  console.log(
    table(
      ['records', 'due', 'selection p50 ms', 'selection max ms', 'whole sweep ms', 'jobs sent'],
      [
        [
          String(count),
          String(due),
          percentile(selections, 50).toFixed(1),
          selections.at(-1)!.toFixed(1),
          wholeMs.toFixed(0),
          String(report.queued),
        ],
      ],
    ),
  )
  if (sent !== report.queued) throw new Error(`the sweep reported ${report.queued} jobs but sent ${sent}`)
}
