// The certificate a receiver made by monitoring-deploy shows, and how a client pins it.
import { X509Certificate } from 'node:crypto';

/** The name a certificate made by monitoring-deploy for the receiver carries (its only SAN). */
export const RECEIVER_TLS_NAME = 'monitoring-deploy-receiver';

/**
 * The name to ask a pinned certificate for: RECEIVER_TLS_NAME for the receiver's own (agents
 * reach it by an address it cannot know); undefined for any other, checked against the URL's host.
 */
export function pinnedName(ca: string | undefined): string | undefined {
  if (!ca) return undefined;
  try {
    const names = new X509Certificate(ca).subjectAltName?.split(', ') ?? [];
    return names.includes(`DNS:${RECEIVER_TLS_NAME}`) ? RECEIVER_TLS_NAME : undefined;
  } catch {
    return undefined;
  }
}
