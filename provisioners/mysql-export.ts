/**
 * The final export of an archived instance's MySQL databases, taken before they are dropped: mysqldump's SQL,
 * gzipped, streamed to wherever the caller keeps it.
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Transform, type Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGzip } from 'node:zlib'
import { ProvisionerError, type MysqlClusterConnection } from './types'

const PROVIDER = 'MySQL'
const OPERATION = 'export'
const DEFAULT_TIMEOUT_MS = 60 * 60_000
const STDERR_TAIL = 600
/** Where Debian/Ubuntu, RHEL and Alpine keep the system's CA certificates (the MySQL client needs one named to verify). */
const CA_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem']

export interface MysqlExportResult {
  /** size of the gzipped dump written to `output` */
  bytes: number
  /** hex sha256 of the gzipped bytes */
  sha256: string
}

/**
 * A value in a MySQL option file: double-quoted (so `#` is not a comment) with the escapes the option file
 * parser of both MySQL and MariaDB undoes.
 */
export function optionFileValue(value: string): string {
  const escaped = value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')
  return `"${escaped}"`
}

function defaultsFile(connection: MysqlClusterConnection): string {
  const lines = [
    '[client]',
    `host=${optionFileValue(connection.host)}`,
    `port=${connection.port}`,
    // TCP even for "localhost", where the client would otherwise look for a socket file.
    'protocol=TCP',
    `user=${optionFileValue(connection.username)}`,
  ]
  // A bare "password" line would make the client prompt for one; no line means no password.
  if (connection.password) lines.push(`password=${optionFileValue(connection.password)}`)
  if (connection.tls) {
    const bundle = CA_BUNDLES.find((file) => existsSync(file))
    if (bundle) lines.push(`ssl-ca=${optionFileValue(bundle)}`)
    // "loose-": each client ignores the other family's spelling (MariaDB: ssl + ssl-verify-server-cert, MySQL 8: ssl-mode).
    lines.push('loose-ssl=1', 'loose-ssl-verify-server-cert=1', 'loose-ssl-mode=VERIFY_IDENTITY')
  }
  // MySQL with GTIDs would otherwise write SET @@GLOBAL.GTID_PURGED, which breaks a restore elsewhere.
  lines.push('[mysqldump]', 'loose-set-gtid-purged=OFF')
  return lines.join('\n') + '\n'
}

function scrub(text: string, secrets: string[]): string {
  let out = text
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('***')
  return out
}

/**
 * Dumps `databases` (schema, data, routines, triggers, events) in one consistent snapshot per database and writes
 * the gzipped SQL to `output`, which is ended afterwards. On failure `output` may hold a partial dump: the caller
 * must not keep it. The administrator's credentials go through a temporary 0600 option file, never the command line.
 */
export async function exportMysqlDatabases(
  connection: MysqlClusterConnection,
  databases: string[],
  output: NodeJS.WritableStream | Writable,
  options: { mysqldumpPath?: string; timeoutMs?: number } = {},
): Promise<MysqlExportResult> {
  if (databases.length === 0) throw new ProvisionerError(PROVIDER, OPERATION, 'no database to export')
  for (const database of databases) {
    // Also keeps every name from being read as an option by mysqldump.
    if (!/^[a-z0-9_]{1,64}$/.test(database))
      throw new ProvisionerError(
        PROVIDER,
        OPERATION,
        `invalid database name "${database.slice(0, 100)}": only 1-64 lowercase letters, digits and underscores`,
      )
  }
  const binary = options.mysqldumpPath ?? 'mysqldump'
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const secrets = [connection.password]

  const dir = await mkdtemp(path.join(os.tmpdir(), 'tenon-mysqldump-'))
  try {
    const optionFile = path.join(dir, 'client.cnf')
    await writeFile(optionFile, defaultsFile(connection), { mode: 0o600, flag: 'wx' })
    const args = [
      // Must come first: mysqldump only honours it as its first argument.
      `--defaults-extra-file=${optionFile}`,
      '--single-transaction',
      '--routines',
      '--triggers',
      '--events',
      '--hex-blob',
      '--no-tablespaces',
      '--default-character-set=utf8mb4',
      '--databases',
      ...databases,
    ]
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] })

    let stderr = ''
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4 * STDERR_TAIL)
    })
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.once('error', reject)
      child.once('close', (code, signal) => resolve({ code, signal }))
    })

    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeoutMs)

    const hash = createHash('sha256')
    let bytes = 0
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk)
        bytes += chunk.length
        callback(null, chunk)
      },
    })
    const piped = pipeline(child.stdout, createGzip(), meter, output).catch((err: unknown) => {
      // Nobody reads the dump any more: stop it instead of letting it run into a closed pipe.
      child.kill('SIGKILL')
      throw err
    })

    const [pipeResult, exitResult] = await Promise.allSettled([piped, exited]).finally(() => clearTimeout(timer))

    if (exitResult.status === 'rejected') {
      const reason = exitResult.reason instanceof Error ? exitResult.reason.message : String(exitResult.reason)
      throw new ProvisionerError(PROVIDER, OPERATION, `cannot run ${binary}: ${reason}`)
    }
    if (timedOut) throw new ProvisionerError(PROVIDER, OPERATION, `${binary} did not finish within ${timeoutMs} ms and was stopped`, true)
    // Before the exit code: a failed write is why the dump was stopped.
    if (pipeResult.status === 'rejected') {
      const reason = pipeResult.reason instanceof Error ? pipeResult.reason.message : String(pipeResult.reason)
      throw new ProvisionerError(PROVIDER, OPERATION, `writing the dump failed: ${scrub(reason, secrets)}`)
    }
    const { code, signal } = exitResult.value
    if (code !== 0) {
      // The other client family's warnings about our "loose-" options are noise next to the real complaint.
      const complaint = stderr
        .split('\n')
        .filter((line) => !/unknown (variable|option) '(--)?loose-/.test(line))
        .join('\n')
        .trim()
      const tail = scrub(complaint, secrets).slice(-STDERR_TAIL) || '(no error output)'
      const how = code === null ? `was killed by ${signal ?? 'a signal'}` : `exited with code ${code}`
      // Lost connections are worth another try; refused logins and missing databases are not.
      const retryable = /\b(2002|2003|2006|2013)\b|Lost connection|Can't connect|server has gone away/i.test(tail)
      throw new ProvisionerError(PROVIDER, OPERATION, `${binary} ${how}: ${tail}`, retryable)
    }
    return { bytes, sha256: hash.digest('hex') }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
