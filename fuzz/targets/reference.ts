/**
 * @module fuzz/targets/reference
 * Image references (src/common/reference, distribution/reference's
 * grammar): any string either parses or is an InvalidReferenceError, and a
 * parsed reference's string form parses back to itself.
 */
import assert from 'node:assert/strict';
import {
  familiarString, InvalidReferenceError, isDigest, isFullOrShortId, isRepositoryPath, isTag, parse, parseDockerRef, parseNormalizedNamed, referenceString, type Reference,
} from '../../src/common/reference/reference.js';

export const maxLen = 1024;
export const dictionary = ['docker.io/', 'library/', 'localhost:5000/', '127.0.0.1:5000/', '[::1]:5000/', ':latest', '@sha256:', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', '/', '.', '-', '_', '__', 'A', 'sha256:'];

function attempt(fn: (s: string) => Reference, s: string): Reference | undefined {
  try {
    return fn(s);
  } catch (err) {
    if (err instanceof InvalidReferenceError) return undefined;
    throw err;
  }
}

export function fuzz(data: Buffer): void {
  const s = data.toString('utf8');
  for (const fn of [parse, parseNormalizedNamed, parseDockerRef]) {
    const r = attempt(fn, s);
    if (!r) continue;
    const str = referenceString(r);
    assert.equal(referenceString(parse(str)), str, `${fn.name}(${JSON.stringify(s)}) gave ${str}, which does not parse back to itself`);
    if (fn === parse) continue;
    // What the CLI prints for a normalized reference must name the same one, except where Docker's
    // familiar form is itself ambiguous: docker.io/a.b/c prints as a.b/c, whose first part reads as a registry.
    const familiar = familiarString(r);
    const first = familiar.split('/')[0]!;
    if (familiar.includes('/') && (/[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase())) continue;
    // docker.io/library/<64 hex> prints as the bare hex, which Docker reads as an image ID, not a name.
    if (/^[a-f0-9]{64}(?:[:@]|$)/.test(familiar)) continue;
    assert.equal(referenceString(parseNormalizedNamed(familiar)), str, `familiar form ${familiar} of ${str} names another reference`);
  }
  isDigest(s);
  isFullOrShortId(s);
  isTag(s);
  isRepositoryPath(s);
}
