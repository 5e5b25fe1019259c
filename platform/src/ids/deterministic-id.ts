import { createHash } from 'node:crypto';

/**
 * A name-based UUID (RFC 9562 version 5: SHA-1 of namespace + name). The same
 * inputs give the same id, so an event produced while handling message M gets
 * the same id on every redelivery of M, and the store deduplicates the retry.
 */
export function deterministicId(...parts: (string | number)[]): string {
  const hash = createHash('sha1').update(NAMESPACE).update(parts.join('\u001f')).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

// Fixed namespace of this platform's ids (a random UUID, chosen once).
const NAMESPACE = Buffer.from('6f1b9e4c2d7a4e0fa3c85b1d9e2f7a40', 'hex');
