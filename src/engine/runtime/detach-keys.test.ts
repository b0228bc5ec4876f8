import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DetachKeyMatcher, parseDetachKeys } from './detach-keys.js';

test('parseDetachKeys follows moby term.ToBytes', () => {
  assert.deepEqual([...parseDetachKeys('ctrl-p,ctrl-q')!], [16, 17]);
  assert.deepEqual([...parseDetachKeys('a,ctrl-@,ctrl-[,ctrl-_,DEL')!], [97, 0, 27, 31, 127]);
  assert.equal(parseDetachKeys('ctrl-1'), undefined);
  assert.equal(parseDetachKeys('abc'), undefined);
});

test('DetachKeyMatcher finds the sequence across reads and passes what precedes it', () => {
  const m = new DetachKeyMatcher(Buffer.from([16, 17]));
  assert.deepEqual(m.feed(Buffer.from('ab\x10')), { pass: Buffer.from('ab'), detach: false });
  assert.deepEqual(m.feed(Buffer.from('\x11zz')), { pass: Buffer.alloc(0), detach: true });
  const n = new DetachKeyMatcher(Buffer.from([16, 17]));
  // ctrl-p not followed by ctrl-q goes through; a second ctrl-p may start the sequence again.
  assert.deepEqual(n.feed(Buffer.from('\x10x\x10\x10')), { pass: Buffer.from('\x10x\x10'), detach: false });
  assert.deepEqual(n.flush(), Buffer.from([16]));
  assert.deepEqual(new DetachKeyMatcher(Buffer.from('q')).feed(Buffer.from('abq')), { pass: Buffer.from('ab'), detach: true });
});
