// Serialises a Spec to config.json text. JSON.stringify cannot do it alone:
// RLIM_INFINITY (2^64-1) is a bigint, which it rejects, and as a JS number it
// would round to 18446744073709552000, which runc's uint64 decoder refuses.
import { randomUUID } from 'node:crypto';
import type { Process, Spec } from './types.js';

/**
 * config.json text for `spec` (or a lone process, for `runc exec --process`),
 * with bigints written as plain JSON integers.
 */
export function specToJSON(spec: Spec | Process, space?: number): string {
  // A per-call marker cannot collide with any string in the spec (env, args…).
  const marker = `__bigint_${randomUUID()}__`;
  const text = JSON.stringify(
    spec,
    (_key, value: unknown) => (typeof value === 'bigint' ? `${marker}${value.toString()}` : value),
    space,
  );
  return text.replace(new RegExp(`"${marker}(\\d+)"`, 'g'), '$1');
}
