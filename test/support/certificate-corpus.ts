import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import type { CertificateUpload } from '@/lib/certificates/inspect-upload'

/**
 * Certificates to upload, good and bad, generated at test time with the `openssl` CLI (no binary fixture in
 * git): a throwaway root CA (EC P-384), an intermediate (EC P-256) and leaves under `example.test`. Generated once
 * per test process (about a second, mostly the RSA keys); `certificateCorpus()` returns the same promise after.
 *
 * Validity dates are set from `corpus.now` (the real time when generated): inspect with `now: corpus.now`, or with
 * the real clock in a test that runs within a day or so. Servers can trust `corpus.rootCertificate`.
 */
export interface CorpusEntry {
  /** what the entry is, for test names */
  description: string
  upload: CertificateUpload
  /** the host names the leaf covers (its DNS subjectAltNames, lower case) */
  hostnames: string[]
  /** the host name to inspect it for: the first it covers, or the one a bad entry fails to cover */
  hostname: string
}

export const GOOD_ENTRIES = [
  'rsa',
  'rsaFullChainInCertificate',
  'rsaChainWithRoot',
  'rsaChainWithSha1Root',
  'rsaPkcs1Key',
  'ecP256',
  'ecP256Sec1Key',
  'ecP384',
  'wildcard',
  'commonNameOnly',
  'pkcs12',
  'pkcs12Legacy',
  'pkcs12Ec',
] as const

export const BAD_ENTRIES = [
  'expired',
  'notYetValid',
  'expiringIn3Days',
  'wrongKey',
  'wrongHost',
  'chainOutOfOrder',
  'brokenChain',
  'weakRsa1024',
  'sha1Signed',
  'ecP521',
  'ed25519',
  'garbage',
  'keyAsCertificate',
  'signingRequestAsCertificate',
  'certificateAsKey',
  'encryptedKeyPkcs8',
  'encryptedKeyTraditional',
  'pkcs12WrongPassword',
  'pkcs12MismatchedKey',
  'pkcs12WithoutKey',
  'pkcs12WithoutCertificate',
  'pkcs12Truncated',
  'pkcs12TooManyRounds',
  'pkcs12NonAsciiPasswordAes',
] as const

export type GoodEntry = (typeof GOOD_ENTRIES)[number]
export type BadEntry = (typeof BAD_ENTRIES)[number]

export interface Corpus {
  now: Date
  /** PEM of the throwaway root: what a TLS client in a test trusts */
  rootCertificate: string
  intermediateCertificate: string
  good: Record<GoodEntry, CorpusEntry>
  bad: Record<BadEntry, CorpusEntry>
}

export const PKCS12_PASSWORD = 'correct horse battery staple'
const NON_ASCII_PASSWORD = 'pässwörd'
const DAY = 86_400_000

let corpus: Promise<Corpus> | undefined

/** The corpus, generated on first use in this process. */
export function certificateCorpus(): Promise<Corpus> {
  corpus ??= generateCorpus()
  return corpus
}

const run = promisify(execFile)

/** `openssl ca` settings; each certificate gets its own database file so that certificates are signed in parallel. */
const caConfig = (database: string) => `[ ca ]
default_ca = corpus
[ corpus ]
database = ${database}
new_certs_dir = .
rand_serial = yes
unique_subject = no
policy = policy_any
copy_extensions = none
default_md = sha256
[ policy_any ]
commonName = supplied
`
const CA_EXTENSIONS = 'basicConstraints = critical, CA:true\nkeyUsage = critical, keyCertSign, cRLSign\nsubjectKeyIdentifier = hash\n'
const LEAF_EXTENSIONS =
  'basicConstraints = CA:false\nkeyUsage = critical, digitalSignature, keyEncipherment\nextendedKeyUsage = serverAuth\n'

type KeySpec = 'rsa1024' | 'rsa2048' | 'P-256' | 'P-384' | 'P-521' | 'ed25519'

