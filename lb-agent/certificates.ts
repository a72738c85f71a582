/**
 * The private keys of the certificates in a routing state, decrypted with the agent's key ring (LB_CERTIFICATE_KEYS).
 * Consul only ever holds them encrypted (AES-256-GCM, lib/secrets format); the agent decrypts them when it applies a
 * state, checks that each belongs to its certificate, and hands them to the render, which writes them next to their
 * chain (mode 0600). Nothing here logs, and no error message carries key material.
 */
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto'
import type { SecretBox } from '@/lib/secrets/cipher'
import type { RoutedCertificate } from '@/provisioners/consul/layout'

/** A certificate that cannot be installed: the revision carrying it is refused. */
export class CertificateKeyError extends Error {
  constructor(
    message: string,
    readonly certificateId?: string,
  ) {
    super(message)
    this.name = 'CertificateKeyError'
  }
}

/** Keys already decrypted and checked, by certificate id, with what they were decrypted from. */
export type DecryptedKeyCache = Map<string, { keyCiphertext: string; certificate: string; fingerprint: string; key: string }>

const FIRST_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/

/**
 * id → private key (PEM) for every certificate of the state, whether an instance uses it yet or not: a certificate
 * whose key this node cannot decrypt is refused as soon as it arrives (so the control plane's putCertificate fails
 * with the node's reason) rather than when an instance first needs it. Throws a CertificateKeyError naming the
 * certificate; `cache` (kept by the agent) spares decrypting and checking unchanged certificates again.
 */
export function privateKeysOf(
  certificates: readonly RoutedCertificate[],
  keyRing: SecretBox | undefined,
  cache?: DecryptedKeyCache,
): Map<string, string> {
  const keys = new Map<string, string>()
  if (!certificates.length) {
    cache?.clear()
    return keys
  }
  if (!keyRing) {
    const ids = certificates.map((c) => c.id)
    throw new CertificateKeyError(
      `certificate${ids.length > 1 ? 's' : ''} ${ids.slice(0, 3).join(', ')}${ids.length > 3 ? ' and more' : ''} arrived, but this agent has no LB_CERTIFICATE_KEYS to decrypt private keys with`,
      ids[0],
    )
  }
  for (const certificate of certificates) {
    const cached = cache?.get(certificate.id)
    if (
      cached &&
      cached.keyCiphertext === certificate.keyCiphertext &&
      cached.certificate === certificate.certificate &&
      cached.fingerprint === certificate.fingerprint
    ) {
      keys.set(certificate.id, cached.key)
      continue
    }
    const key = checkedKey(certificate, keyRing)
    keys.set(certificate.id, key)
    cache?.set(certificate.id, {
      keyCiphertext: certificate.keyCiphertext,
      certificate: certificate.certificate,
      fingerprint: certificate.fingerprint,
      key,
    })
  }
  if (cache) for (const id of cache.keys()) if (!keys.has(id)) cache.delete(id)
  return keys
}

function checkedKey(certificate: RoutedCertificate, keyRing: SecretBox): string {
  const id = certificate.id
  const fail = (reason: string) => new CertificateKeyError(`certificate ${id}: ${reason}`, id)
  let keyId: string
  try {
    keyId = keyRing.keyIdOf(certificate.keyCiphertext)
  } catch {
    throw fail('its private key is not a ciphertext of LB_CERTIFICATE_KEYS')
  }
  let pem: string
  try {
    pem = keyRing.decrypt(certificate.keyCiphertext)
  } catch {
    // The key ring's own message names SECRETS_KEYS; this one is about the agents' keys.
    throw fail(
      `its private key does not decrypt with LB_CERTIFICATE_KEYS (key id "${keyId}": missing from this agent's keys, or not the same key)`,
    )
  }
  let key: KeyObject
  try {
    key = createPrivateKey(pem)
  } catch {
    throw fail('its decrypted private key is not a PEM private key')
  }
  const leafPem = FIRST_CERTIFICATE.exec(certificate.certificate)?.[0]
  let leaf: X509Certificate
  try {
    if (!leafPem) throw new Error('no certificate')
    leaf = new X509Certificate(leafPem)
  } catch {
    throw fail('its chain does not start with a PEM certificate')
  }
  if (createHash('sha256').update(leaf.raw).digest('hex') !== certificate.fingerprint)
    throw fail('its fingerprint is not that of its leaf certificate')
  if (!leaf.checkPrivateKey(key)) throw fail('its private key does not belong to its leaf certificate')
  return pem
}
