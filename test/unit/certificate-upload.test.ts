import { createPrivateKey, X509Certificate } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { readCertificateFields } from '@/lib/certificates/certificate-fields'
import { nameCovers, namesCover } from '@/lib/certificates/hostname-match'
import {
  inspectUpload,
  type CertificateUpload,
  type InspectedCertificate,
  type InspectUploadOptions,
} from '@/lib/certificates/inspect-upload'
import { DomainError, type FieldError } from '@/lib/errors'
import { BAD_ENTRIES, certificateCorpus, GOOD_ENTRIES, type Corpus, type CorpusEntry } from '@/test/support/certificate-corpus'

let corpus: Corpus
beforeAll(async () => {
  corpus = await certificateCorpus()
}, 60_000)

const DAY = 86_400_000

function inspect(entry: CorpusEntry, options: Partial<InspectUploadOptions> = {}): InspectedCertificate {
  return inspectUpload(entry.upload, { hostname: entry.hostname, now: corpus.now, ...options })
}

/** The field errors `run` was refused with; fails the test if it returned or threw anything but invalid_input. */
function refusal(run: () => unknown): FieldError[] {
  try {
    run()
  } catch (error) {
    if (!(error instanceof DomainError)) throw error
    expect(error.code).toBe('invalid_input')
    return error.details.fields ?? []
  }
  throw new Error('the upload was accepted')
}

const refusalOf = (entry: CorpusEntry, options: Partial<InspectUploadOptions> = {}) => refusal(() => inspect(entry, options))

/** "2026-03-04 12:00 UTC", as messages write dates. */
const shown = (date: Date) => `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`

function pemCertificates(text: string): X509Certificate[] {
  return (text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g) ?? []).map((pem) => new X509Certificate(pem))
}

describe('host names (RFC 6125 §6.4)', () => {
  it.each([
    ['shop.example.test', 'shop.example.test', true],
    ['Shop.Example.TEST', 'shop.example.test', true],
    ['shop.example.test', 'SHOP.example.test', true],
    ['shop.example.test', 'shop.example.test.', true],
    ['shop.example.test', 'www.shop.example.test', false],
    ['shop.example.test', 'example.test', false],
    // a wildcard stands for exactly one whole, non-empty label
    ['*.example.test', 'shop.example.test', true],
    ['*.EXAMPLE.test', 'Shop.example.TEST', true],
    ['*.example.test', 'example.test', false],
    ['*.example.test', '.example.test', false],
    ['*.example.test', 'www.shop.example.test', false],
    ['*.shop.example.test', 'www.shop.example.test', true],
    // never a bare top-level domain: at least two labels after the wildcard
    ['*.com', 'example.com', false],
    ['*.test', 'example.test', false],
    ['*', 'example', false],
    ['*.', 'example.', false],
    // no partial wildcards, and only in the left-most label
    ['w*.example.test', 'www.example.test', false],
    ['*w.example.test', 'www.example.test', false],
    ['w*w.example.test', 'www.example.test', false],
    ['www.*.example.test', 'www.shop.example.test', false],
    ['*.*.example.test', 'www.shop.example.test', false],
    ['xn--*.example.test', 'xn--bcher-kva.example.test', false],
    // A-labels are compared as written; a host name typed with U-labels is turned into A-labels first
    ['xn--bcher-kva.example.test', 'xn--bcher-kva.example.test', true],
    ['xn--bcher-kva.example.test', 'bücher.example.test', true],
    ['XN--BCHER-KVA.example.test', 'xn--bcher-kva.example.test', true],
    ['bücher.example.test', 'bücher.example.test', false],
    ['*.example.test', 'xn--bcher-kva.example.test', true],
    ['xn--bcher-kva.example.test', 'bucher.example.test', false],
    // malformed names cover nothing
    ['shop..example.test', 'shop..example.test', false],
    ['', '', false],
    ['shop.example.test', '', false],
    // a wildcard custom domain is covered by the same wildcard only
    ['*.example.test', '*.example.test', true],
    ['shop.example.test', '*.example.test', false],
    ['*.example.test', '*.shop.example.test', false],
  ])('%j covers %j: %s', (presented, hostname, expected) => {
    expect(nameCovers(presented, hostname)).toBe(expected)
  })

  it('any of several names may cover the host', () => {
    expect(namesCover(['example.test', '*.example.test'], 'shop.example.test')).toBe(true)
    expect(namesCover(['example.test', 'www.example.test'], 'shop.example.test')).toBe(false)
    expect(namesCover([], 'shop.example.test')).toBe(false)
  })
})

