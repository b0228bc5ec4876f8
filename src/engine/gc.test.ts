/**
 * The garbage collector on a real local content store and overlay
 * snapshotter (nothing is mounted): roots, labels, parents, leases, the
 * cheap candidate path and stale ingests.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { LocalContentStore } from './content/store.js';
import { LABEL_GC_REF_CONTENT, writeBlob } from './content/content.js';
import { OverlaySnapshotter } from './snapshot/overlay.js';
import { GarbageCollector, type References } from './gc.js';
import type { Digest } from '../common/reference/digest.js';

async function setup(opts: { ingestExpiryMs?: number } = {}) {
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'berth-gc-'));
  const content = await LocalContentStore.open(path.join(root, 'content'));
  const snapshots = await OverlaySnapshotter.open(path.join(root, 'overlay2'));
  const gc = new GarbageCollector(content, snapshots, opts);
  const roots: References = { content: new Set(), snapshots: new Set(), ingests: new Set() };
  gc.addRoots('test', (r) => {
    for (const d of roots.content) r.content.add(d);
    for (const s of roots.snapshots) r.snapshots.add(s);
  });
  const layer = async (name: string, parent?: string) => {
    const key = `extract-${name}`;
    await snapshots.prepare(key, parent);
    await snapshots.commit(name, key);
  };
  const blob = async (s: string, labels: Record<string, string> = {}) => (await writeBlob(content, `w-${s}`, Buffer.from(s), { labels })).digest;
  const blobs = async () => {
    const out: Digest[] = [];
    await content.walk((i) => void out.push(i.digest));
    return out.sort();
  };
  const names = async () => {
    const out: string[] = [];
    await snapshots.walk((s) => void out.push(s.name));
    return out.sort();
  };
  return { root, content, snapshots, gc, roots, layer, blob, blobs, names, cleanup: () => fsp.rm(root, { recursive: true, force: true }) };
}

test('gc: keeps what roots reach through labels and parents; removes the rest, children first', async () => {
  const t = await setup();
  try {
    const c = await t.blob('layer c');
    const a = await t.blob('config a', { [`${LABEL_GC_REF_CONTENT}l.0`]: c });
    const b = await t.blob('unreferenced b');
    await t.layer('l1');
    await t.layer('l2', 'l1');
    await t.layer('l3', 'l2');
    await t.layer('l3b', 'l3');
    await t.layer('other');
    t.roots.content.add(a);
    t.roots.snapshots.add('l2');
    const r = await t.gc.run();
    assert.deepEqual(r.content, [b]);
    assert.deepEqual(r.snapshots, ['l3b', 'l3', 'other']);
    assert.deepEqual(await t.blobs(), [a, c].sort());
    assert.deepEqual(await t.names(), ['l1', 'l2']);
    // Dropping the root frees everything, top first.
    t.roots.content.clear();
    t.roots.snapshots.clear();
    const r2 = await t.gc.run();
    assert.deepEqual(r2.snapshots, ['l2', 'l1']);
    assert.deepEqual(await t.blobs(), []);
  } finally {
    await t.cleanup();
  }
});

test('gc: a lease keeps blobs, snapshots (with parents) and ingests until it is released', async () => {
  const t = await setup({ ingestExpiryMs: 0 });
  try {
    const d = await t.blob('in flight');
    await t.layer('base');
    await t.layer('top', 'base');
    const w = await t.content.writer('pull-x');
    await w.write(Buffer.from('partial'));
    await w.close();
    const stale = await t.content.writer('stale');
    await stale.write(Buffer.from('old'));
    await stale.close();
    const lease = t.gc.lease('test');
    lease.addContent(d);
    lease.addSnapshot('top');
    lease.addIngest('pull-x');
    const r = await t.gc.run();
    assert.deepEqual(r.content, []);
    assert.deepEqual(r.snapshots, []);
    assert.deepEqual(r.ingests, ['stale']);
    assert.deepEqual((await t.content.ingests()).map((i) => i.ref), ['pull-x']);
    lease.release();
    const r2 = await t.gc.run();
    assert.deepEqual(r2.content, [d]);
    assert.deepEqual(r2.snapshots, ['top', 'base']);
    assert.deepEqual(r2.ingests, ['pull-x']);
  } finally {
    await t.cleanup();
  }
});

test('gc: the candidate path removes only the candidates no other root holds', async () => {
  const t = await setup();
  try {
    await t.layer('image');
    await t.snapshots.prepare('c1-init', 'image');
    await t.snapshots.commit('c1-init', 'c1-init');
    await t.snapshots.prepare('c1', 'c1-init');
    await t.layer('unrelated');
    t.roots.snapshots.add('image');
    const held = new Set(['c1', 'c1-init']);
    t.gc.addRoots('containers', (r) => {
      for (const k of held) r.snapshots.add(k);
    });
    // Still held by its container: nothing goes.
    assert.deepEqual(await t.gc.collectSnapshots(['c1', 'c1-init']), []);
    // The container lets go (except: its own root): its two snapshots go, child first; nothing else does.
    assert.deepEqual(await t.gc.collectSnapshots(['c1', 'c1-init'], { except: 'containers' }), ['c1', 'c1-init']);
    assert.deepEqual(await t.names(), ['image', 'unrelated']);
  } finally {
    await t.cleanup();
  }
});
