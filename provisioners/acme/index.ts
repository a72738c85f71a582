export { createAcmeCa, ZAcmeCaOptions, ZAcmeOrderRequest, type AcmeCaOptions } from './ca'
export { ariCertId, describeIssuedChain, readLeafFields, serialHex, splitPemChain, CertificateChainError } from './certificate'
