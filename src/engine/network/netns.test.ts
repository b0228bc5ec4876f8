/**
 * The namespace store's spares, on real namespaces (root): a spare is made
 * only once no start or exit is in hand, is prepared, is taken through a
 * symlink with what prepare() gave, goes with its taker; a dropped spare is
 * discarded; a killed daemon's spares are found as strays; close() unpins
 * what is held.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NetnsStore, type NetnsKind } from './netns.js';

const mounted = (p: string) => readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${p} `);

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(cond(), what);
}

test('spares: made when idle, prepared, taken by symlink, discarded when dropped, unpinned at close', async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'bt-netns-'));
  const store = new NetnsStore(path.join(root, 'netns'), { spares: true });
  const prepared: string[] = [];
  const discarded: string[] = [];
  const kind: NetnsKind<string> = {
    key: 'k',
    prepare: async (netns, name) => {
      assert.ok(mounted(netns), 'prepare() gets a pinned namespace');
      prepared.push(name);
      return `ready:${name}`;
    },
    discard: async (name, p) => {
      assert.equal(p, `ready:${name}`);
      discarded.push(name);
    },
  };
  try {
    // Nothing is made while a start is in hand.
    const done = store.busy();
    store.want(kind);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(prepared, []);
    done();
    await until('a spare is made once idle', () => prepared.length === 1 && store.held().length === 1);
    const spare = path.join(store.spareDir, prepared[0]!);
    assert.ok(mounted(spare));

    // Taken: a symlink to the spare, with what prepare() gave.
    const id = 'a'.repeat(64);
    const got = await store.create(id, kind);
    assert.equal(got.prepared, `ready:${prepared[0]}`);
    assert.ok(lstatSync(got.path).isSymbolicLink());
    assert.equal(path.resolve(path.dirname(got.path), readlinkSync(got.path)), spare);
    assert.deepEqual(await store.strayedSpares(new Set([id.slice(0, 12)])), [], 'a taken spare is its taker\'s');
    // The taker's removal unpins the spare.
    await store.remove(id);
    assert.equal(existsSync(got.path), false);
    assert.equal(existsSync(spare), false);
    assert.ok(!mounted(spare));
    assert.deepEqual(discarded, [], 'a taken spare is not discarded: its preparation went to the taker');

    // A new spare follows; a store that does not hold it (a killed daemon's) finds it stray.
    await until('another spare is made', () => prepared.length === 2 && store.held().length === 1);
    const other = new NetnsStore(path.join(root, 'netns'));
    assert.deepEqual(await other.strayedSpares(new Set()), [path.join(store.spareDir, prepared[1]!)]);
    assert.deepEqual(await store.strayedSpares(new Set()), [], 'its own daemon holds it');

    // Without a spare, create() makes one on the spot (no preparation).
    store.busy();
    const cold = await store.create('b'.repeat(64), { key: 'plain' });
    assert.equal(cold.prepared, undefined);
    assert.ok(mounted(cold.path) && !lstatSync(cold.path).isSymbolicLink());
    await store.remove('b'.repeat(64));
    assert.ok(!mounted(cold.path));

    await store.close();
    assert.deepEqual(discarded, [prepared[1]], 'close() discards the held spare');
    assert.deepEqual(readdirSync(store.spareDir), []);
  } finally {
    await store.close();
    // Whatever a failure left pinned.
    for (const l of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const mp = l.split(' ')[4];
      if (mp?.startsWith(`${root}/`)) execFileSync('umount', ['-l', mp]);
    }
    rmSync(root, { recursive: true, force: true });
  }
});