describe('good uploads', () => {
  it.each(GOOD_ENTRIES)('%s is accepted with the facts of its leaf', (name) => {
    const entry = corpus.good[name]
    const inspected = inspect(entry)
    const [leaf, ...chain] = pemCertificates(inspected.certificate)
    if (!leaf) throw new Error('no leaf in the output')

    expect(inspected.hostnames).toEqual(entry.hostnames)
    expect(inspected.fingerprint).toBe(leaf.fingerprint256.replaceAll(':', '').toLowerCase())
    expect(inspected.fingerprint).toMatch(/^[0-9a-f]{64}$/)
    expect(inspected.serial).toBe(leaf.serialNumber.toLowerCase())
    expect(inspected.serial).toMatch(/^[0-9a-f]+$/)
    expect(inspected.issuer).toBe('Tenon Test Intermediate CA')
    expect(new Date(inspected.notBefore).getTime()).toBe(new Date(leaf.validFrom).getTime())
    expect(new Date(inspected.notAfter).getTime()).toBe(new Date(leaf.validTo).getTime())
    expect(inspected.notAfter).toBe(new Date(inspected.notAfter).toISOString())

    // The served chain: leaf first, each certificate issued by the next, one trailing newline each.
    expect(chain.length).toBeGreaterThanOrEqual(1)
    for (const [index, certificate] of [leaf, ...chain].entries()) {
      const issuer = chain[index]
      if (issuer) expect(certificate.verify(issuer.publicKey)).toBe(true)
    }
    expect(inspected.certificate).toMatch(/^-----BEGIN CERTIFICATE-----\n/)
    expect(inspected.certificate).toMatch(/[^\n]\n$/)
    expect(inspected.certificate).not.toMatch(/\n\n/)

    // The key: PKCS#8, unencrypted, the leaf's.
    expect(inspected.privateKey).toMatch(/^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/)
    expect(leaf.checkPrivateKey(createPrivateKey(inspected.privateKey))).toBe(true)
  })

  it.each([
    ['rsa', 'rsa', 2048, undefined],
    ['rsaPkcs1Key', 'rsa', 2048, undefined],
    ['ecP256', 'ec', 256, 'P-256'],
    ['ecP256Sec1Key', 'ec', 256, 'P-256'],
    ['ecP384', 'ec', 384, 'P-384'],
    ['pkcs12', 'rsa', 2048, undefined],
    ['pkcs12Legacy', 'rsa', 2048, undefined],
    ['pkcs12Ec', 'ec', 256, 'P-256'],
  ] as const)('%s: a %s key of %i bits (%s)', (name, keyType, keyBits, curve) => {
    const inspected = inspect(corpus.good[name])
    expect({ keyType: inspected.keyType, keyBits: inspected.keyBits, curve: inspected.curve }).toEqual({ keyType, keyBits, curve })
  })

  it('serves the chain as given, the root included when it was given', () => {
    const subjects = (entry: CorpusEntry) => pemCertificates(inspect(entry).certificate).map((c) => c.subject.split('\n').at(-1))
    const withRoot = ['CN=shop.example.test', 'CN=Tenon Test Intermediate CA', 'CN=Tenon Test Root CA']
    expect(subjects(corpus.good.rsa)).toEqual(['CN=shop.example.test', 'CN=Tenon Test Intermediate CA'])
    expect(subjects(corpus.good.rsaFullChainInCertificate)).toEqual(['CN=shop.example.test', 'CN=Tenon Test Intermediate CA'])
    expect(subjects(corpus.good.rsaChainWithRoot)).toEqual(withRoot)
    // A root's own SHA-1 signature is no reason to refuse: browsers trust the root itself, not its signature.
    expect(subjects(corpus.good.rsaChainWithSha1Root)).toEqual(withRoot)
    const sha1Root = pemCertificates(inspect(corpus.good.rsaChainWithSha1Root).certificate)[2]
    expect(sha1Root && readCertificateFields(sha1Root.raw).weakSignatureHash).toBe('SHA-1')
  })

  it('builds a PKCS#12 bundle’s chain by following issuers, whatever order it stores them in', () => {
    const subjects = (entry: CorpusEntry) => pemCertificates(inspect(entry).certificate).map((c) => c.subject.split('\n').at(-1))
    expect(subjects(corpus.good.pkcs12)).toEqual(['CN=shop.example.test', 'CN=Tenon Test Intermediate CA', 'CN=Tenon Test Root CA'])
    expect(subjects(corpus.good.pkcs12Legacy)).toEqual(['CN=shop.example.test', 'CN=Tenon Test Intermediate CA'])
    expect(subjects(corpus.good.pkcs12Ec)).toEqual(['CN=ec256.example.test', 'CN=Tenon Test Intermediate CA'])
  })

  it('serves a certificate pasted twice (full chain in the certificate field and again as the chain) once', () => {
    const { upload, hostname } = corpus.good.rsaFullChainInCertificate
    if (upload.format !== 'pem') throw new Error('a PEM entry')
    const inspected = inspectUpload({ ...upload, chain: corpus.intermediateCertificate }, { hostname, now: corpus.now })
    expect(pemCertificates(inspected.certificate)).toHaveLength(2)
  })

  it('accepts Windows line ends, blank chains, text around the PEM blocks and PEM flattened to one line', () => {
    const { upload, hostname } = corpus.good.rsa
    if (upload.format !== 'pem') throw new Error('a PEM entry')
    const crlf = (text: string) => text.replace(/\n/g, '\r\n')
    const inspected = inspectUpload(
      {
        format: 'pem',
        certificate: `subject=CN = shop.example.test\n${crlf(upload.certificate)}`,
        chain: crlf(upload.chain ?? ''),
        privateKey: crlf(upload.privateKey),
      },
      { hostname, now: corpus.now },
    )
    expect(pemCertificates(inspected.certificate)).toHaveLength(2)
    expect(inspectUpload({ ...upload, chain: '  \n' }, { hostname, now: corpus.now }).hostnames).toEqual(corpus.good.rsa.hostnames)
    const oneLine = (text: string) => text.replace(/\n/g, ' ')
    const flattened = {
      ...upload,
      certificate: oneLine(upload.certificate),
      chain: oneLine(upload.chain ?? ''),
      privateKey: oneLine(upload.privateKey),
    }
    expect(pemCertificates(inspectUpload(flattened, { hostname, now: corpus.now }).certificate)).toHaveLength(2)
  })

  it('covers every name of a wildcard certificate, and nothing deeper', () => {
    const entry = corpus.good.wildcard
    for (const hostname of ['wild.example.test', 'shop.wild.example.test', 'WWW.Wild.Example.Test'])
      expect(inspect(entry, { hostname }).hostnames).toHaveLength(2)
    expect(refusalOf(entry, { hostname: 'a.b.wild.example.test' })).toEqual([
      { field: 'certificate', message: 'does not cover a.b.wild.example.test (it covers *.wild.example.test, wild.example.test)' },
    ])
  })

  it('reads the host name from the CN only when there is no subjectAltName at all', () => {
    expect(inspect(corpus.good.commonNameOnly).hostnames).toEqual(['legacy.example.test'])
  })

  it('accepts a certificate expiring sooner when fewer days are asked for', () => {
    expect(inspect(corpus.bad.expiringIn3Days, { minValidDays: 2 }).hostnames).toEqual(corpus.bad.expiringIn3Days.hostnames)
  })
})

