import type { X509Certificate } from 'node:crypto'
import { invalidInput, type FieldError } from '@/lib/errors'
import type { CertificateFields } from './certificate-fields'

/** The fields of an upload a problem can be about. */
export type UploadField = 'certificate' | 'chain' | 'privateKey' | 'bundle' | 'password'

/** One certificate of an upload, where it came from and its place in the served order (1 is the leaf). */
export interface UploadedCertificate {
  x509: X509Certificate
  fields: CertificateFields
  field: UploadField
  position: number
}

/**
 * Collects what is wrong with an upload so one answer lists every problem that can be known at that stage
 * (reading first, then the checks), rather than one per attempt.
 */
export class UploadProblems {
  readonly list: FieldError[] = []

  add(field: UploadField, message: string): void {
    this.list.push({ field, message })
  }

  /** Throws the invalid_input DomainError listing every problem so far, if there is any. */
  throwIfAny(): void {
    if (this.list.length > 0) throw invalidInput([...this.list])
  }
}

/**
 * How a message names a certificate: not at all for the leaf in its own field ("certificate: expired on …"), "the
 * certificate" for the leaf inside a PKCS#12 bundle, "certificate N" otherwise (numbered from 1, the leaf).
 */
export function nameOf(certificate: Pick<UploadedCertificate, 'field' | 'position'>): string {
  if (certificate.position === 1) return certificate.field === 'certificate' ? '' : 'the certificate'
  return `certificate ${certificate.position}`
}

/** `statement` about `certificate`, e.g. say(leaf, 'expired on …') = "expired on …", "certificate 2 expired on …". */
export function say(certificate: Pick<UploadedCertificate, 'field' | 'position'>, statement: string): string {
  const name = nameOf(certificate)
  return name ? `${name} ${statement}` : statement
}
