import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IdentityMapping, rootPair, toContainer, toHost } from './idmap.js';

test('container IDs run consecutively over the subordinate ranges, in file order', () => {
  const m = IdentityMapping.fromSubordinateRanges(
    [{ start: 100000, length: 1000 }, { start: 500000, length: 65536 }],
    [{ start: 200000, length: 65536 }],
  );
  assert.deepEqual(m.uids, [
    { containerID: 0, hostID: 100000, size: 1000 },
    { containerID: 1000, hostID: 500000, size: 65536 },
  ]);
  assert.deepEqual(m.rootPair(), { uid: 100000, gid: 200000 });
  assert.deepEqual(m.toHost({ uid: 999, gid: 5 }), { uid: 100999, gid: 200005 });
  assert.deepEqual(m.toHost({ uid: 1000, gid: 0 }), { uid: 500000, gid: 200000 });
  assert.deepEqual(m.toContainer({ uid: 500001, gid: 200007 }), { uid: 1001, gid: 7 });
});

test('IDs outside the ranges are errors, with dockerd\'s wording', () => {
  const m = IdentityMapping.fromSubordinateRanges([{ start: 100000, length: 10 }], [{ start: 100000, length: 10 }]);
  assert.throws(() => m.toHost({ uid: 10, gid: 0 }), /Container ID 10 cannot be mapped to a host ID/);
  assert.throws(() => m.toContainer({ uid: 0, gid: 0 }), /Host uid 0 cannot be mapped to a container ID/);
});

test('without a mapping every helper is the identity', () => {
  assert.deepEqual(toHost(undefined, { uid: 7, gid: 8 }), { uid: 7, gid: 8 });
  assert.deepEqual(toContainer(undefined, { uid: 7, gid: 8 }), { uid: 7, gid: 8 });
  assert.deepEqual(rootPair(undefined), { uid: 0, gid: 0 });
});