describe('bad uploads', () => {
  const notAfter = (entry: CorpusEntry) =>
    new Date(inspect(entry, { now: new Date(corpus.now.getTime() - 60 * DAY), minValidDays: 0 }).notAfter)

  it.each<[(typeof BAD_ENTRIES)[number], FieldError[] | (() => FieldError[])]>([
    ['expired', () => [{ field: 'certificate', message: `expired on ${shown(notAfter(corpus.bad.expired))}` }]],
    ['notYetValid', () => [{ field: 'certificate', message: `is not valid before ${shown(new Date(corpus.now.getTime() + 10 * DAY))}` }]],
    [
      'expiringIn3Days',
      () => [{ field: 'certificate', message: `expires on ${shown(new Date(corpus.now.getTime() + 3 * DAY))}, within 7 days` }],
    ],
    ['wrongKey', [{ field: 'privateKey', message: 'does not match the certificate' }]],
    [
      'wrongHost',
      [
        {
          field: 'certificate',
          message: 'does not cover shop.example.test (it covers elsewhere.example.test, www.elsewhere.example.test)',
        },
      ],
    ],
    [
      'chainOutOfOrder',
      [
        {
          field: 'chain',
          message: 'is not in order: certificate 1 was not issued by certificate 2 (certificate 3 was: put it right after)',
        },
      ],
    ],
    [
      'brokenChain',
      [
        {
          field: 'chain',
          message:
            'the signature of certificate 1 does not verify with the key of certificate 2: it was issued by another certificate of the same name',
        },
      ],
    ],
    ['weakRsa1024', [{ field: 'certificate', message: 'RSA key of 1024 bits: at least 2048 are required' }]],
    ['sha1Signed', [{ field: 'certificate', message: 'is signed with SHA-1, which browsers refuse' }]],
    ['ecP521', [{ field: 'certificate', message: 'EC key on P-521: only P-256 and P-384 are supported' }]],
    ['ed25519', [{ field: 'certificate', message: 'Ed25519 key: only RSA (2048 bits or more) and EC (P-256, P-384) keys are supported' }]],
    [
      'garbage',
      [
        { field: 'certificate', message: 'is not a PEM certificate' },
        { field: 'privateKey', message: 'is not a PEM private key' },
      ],
    ],
    ['keyAsCertificate', [{ field: 'certificate', message: 'holds a private key, not a certificate' }]],
    [
      'signingRequestAsCertificate',
      [
        {
          field: 'certificate',
          message: 'holds a certificate signing request, not a certificate: upload the certificate the authority issued for it',
        },
      ],
    ],
    ['certificateAsKey', [{ field: 'privateKey', message: 'holds a certificate, not a private key' }]],
    ['encryptedKeyPkcs8', [{ field: 'privateKey', message: 'is encrypted: upload the key without a passphrase' }]],
    ['encryptedKeyTraditional', [{ field: 'privateKey', message: 'is encrypted: upload the key without a passphrase' }]],
    ['pkcs12WrongPassword', [{ field: 'password', message: 'does not open the bundle' }]],
    ['pkcs12MismatchedKey', [{ field: 'bundle', message: 'holds a private key that does not match the certificate' }]],
    ['pkcs12WithoutKey', [{ field: 'bundle', message: 'holds no private key: export it with its private key' }]],
    ['pkcs12WithoutCertificate', [{ field: 'bundle', message: 'holds no certificate: export it with its certificate' }]],
    ['pkcs12Truncated', [{ field: 'bundle', message: 'is not a PKCS#12 bundle' }]],
    [
      'pkcs12NonAsciiPasswordAes',
      [
        {
          field: 'password',
          message: 'opens the bundle but not its AES encryption: export it again with a password of ASCII characters only',
        },
      ],
    ],
    [
      'pkcs12TooManyRounds',
      [{ field: 'bundle', message: 'asks for 600000 rounds of key derivation (at most 300000): export it with the default settings' }],
    ],
  ])('%s is refused with its own message', (name, expected) => {
    expect(refusalOf(corpus.bad[name])).toEqual(typeof expected === 'function' ? expected() : expected)
  })

  it('lists every check that fails, with the date of the chain certificate it is about', () => {
    const { upload } = corpus.bad.expired
    expect(refusal(() => inspectUpload(upload, { hostname: 'other.example.test', now: corpus.now }))).toEqual([
      { field: 'certificate', message: expect.stringMatching(/^expired on /) },
      { field: 'certificate', message: 'does not cover other.example.test (it covers shop.example.test, www.shop.example.test)' },
    ])
    // Five years on, the intermediate (certificate 2) has expired too.
    const later = new Date(corpus.now.getTime() + 5 * 365 * DAY)
    expect(refusal(() => inspectUpload(corpus.good.rsa.upload, { hostname: 'shop.example.test', now: later }))).toEqual([
      { field: 'certificate', message: expect.stringMatching(/^expired on /) },
      { field: 'chain', message: expect.stringMatching(/^certificate 2 expired on /) },
    ])
  })

  it('checks the signature of a self-signed certificate ending the chain', () => {
    const root = new X509Certificate(corpus.rootCertificate).raw
    const damaged = Buffer.from(root)
    damaged[damaged.length - 1] = damaged[damaged.length - 1]! ^ 0x01
    const upload = pemUpload(corpus.good.rsa)
    const chain = corpus.intermediateCertificate + toPem('CERTIFICATE', damaged)
    expect(refusal(() => inspectUpload({ ...upload, chain }, options()))).toEqual([
      { field: 'chain', message: 'the signature of certificate 3, self-signed, does not verify' },
    ])
  })

  it('names the bundle’s certificate in the checks after opening it', () => {
    const later = new Date(corpus.now.getTime() + 100 * DAY)
    expect(refusal(() => inspectUpload(corpus.good.pkcs12Ec.upload, { hostname: 'shop.example.test', now: later }))).toEqual([
      { field: 'bundle', message: expect.stringMatching(/^the certificate expired on /) },
      { field: 'bundle', message: 'the certificate does not cover shop.example.test (it covers ec256.example.test)' },
    ])
  })

  describe('what people paste in the wrong place', () => {
    const rsa = () => pemUpload(corpus.good.rsa)

    it('a certificate field holding the key as well: refused, so that the key never lands beside the certificates', () => {
      const upload = rsa()
      expect(refusal(() => inspectUpload({ ...upload, certificate: upload.certificate + upload.privateKey }, options()))).toEqual([
        { field: 'certificate', message: 'holds a private key as well: paste the key in the private key field only' },
      ])
      expect(refusal(() => inspectUpload({ ...upload, chain: upload.privateKey }, options()))).toEqual([
        { field: 'chain', message: 'holds a private key, not a certificate' },
      ])
    })

    it('a key field holding the certificate as well: the key is used', () => {
      const upload = rsa()
      expect(inspectUpload({ ...upload, privateKey: upload.certificate + upload.privateKey }, options()).hostnames).toHaveLength(2)
    })

    it('two keys', () => {
      const upload = rsa()
      const other = pemUpload(corpus.bad.wrongKey).privateKey
      expect(refusal(() => inspectUpload({ ...upload, privateKey: upload.privateKey + other }, options()))).toEqual([
        { field: 'privateKey', message: "holds 2 private keys: paste only the certificate's key" },
      ])
    })

    it('a PEM block cut short, or damaged', () => {
      const upload = rsa()
      expect(refusal(() => inspectUpload({ ...upload, certificate: upload.certificate.slice(0, 300) }, options()))).toEqual([
        { field: 'certificate', message: 'has a BEGIN line without its END line: was it cut short?' },
      ])
      const damaged = upload.certificate.replace(/\n([A-Za-z0-9+/]{64})\n/, '\n!!$1\n')
      expect(refusal(() => inspectUpload({ ...upload, certificate: damaged }, options()))).toEqual([
        { field: 'certificate', message: 'cannot be read: it is damaged or not an X.509 certificate' },
      ])
      const truncatedBody = upload.certificate.replace(/\n[A-Za-z0-9+/]{64}\n/, '\n')
      expect(refusal(() => inspectUpload({ ...upload, certificate: truncatedBody }, options()))).toEqual([
        { field: 'certificate', message: 'cannot be read: it is damaged or not an X.509 certificate' },
      ])
      const key = upload.privateKey.replace(/\n[A-Za-z0-9+/]{64}\n/, '\n')
      expect(refusal(() => inspectUpload({ ...upload, privateKey: key }, options()))).toEqual([
        { field: 'privateKey', message: 'cannot be read: it is damaged' },
      ])
    })

    it('a damaged certificate in the chain is named by its place', () => {
      const upload = rsa()
      const damaged = corpus.intermediateCertificate.replace(/\n([A-Za-z0-9+/]{64})\n/, '\n$1$1\n')
      expect(refusal(() => inspectUpload({ ...upload, chain: damaged }, options()))).toEqual([
        { field: 'chain', message: 'certificate 2 cannot be read: it is damaged or not an X.509 certificate' },
      ])
    })
  })

  it('refuses anything larger than 64 KiB before reading it', () => {
    const upload = pemUpload(corpus.good.rsa)
    const big = upload.certificate + 'x'.repeat(64 * 1024)
    expect(refusal(() => inspectUpload({ ...upload, certificate: big, chain: big, privateKey: big }, options()))).toEqual([
      { field: 'certificate', message: 'is larger than 64 KiB' },
      { field: 'chain', message: 'is larger than 64 KiB' },
      { field: 'privateKey', message: 'is larger than 64 KiB' },
    ])
    expect(refusal(() => inspectUpload({ format: 'pkcs12', bundle: Buffer.alloc(64 * 1024 + 1), password: 'x' }, options()))).toEqual([
      { field: 'bundle', message: 'is larger than 64 KiB' },
    ])
    // A multi-byte character counts for its bytes.
    expect(refusal(() => inspectUpload({ ...upload, privateKey: 'é'.repeat(32 * 1024 + 1) }, options()))).toEqual([
      { field: 'privateKey', message: 'is larger than 64 KiB' },
    ])
  })

  it('refuses input of the wrong shape (untyped JSON reaching it) as invalid input', () => {
    const wrong: unknown = { format: 'pem', certificate: 42, privateKey: 'x' }
    // The cast is the point: callers may hand over whatever a request carried.
    expect(refusal(() => inspectUpload(wrong as CertificateUpload, options()))).toEqual([
      { field: 'certificate', message: expect.any(String) },
    ])
  })

  it('never puts key material in its messages', () => {
    for (const name of BAD_ENTRIES) {
      const fields = refusalOf(corpus.bad[name])
      expect(JSON.stringify(fields)).not.toMatch(/-----|MII/)
    }
  })
})

