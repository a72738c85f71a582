import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { CertificateKeyError, privateKeysOf, type DecryptedKeyCache } from '@/lb-agent/certificates'
import { createSecretBox, type SecretBox } from '@/lib/secrets/cipher'
import type { RoutedCertificate } from '@/provisioners/consul/layout'
import { testCertificate } from '@/test/support/haproxy'

const ring = (id: string): SecretBox => createSecretBox([{ id, key: randomBytes(32) }])
const box = ring('lb1')
const one = testCertificate(['one.lb.test'])
const two = testCertificate(['two.lb.test'])

function routed(id: string, cert = one, keyRing = box, over: Partial<RoutedCertificate> = {}): RoutedCertificate {
  return {
    id,
    revision: 1,
    certificate: cert.certificate,
    keyCiphertext: keyRing.encrypt(cert.key),
    fingerprint: cert.fingerprint,
    notAfter: cert.notAfter,
    ...over,
  }
}

function failure(fn: () => unknown): CertificateKeyError {
  try {
    fn()
  } catch (err) {
    if (err instanceof CertificateKeyError) return err
    throw err
  }
  throw new Error('expected a CertificateKeyError')
}

describe('privateKeysOf', () => {
  it('decrypts every certificate’s key with the agents’ key ring', () => {
    const keys = privateKeysOf([routed('c1'), routed('c2', two)], box)
    expect(keys).toEqual(
      new Map([
        ['c1', one.key],
        ['c2', two.key],
      ]),
    )
    expect(privateKeysOf([], undefined)).toEqual(new Map())
  })

  it('refuses certificates when the agent has no key ring, naming LB_CERTIFICATE_KEYS', () => {
    const err = failure(() => privateKeysOf([routed('c1')], undefined))
    expect(err.message).toBe('certificate c1 arrived, but this agent has no LB_CERTIFICATE_KEYS to decrypt private keys with')
  })

  it.each([
    [
      'a key encrypted with another key ring',
      () => routed('c1', one, ring('other')),
      /does not decrypt with LB_CERTIFICATE_KEYS \(key id "other"/,
    ],
    [
      'a key encrypted with the same key id but another key',
      () => routed('c1', one, ring('lb1')),
      /does not decrypt with LB_CERTIFICATE_KEYS \(key id "lb1"/,
    ],
    [
      'a value that is no ciphertext',
      () => routed('c1', one, box, { keyCiphertext: 'plain' }),
      /is not a ciphertext of LB_CERTIFICATE_KEYS/,
    ],
    ['a decrypted value that is no key', () => routed('c1', one, box, { keyCiphertext: box.encrypt('hello') }), /not a PEM private key/],
    ['a chain that is no PEM', () => routed('c1', one, box, { certificate: 'junk' }), /does not start with a PEM certificate/],
    [
      'a fingerprint of another certificate',
      () => routed('c1', one, box, { fingerprint: two.fingerprint }),
      /fingerprint is not that of its leaf/,
    ],
    [
      'the key of another certificate',
      () => routed('c1', one, box, { keyCiphertext: box.encrypt(two.key) }),
      /private key does not belong to its leaf certificate/,
    ],
  ])('refuses %s, naming the certificate and never the key', (_case, make, message) => {
    const err = failure(() => privateKeysOf([make()], box))
    expect(err.message).toMatch(/^certificate c1: /)
    expect(err.message).toMatch(message)
    expect(err.certificateId).toBe('c1')
    expect(err.message).not.toContain('PRIVATE KEY')
  })

  it('reuses what it decrypted while the certificate is the same, and forgets certificates that went', () => {
    const cache: DecryptedKeyCache = new Map()
    const c1 = routed('c1')
    privateKeysOf([c1, routed('c2', two)], box, cache)
    expect([...cache.keys()]).toEqual(['c1', 'c2'])
    // A key ring without the key: only a cached (unchanged) certificate can still be served.
    expect(privateKeysOf([c1], ring('elsewhere'), cache).get('c1')).toBe(one.key)
    expect([...cache.keys()]).toEqual(['c1'])
    // The same key encrypted again is decrypted again (and still checked).
    expect(() => privateKeysOf([{ ...c1, keyCiphertext: ring('x').encrypt(one.key) }], box, cache)).toThrow(CertificateKeyError)
  })
})
