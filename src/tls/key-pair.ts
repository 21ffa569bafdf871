/**
 * A PEM certificate (chain) and its private key, checked the way a TLS server would use them: the first
 * certificate parses, the key parses, and the key belongs to the certificate. Used at config load (each
 * fault becomes a problem at its JSON path) and on every reload (a fault keeps the old pair serving).
 */
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createSecureContext } from 'node:tls'

export interface KeyPair {
  /** PEM text of the certificate file (leaf first, then any intermediates). */
  readonly cert: string
  /** PEM text of the private key file. */
  readonly key: string
}

/** What the log says about a certificate: enough to tell an old one from a new one. */
export interface CertificateSummary {
  readonly subject: string
  readonly serialNumber: string
  readonly validTo: string
  readonly fingerprint256: string
}

export type KeyPairFault =
  | { readonly part: 'cert', readonly message: string, readonly hint: string }
  | { readonly part: 'key', readonly message: string, readonly hint: string }

/** The leaf certificate's summary, or the reason the pair cannot serve TLS. */
export function checkKeyPair (pair: KeyPair): { summary: CertificateSummary } | { fault: KeyPairFault } {
  let certificate: X509Certificate
  try {
    certificate = new X509Certificate(pair.cert)
  } catch {
    return { fault: { part: 'cert', message: 'is not a PEM certificate', hint: 'the file must start with -----BEGIN CERTIFICATE-----' } }
  }
  let matches: boolean
  try {
    matches = certificate.checkPrivateKey(createPrivateKey(pair.key))
  } catch {
    // An encrypted key lands here too: the gateway has no passphrase to open it with.
    return { fault: { part: 'key', message: 'is not an unencrypted PEM private key', hint: 'export it without a passphrase, e.g. openssl pkey -in key.pem -out key.pem' } }
  }
  if (!matches) {
    return { fault: { part: 'key', message: 'does not belong to the certificate', hint: 'use the private key the certificate was issued for' } }
  }
  try {
    // What the listener will do with the pair: OpenSSL refuses, for one, keys below its security level.
    createSecureContext({ cert: pair.cert, key: pair.key })
  } catch (error) {
    return { fault: { part: 'cert', message: `cannot serve TLS: ${(error as Error).message}`, hint: 'use an RSA key of 2048 bits or more, or an EC key' } }
  }
  return {
    summary: {
      subject: certificate.subject.replace(/\n/g, ', '),
      serialNumber: certificate.serialNumber,
      validTo: certificate.validTo,
      fingerprint256: certificate.fingerprint256
    }
  }
}

/** Reads and checks the pair; throws with a one-line reason when it cannot serve. */
export async function readKeyPair (certFile: string, keyFile: string): Promise<KeyPair & { summary: CertificateSummary }> {
  const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')])
  const checked = checkKeyPair({ cert, key })
  if ('fault' in checked) {
    throw new Error(`${checked.fault.part === 'cert' ? certFile : keyFile} ${checked.fault.message}`)
  }
  return { cert, key, summary: checked.summary }
}