async function generateCorpus(): Promise<Corpus> {
  await run('openssl', ['version']).catch(() => {
    throw new Error('the openssl CLI is missing: install it (apt-get install openssl)')
  })
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tenon-certificates-'))
  try {
    return await generateIn(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function generateIn(dir: string): Promise<Corpus> {
  const now = new Date(Math.floor(Date.now() / 1000) * 1000)
  const openssl = async (...args: string[]) => {
    try {
      await run('openssl', args, { cwd: dir })
    } catch (error) {
      const stderr = error instanceof Error && 'stderr' in error ? String(error.stderr) : ''
      throw new Error(`openssl ${args.join(' ')} failed: ${stderr}`)
    }
  }
  const read = (file: string) => readFile(path.join(dir, file), 'utf8')

  const keys: Record<string, KeySpec> = {
    root: 'P-384',
    intermediate: 'P-256',
    impostor: 'P-256',
    rsa: 'rsa2048',
    other: 'rsa2048',
    weak: 'rsa1024',
    ec256: 'P-256',
    ec384: 'P-384',
    ec521: 'P-521',
    ed: 'ed25519',
  }
  await Promise.all(
    Object.entries(keys).map(([name, spec]) => {
      const algorithm =
        spec === 'ed25519'
          ? ['-algorithm', 'ED25519']
          : spec.startsWith('rsa')
            ? ['-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${spec.slice(3)}`]
            : ['-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${spec}`]
      return openssl('genpkey', ...algorithm, '-out', `${name}.key`)
    }),
  )

  /** One certificate, signed by `issuer` (or by itself). */
  const sign = async (
    name: string,
    options: {
      key: string
      subject: string
      issuer?: 'root' | 'intermediate'
      sans?: string[]
      ca?: boolean
      from?: Date
      until?: Date
      digest?: string
    },
  ) => {
    const extensions =
      (options.ca ? CA_EXTENSIONS : LEAF_EXTENSIONS) +
      (options.sans ? `subjectAltName = ${options.sans.map((s) => `DNS:${s}`).join(', ')}\n` : '')
    await writeFile(path.join(dir, `${name}.ext`), extensions)
    await writeFile(path.join(dir, `${name}.cnf`), caConfig(`${name}.index`))
    await writeFile(path.join(dir, `${name}.index`), '')
    await openssl('req', '-new', '-key', `${options.key}.key`, '-subj', options.subject, '-out', `${name}.csr`)
    const signer = options.issuer
      ? ['-cert', `${options.issuer}.pem`, '-keyfile', `${options.issuer}.key`]
      : ['-selfsign', '-keyfile', `${options.key}.key`]
    await openssl(
      'ca',
      '-batch',
      '-notext',
      '-preserveDN',
      '-config',
      `${name}.cnf`,
      ...signer,
      '-in',
      `${name}.csr`,
      '-extfile',
      `${name}.ext`,
      '-md',
      options.digest ?? 'sha256',
      '-startdate',
      asn1Time(options.from ?? new Date(now.getTime() - 30 * DAY)),
      '-enddate',
      asn1Time(options.until ?? new Date(now.getTime() + 90 * DAY)),
      '-out',
      `${name}.pem`,
    )
    return read(`${name}.pem`)
  }

  const yearsFromNow = (years: number) => new Date(now.getTime() + years * 365 * DAY)
  const root = await sign('root', {
    key: 'root',
    subject: '/O=Tenon tests/CN=Tenon Test Root CA',
    ca: true,
    from: yearsFromNow(-1),
    until: yearsFromNow(10),
  })
  const ca = { issuer: 'root' as const, ca: true, from: yearsFromNow(-1), until: yearsFromNow(5) }
  // Same name as the intermediate, another key: the leaves' issuer DN matches it, their signatures do not verify.
  // The root again, self-signed with SHA-1: browsers never check a root's own signature, so a chain ending with it is fine.
  const [intermediate, impostor, rootSha1] = await Promise.all([
    sign('intermediate', { key: 'intermediate', subject: '/O=Tenon tests/CN=Tenon Test Intermediate CA', ...ca }),
    sign('impostor', { key: 'impostor', subject: '/O=Tenon tests/CN=Tenon Test Intermediate CA', ...ca }),
    sign('root-sha1', {
      key: 'root',
      subject: '/O=Tenon tests/CN=Tenon Test Root CA',
      ca: true,
      from: yearsFromNow(-1),
      until: yearsFromNow(10),
      digest: 'sha1',
    }),
  ])

  const leaf = (name: string, key: string, sans: string[], options: { from?: Date; until?: Date; digest?: string } = {}) =>
    sign(name, { key, subject: `/CN=${sans[0] ?? name}`, issuer: 'intermediate', sans, ...options })
  const shop = ['shop.example.test', 'www.shop.example.test']
  const [rsa, ec256, ec384, wildcard, commonNameOnly, expired, notYetValid, expiring, elsewhere, weak, sha1, ec521, ed25519] =
    await Promise.all([
      leaf('rsa', 'rsa', shop),
      leaf('ec256', 'ec256', ['ec256.example.test']),
      leaf('ec384', 'ec384', ['ec384.example.test']),
      leaf('wildcard', 'ec256', ['*.wild.example.test', 'wild.example.test']),
      sign('cn-only', { key: 'rsa', subject: '/CN=legacy.example.test', issuer: 'intermediate' }),
      leaf('expired', 'rsa', shop, { from: new Date(now.getTime() - 100 * DAY), until: new Date(now.getTime() - 10 * DAY) }),
      leaf('not-yet-valid', 'rsa', shop, { from: new Date(now.getTime() + 10 * DAY) }),
      leaf('expiring', 'rsa', shop, { until: new Date(now.getTime() + 3 * DAY) }),
      leaf('elsewhere', 'rsa', ['elsewhere.example.test', 'www.elsewhere.example.test']),
      leaf('weak', 'weak', ['weak.example.test']),
      leaf('sha1', 'rsa', ['sha1.example.test'], { digest: 'sha1' }),
      leaf('ec521', 'ec521', ['ec521.example.test']),
      leaf('ed25519', 'ed', ['ed25519.example.test']),
      writeFile(path.join(dir, 'chain.pem'), intermediate + root),
      openssl('rsa', '-in', 'rsa.key', '-traditional', '-out', 'rsa-pkcs1.key'),
      openssl('ec', '-in', 'ec256.key', '-out', 'ec256-sec1.key'),
      openssl('pkey', '-in', 'rsa.key', '-aes256', '-passout', 'pass:secret', '-out', 'rsa-pkcs8-encrypted.key'),
      openssl('rsa', '-in', 'rsa.key', '-traditional', '-aes256', '-passout', 'pass:secret', '-out', 'rsa-pkcs1-encrypted.key'),
    ])

  const pass = ['-passout', `pass:${PKCS12_PASSWORD}`]
  const bundle = async (name: string, ...args: string[]) => {
    await openssl('pkcs12', '-export', ...(args.includes('-passout') ? [] : pass), ...args, '-out', `${name}.p12`)
    return readFile(path.join(dir, `${name}.p12`))
  }
  const [rsaBundle, legacyBundle, ecBundle, mismatchedBundle, keylessBundle, certificatelessBundle, slowBundle, nonAsciiBundle] =
    await Promise.all([
      // What OpenSSL 3 exports by default (PBES2, AES-256-CBC, SHA-256 MAC), the intermediate and the root included.
      bundle('rsa', '-in', 'rsa.pem', '-inkey', 'rsa.key', '-certfile', 'chain.pem'),
      // What older Windows servers export: TripleDES-SHA1 for both bags, SHA-1 MAC.
      bundle(
        'legacy',
        '-in',
        'rsa.pem',
        '-inkey',
        'rsa.key',
        '-certfile',
        'intermediate.pem',
        ...['-certpbe', 'PBE-SHA1-3DES', '-keypbe', 'PBE-SHA1-3DES', '-macalg', 'sha1'],
      ),
      bundle('ec', '-in', 'ec256.pem', '-inkey', 'ec256.key', '-certfile', 'intermediate.pem'),
      bundle('mismatched', '-nocerts', '-inkey', 'other.key', '-certfile', 'rsa.pem'),
      bundle('keyless', '-nokeys', '-in', 'rsa.pem'),
      bundle('certificateless', '-nocerts', '-inkey', 'rsa.key'),
      bundle('slow', '-in', 'rsa.pem', '-inkey', 'rsa.key', '-iter', '200000'),
      bundle('non-ascii', '-in', 'rsa.pem', '-inkey', 'rsa.key', '-passout', `pass:${NON_ASCII_PASSWORD}`),
    ])

  const key = (name: string) => read(`${name}.key`)
  const pem = (
    description: string,
    hostnames: string[],
    upload: Omit<Extract<CertificateUpload, { format: 'pem' }>, 'format'>,
    hostname = hostnames[0],
  ) => entry(description, hostnames, { format: 'pem', ...upload }, hostname)
  const pkcs12 = (description: string, hostnames: string[], bundle: Buffer, password = PKCS12_PASSWORD) =>
    entry(description, hostnames, { format: 'pkcs12', bundle, password })
  const rsaKey = await key('rsa')
  const ec256Key = await key('ec256')

  return {
    now,
    rootCertificate: root,
    intermediateCertificate: intermediate,
    good: {
      rsa: pem('RSA 2048 leaf, intermediate as chain', shop, { certificate: rsa, chain: intermediate, privateKey: rsaKey }),
      rsaFullChainInCertificate: pem('RSA leaf followed by its intermediate in the certificate field', shop, {
        certificate: rsa + intermediate,
        privateKey: rsaKey,
      }),
      rsaChainWithRoot: pem('RSA leaf, chain with the root at its end', shop, {
        certificate: rsa,
        chain: intermediate + root,
        privateKey: rsaKey,
      }),
      rsaChainWithSha1Root: pem('RSA leaf, chain ending with a root self-signed with SHA-1', shop, {
        certificate: rsa,
        chain: intermediate + rootSha1,
        privateKey: rsaKey,
      }),
      rsaPkcs1Key: pem('RSA leaf, key as "RSA PRIVATE KEY" (PKCS#1)', shop, {
        certificate: rsa,
        chain: intermediate,
        privateKey: await key('rsa-pkcs1'),
      }),
      ecP256: pem('EC P-256 leaf', ['ec256.example.test'], { certificate: ec256, chain: intermediate, privateKey: ec256Key }),
      ecP256Sec1Key: pem('EC P-256 leaf, key as "EC PRIVATE KEY" (SEC 1)', ['ec256.example.test'], {
        certificate: ec256,
        chain: intermediate,
        privateKey: await key('ec256-sec1'),
      }),
      ecP384: pem('EC P-384 leaf', ['ec384.example.test'], { certificate: ec384, chain: intermediate, privateKey: await key('ec384') }),
      wildcard: pem(
        'wildcard leaf (*.wild.example.test and wild.example.test)',
        ['*.wild.example.test', 'wild.example.test'],
        { certificate: wildcard, chain: intermediate, privateKey: ec256Key },
        'shop.wild.example.test',
      ),
      commonNameOnly: pem('leaf with a CN and no subjectAltName', ['legacy.example.test'], {
        certificate: commonNameOnly,
        chain: intermediate,
        privateKey: rsaKey,
      }),
      pkcs12: pkcs12('PKCS#12 as OpenSSL 3 exports it (AES-256), RSA leaf with intermediate and root', shop, rsaBundle),
      pkcs12Legacy: pkcs12('PKCS#12 with TripleDES-SHA1 and a SHA-1 MAC (older Windows)', shop, legacyBundle),
      pkcs12Ec: pkcs12('PKCS#12 holding an EC P-256 leaf', ['ec256.example.test'], ecBundle),
    },
    bad: {
      expired: pem('expired ten days ago', shop, { certificate: expired, chain: intermediate, privateKey: rsaKey }),
      notYetValid: pem('valid from ten days from now', shop, { certificate: notYetValid, chain: intermediate, privateKey: rsaKey }),
      expiringIn3Days: pem('expires in three days', shop, { certificate: expiring, chain: intermediate, privateKey: rsaKey }),
      wrongKey: pem('another RSA key than the certificate’s', shop, {
        certificate: rsa,
        chain: intermediate,
        privateKey: await key('other'),
      }),
      wrongHost: pem(
        'covers elsewhere.example.test, uploaded for shop.example.test',
        ['elsewhere.example.test', 'www.elsewhere.example.test'],
        { certificate: elsewhere, chain: intermediate, privateKey: rsaKey },
        'shop.example.test',
      ),
      chainOutOfOrder: pem('chain with the root before the intermediate', shop, {
        certificate: rsa,
        chain: root + intermediate,
        privateKey: rsaKey,
      }),
      brokenChain: pem('chain with an intermediate of the same name that did not sign the leaf', shop, {
        certificate: rsa,
        chain: impostor,
        privateKey: rsaKey,
      }),
      weakRsa1024: pem('RSA 1024 leaf', ['weak.example.test'], { certificate: weak, chain: intermediate, privateKey: await key('weak') }),
      sha1Signed: pem('leaf signed with SHA-1', ['sha1.example.test'], { certificate: sha1, chain: intermediate, privateKey: rsaKey }),
      ecP521: pem('EC P-521 leaf', ['ec521.example.test'], { certificate: ec521, chain: intermediate, privateKey: await key('ec521') }),
      ed25519: pem('Ed25519 leaf', ['ed25519.example.test'], { certificate: ed25519, chain: intermediate, privateKey: await key('ed') }),
      garbage: pem('text that is not PEM', shop, { certificate: 'hello, this is my certificate\n', privateKey: 'and this is my key\n' }),
      keyAsCertificate: pem('the private key pasted as the certificate', shop, { certificate: rsaKey, privateKey: rsaKey }),
      signingRequestAsCertificate: pem('the certificate signing request pasted as the certificate', shop, {
        certificate: await read('rsa.csr'),
        privateKey: rsaKey,
      }),
      certificateAsKey: pem('the certificate pasted as the key', shop, { certificate: rsa, chain: intermediate, privateKey: rsa }),
      encryptedKeyPkcs8: pem('key as "ENCRYPTED PRIVATE KEY"', shop, {
        certificate: rsa,
        chain: intermediate,
        privateKey: await key('rsa-pkcs8-encrypted'),
      }),
      encryptedKeyTraditional: pem('key with "Proc-Type: 4,ENCRYPTED"', shop, {
        certificate: rsa,
        chain: intermediate,
        privateKey: await key('rsa-pkcs1-encrypted'),
      }),
      pkcs12WrongPassword: pkcs12('PKCS#12 with a wrong password', shop, rsaBundle, 'Tr0ub4dor&3'),
      pkcs12MismatchedKey: pkcs12('PKCS#12 whose key is not the certificate’s', shop, mismatchedBundle),
      pkcs12WithoutKey: pkcs12('PKCS#12 with the certificate only', shop, keylessBundle),
      pkcs12WithoutCertificate: pkcs12('PKCS#12 with the key only', shop, certificatelessBundle),
      pkcs12Truncated: pkcs12('PKCS#12 cut in half', shop, rsaBundle.subarray(0, Math.floor(rsaBundle.length / 2))),
      pkcs12TooManyRounds: pkcs12('PKCS#12 asking for 200,000 PBKDF2 rounds per derivation', shop, slowBundle),
      pkcs12NonAsciiPasswordAes: pkcs12('PKCS#12 (AES) with a non-ASCII password', shop, nonAsciiBundle, NON_ASCII_PASSWORD),
    },
  }
}

function entry(description: string, hostnames: string[], upload: CertificateUpload, hostname = hostnames[0]): CorpusEntry {
  if (!hostname) throw new Error(`corpus entry "${description}" needs a host name`)
  return { description, upload, hostnames, hostname }
}

/** GeneralizedTime as `openssl ca -startdate/-enddate` takes it. */
function asn1Time(date: Date): string {
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`
}
