import { describe, expect, it } from 'vitest'
import { accepted, redact } from '@/lb-agent/haproxy'

const FILE = '/etc/lb/certs/c1.pem'
const LIST = '/etc/lb/crt-list.txt'

// Answers recorded from HAProxy 2.6.12 (Debian 12) over the admin socket, trimmed as haproxy.ts trims them.
const cases: [string, string, boolean][] = [
  ['add map /etc/lb/hosts.map a.test be_a', '', true],
  ['add server be_a/as_1 10.0.0.1:80', 'New server registered.', true],
  ['del server be_a/as_1', 'Server deleted.', true],
  ['set server be_a/as_1 state drain', 'No such server.', false],
  [`new ssl cert ${FILE}`, `New empty certificate store '${FILE}'!`, true],
  [`new ssl cert ${FILE}`, `Certificate '${FILE}' already exists!`, false],
  [`set ssl cert ${FILE}`, `Transaction created for certificate ${FILE}!`, true],
  [`set ssl cert ${FILE}`, `Transaction updated for certificate ${FILE}!`, true],
  // Another certificate's transaction was still open: HAProxy put the payload there. Not a success.
  [`set ssl cert ${FILE}`, 'Transaction updated for certificate /etc/lb/certs/other.pem!', false],
  [`set ssl cert ${FILE}`, `unable to load certificate from file '${FILE}'.\nCan't load the payload\nCan't update ${FILE}!`, false],
  [`set ssl cert ${FILE}`, `Can't replace a certificate which is not referenced by the configuration!\nCan't update ${FILE}!`, false],
  [`commit ssl cert ${FILE}`, `Committing ${FILE}\nSuccess!`, true],
  [`commit ssl cert ${FILE}`, `Committing ${FILE}...\nSuccess!`, true],
  [`commit ssl cert ${FILE}`, `No ongoing transaction! !\nCan't commit ${FILE}!`, false],
  [`commit ssl cert ${FILE}`, `inconsistencies between private key and certificate loaded '${FILE}'.\nCan't commit ${FILE}!`, false],
  [`add ssl crt-list ${LIST}`, `Inserting certificate '${FILE}' in crt-list '${LIST}'.\nSuccess!`, true],
  [`del ssl crt-list ${LIST} ${FILE}`, `Entry '${FILE}' deleted in crtlist '${LIST}'!`, true],
  [
    `del ssl crt-list ${LIST} ${FILE}`,
    `Can't delete the entry: certificate '${FILE}' cannot be deleted, it is used as default certificate by the following frontends:\n\t- haproxy.cfg:13`,
    false,
  ],
  [`del ssl cert ${FILE}`, `Certificate '${FILE}' deleted!`, true],
  [`del ssl cert ${FILE}`, `Can't remove the certificate: certificate '${FILE}' in use, can't be deleted!`, false],
]

describe('accepted', () => {
  it.each(cases)('%s → %j: %s', (command, answer, ok) => {
    expect(accepted(command, answer)).toBe(ok)
  })
})

describe('redact', () => {
  it('cuts PEM blocks out of an answer, even one cut short', () => {
    expect(redact("bad: -----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\nCan't load")).toBe(
      "bad: [PRIVATE KEY redacted]\nCan't load",
    )
    expect(redact('-----BEGIN RSA PRIVATE KEY-----\nMIIE')).toBe('[RSA PRIVATE KEY redacted]')
    expect(redact('No such server.')).toBe('No such server.')
  })
})
