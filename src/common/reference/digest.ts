// Content digests ("sha256:<hex>"): hashing helpers and validation ported from
// github.com/opencontainers/go-digest v1.0.0, so error messages match Docker's.
import { createHash, type Hash } from 'node:crypto';

/** A validated sha256 content digest, e.g. "sha256:e3b0c442…". */
export type Digest = `sha256:${string}`;

// go-digest's sentinel error messages. v1.0.0 (what Docker vendors) still has
// a distinct length error; later go-digest folded it into the format error.
const ERR_DIGEST_INVALID_FORMAT = 'invalid checksum digest format';
const ERR_DIGEST_INVALID_LENGTH = 'invalid checksum digest length';
const ERR_DIGEST_UNSUPPORTED = 'unsupported digest algorithm';

export class InvalidDigestError extends Error {
  override name = 'InvalidDigestError';
}

// go-digest's DigestRegexpAnchored: consulted only for algorithms it cannot
// compute, to choose between "format" and "unsupported".
const anchoredDigestRegexp = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

// Hex length and encoded-value pattern per algorithm go-digest knows about.
// Uppercase hex is deliberately rejected, as in go-digest.
const ALGORITHMS: ReadonlyMap<string, { hexLength: number; encoded: RegExp }> = new Map([
  ['sha256', { hexLength: 64, encoded: /^[a-f0-9]{64}$/ }],
  ['sha384', { hexLength: 96, encoded: /^[a-f0-9]{96}$/ }],
  ['sha512', { hexLength: 128, encoded: /^[a-f0-9]{128}$/ }],
]);

const ALL_ALGORITHMS: ReadonlySet<string> = new Set(ALGORITHMS.keys());
const SHA256_ONLY: ReadonlySet<string> = new Set(['sha256']);

/**
 * Port of go-digest's Digest.Validate. `available` is the set of algorithms
 * treated as registered: Docker registers sha256/sha384/sha512, which is what
 * image references accept, while our own content store only speaks sha256.
 */
export function validateDigest(s: string, available: ReadonlySet<string> = ALL_ALGORITHMS): void {
  const i = s.indexOf(':');
  if (i <= 0 || i + 1 === s.length) {
    throw new InvalidDigestError(ERR_DIGEST_INVALID_FORMAT);
  }
  const algorithm = s.slice(0, i);
  const encoded = s.slice(i + 1);
  const spec = available.has(algorithm) ? ALGORITHMS.get(algorithm) : undefined;
  if (spec === undefined) {
    if (!anchoredDigestRegexp.test(s)) {
      throw new InvalidDigestError(ERR_DIGEST_INVALID_FORMAT);
    }
    throw new InvalidDigestError(ERR_DIGEST_UNSUPPORTED);
  }
  // Length is checked before the character set, so "sha256:XYZ" reports a
  // length error rather than a format error, exactly like go-digest.
  if (encoded.length !== spec.hexLength) {
    throw new InvalidDigestError(ERR_DIGEST_INVALID_LENGTH);
  }
  if (!spec.encoded.test(encoded)) {
    throw new InvalidDigestError(ERR_DIGEST_INVALID_FORMAT);
  }
}

/** Validates `s` as "sha256:" + 64 lowercase hex; throws InvalidDigestError otherwise. */
export function parseDigest(s: string): Digest {
  validateDigest(s, SHA256_ONLY);
  return s as Digest;
}

/** The hex part of a digest (go-digest's Encoded()). */
export function digestHex(d: Digest): string {
  return d.slice(d.indexOf(':') + 1);
}

/** Lowercase hex sha256 of `data`; strings are hashed as UTF-8, like Go's []byte(s). */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Incremental sha256 over a stream of chunks. */
export interface Digester {
  update(chunk: Uint8Array | string): Digester;
  /** Final digest; may be called repeatedly, but no update() may follow it. */
  digest(): Digest;
}

export function createDigester(): Digester {
  const hash: Hash = createHash('sha256');
  // node's Hash.digest() can only run once; caching lets callers read the
  // digest more than once (e.g. to log it and then store it).
  let result: Digest | undefined;
  const digester: Digester = {
    update(chunk) {
      if (result !== undefined) {
        throw new Error('digester: update after digest');
      }
      hash.update(chunk);
      return digester;
    },
    digest() {
      result ??= `sha256:${hash.digest('hex')}`;
      return result;
    },
  };
  return digester;
}
