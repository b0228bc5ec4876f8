import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ContainerStore } from './store.js';
import type { ContainerRecord } from './types.js';

function record(): ContainerRecord {
  return { Id: randomBytes(32).toString('hex'), Name: `/c${randomBytes(4).toString('hex')}`, State: { Status: 'exited' } } as unknown as ContainerRecord;
}

test('a save that lands after the delete does not bring the container back (a healthcheck result racing --rm)', async () => {
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'berth-cstore-'));
  try {
    const store = await ContainerStore.open(root);
    for (let i = 0; i < 20; i++) {
      const c = record();
      await store.save(c);
      // The late writer starts first; the delete overtakes it.
      const late = store.save({ ...c, State: { ...c.State, Health: { Status: 'unhealthy', FailingStreak: 0, Log: [] } } } as ContainerRecord).catch(() => undefined);
      await store.delete(c.Id);
      await late;
      // And one that starts after the delete.
      await store.save(c);
      assert.equal(store.get(c.Id), undefined);
    }
    const reopened = await ContainerStore.open(root);
    assert.deepEqual(reopened.list(), []);
    assert.deepEqual((await fsp.readdir(root)).filter((n) => !n.startsWith('.trash-')), []);
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
  }
});
