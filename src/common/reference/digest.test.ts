// Tests for sha256 helpers and go-digest-compatible validation.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  InvalidDigestError,
  createDigester,
  digestHex,
  parseDigest,
  sha256Hex,
  validateDigest,
  type Digest,
} from './digest.js';

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const ABC_SHA256 = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';

function throwsDigest(fn: () => unknown, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidDigestError, `expected InvalidDigestError, got ${String(err)}`);
    assert.equal(err.message, message);
    return true;
  });
}

describe('sha256Hex', () => {
  it('hashes known vectors', () => {
    assert.equal(sha256Hex(''), EMPTY_SHA256);
    assert.equal(sha256Hex('abc'), ABC_SHA256);
    assert.equal(sha256Hex(Buffer.from('abc')), ABC_SHA256);
    assert.equal(sha256Hex(new Uint8Array([0x61, 0x62, 0x63])), ABC_SHA256);
  });
  it('hashes strings as UTF-8', () => {
    assert.equal(sha256Hex('☃'), sha256Hex(Buffer.from([0xe2, 0x98, 0x83])));
  });
});

describe('createDigester', () => {
  it('matches one-shot hashing across chunks', () => {
    const d = createDigester();
    d.update('a').update(Buffer.from('b')).update(new Uint8Array([0x63]));
    assert.equal(d.digest(), `sha256:${ABC_SHA256}`);
  });
  it('digest() is repeatable, update() after it is an error', () => {
    const d = createDigester();
    assert.equal(d.digest(), `sha256:${EMPTY_SHA256}`);
    assert.equal(d.digest(), `sha256:${EMPTY_SHA256}`);
    assert.throws(() => d.update('x'));
  });
});

describe('parseDigest', () => {
  it('accepts sha256 with 64 lowercase hex', () => {
    const d: Digest = parseDigest(`sha256:${ABC_SHA256}`);
    assert.equal(d, `sha256:${ABC_SHA256}`);
    assert.equal(digestHex(d), ABC_SHA256);
  });
  // Expected messages follow go-digest v1.0.0's Digest.Validate ordering.
  const cases: [string, string][] = [
    ['', 'invalid checksum digest format'],
    ['sha256', 'invalid checksum digest format'],
    ['sha256:', 'invalid checksum digest format'],
    [`:${ABC_SHA256}`, 'invalid checksum digest format'],
    [ABC_SHA256, 'invalid checksum digest format'],
    ['sha256:abc', 'invalid checksum digest length'],
    [`sha256:${ABC_SHA256}0`, 'invalid checksum digest length'],
    [`sha256:${ABC_SHA256.toUpperCase()}`, 'invalid checksum digest format'],
    [`sha256:${'g'.repeat(64)}`, 'invalid checksum digest format'],
    [`md5:${'0'.repeat(32)}`, 'unsupported digest algorithm'],
    [`sha512:${'0'.repeat(128)}`, 'unsupported digest algorithm'],
    [`SHA256:${ABC_SHA256}`, 'invalid checksum digest format'],
    [`sha256 :${ABC_SHA256}`, 'invalid checksum digest format'],
  ];
  for (const [input, message] of cases) {
    it(`${JSON.stringify(input.slice(0, 24))} → ${message}`, () => {
      throwsDigest(() => parseDigest(input), message);
    });
  }
});

describe('validateDigest (all go-digest algorithms)', () => {
  it('accepts sha384 and sha512', () => {
    validateDigest(`sha384:${'0'.repeat(96)}`);
    validateDigest(`sha512:${'0'.repeat(128)}`);
  });
  it('checks their lengths', () => {
    throwsDigest(() => validateDigest(`sha512:${'0'.repeat(64)}`), 'invalid checksum digest length');
    throwsDigest(() => validateDigest(`sha384:${'0'.repeat(64)}`), 'invalid checksum digest length');
  });
});
