// A private key the SSH client reads, made for one test run and trusted by no host: a key that
// only looks like one (the BEGIN line around a few bytes) is refused before any connection.
import { generateKeyPairSync } from 'node:crypto';

/** An ECDSA P-256 key in the PEM form ssh2 reads (SEC1, "-----BEGIN EC PRIVATE KEY-----"). */
export function throwawayPrivateKey(): string {
  return generateKeyPairSync('ec', {
    namedCurve: 'prime256v1',
    privateKeyEncoding: { type: 'sec1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  }).privateKey;
}