describe('never a server error', () => {
  // Every byte position of a certificate and a bundle, damaged in turn: the answer is a result or an invalid_input.
  const acceptedOrRefused = (upload: CertificateUpload) => {
    try {
      inspectUpload(upload, options())
      return 'accepted'
    } catch (error) {
      if (error instanceof DomainError && error.code === 'invalid_input') return 'refused'
      throw error
    }
  }

  it('survives damaged certificates', () => {
    const upload = pemUpload(corpus.good.rsa)
    const der = new X509Certificate(upload.certificate).raw
    const outcomes = new Set<string>()
    for (let position = 0; position < der.length; position += 5) {
      const damaged = Buffer.from(der)
      damaged[position] = damaged[position]! ^ 0x5a
      outcomes.add(acceptedOrRefused({ ...upload, certificate: toPem('CERTIFICATE', damaged) }))
    }
    expect(outcomes).toEqual(new Set(['refused']))
  })

  it('survives damaged and truncated PKCS#12 bundles', () => {
    const { upload } = corpus.good.pkcs12Ec
    if (upload.format !== 'pkcs12') throw new Error('a PKCS#12 entry')
    const outcomes = new Set<string>()
    // Each damaged bundle that still parses costs a MAC check (2048 rounds in JavaScript): every 23rd byte is enough.
    for (let position = 0; position < upload.bundle.length; position += 23) {
      const damaged = Buffer.from(upload.bundle)
      damaged[position] = damaged[position]! ^ 0xa5
      outcomes.add(acceptedOrRefused({ ...upload, bundle: damaged }))
      outcomes.add(acceptedOrRefused({ ...upload, bundle: upload.bundle.subarray(0, position) }))
    }
    expect(outcomes).toContain('refused')
  })
})

function pemUpload(entry: CorpusEntry): Extract<CertificateUpload, { format: 'pem' }> {
  if (entry.upload.format !== 'pem') throw new Error(`${entry.description} is not a PEM entry`)
  return entry.upload
}

function options(): InspectUploadOptions {
  return { hostname: 'shop.example.test', now: corpus.now }
}

function toPem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? []
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`
}
