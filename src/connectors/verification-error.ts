/**
 * Thrown by a connector's `authenticate` when it cannot verify a request now for want of
 * something outside Quell (the SNS signing certificate cannot be fetched): answered
 * `503 verification_unavailable`, so the source retries; nothing is queued.
 */
export class VerificationUnavailableError extends Error {
  override name = 'VerificationUnavailableError';
}
