/**
 * The overlay snapshotter: the shared conformance suite, then what is its
 * own — records that survive a reopen, crash leftovers swept at open,
 * records from before the contract, and a real overlay mount (as root).
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { OverlaySnapshotter } from './overlay.js';
import { runSnapshotterConformance } from './conformance.js';
import { mountAll, unmount, isMountPoint } from './mount.js';
import { upperDirOf } from './snapshotter.js';

async function tempRoot(): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), 'berth-snap-'));
}

runSnapshotterConformance('overlay', async () => {
  const root = await tempRoot();
  const sn = await OverlaySnapshotter.open(path.join(root, 'overlay2'));
  return { snapshotter: sn, cleanup: () => fsp.rm(root, { recursive: true, force: true }) };
});

test('overlay snapshotter: committed and active snapshots survive a reopen; views do not', async () => {
  const root = await tempRoot();
  try {
    const dir = path.join(root, 'overlay2');
    const a = await OverlaySnapshotter.open(dir);
    const up = upperDirOf(await a.prepare('w'));
    await fsp.writeFile(path.join(up, 'f'), 'abc');
    await a.commit('sha256:' + 'a'.repeat(64), 'w', { labels: { l: 'v' } });
    await a.prepare('ctr', 'sha256:' + 'a'.repeat(64));
    await a.view('v', 'sha256:' + 'a'.repeat(64));
    assert.ok((await fsp.readdir(path.join(dir, 'layers'))).includes('a'.repeat(64)), 'a chain ID names its layer directory');
    const b = await OverlaySnapshotter.open(dir);
    const c = await b.stat('sha256:' + 'a'.repeat(64));
    assert.equal(c?.kind, 'committed');
    assert.deepEqual(c?.labels, { l: 'v' });
    assert.equal((await b.usage('sha256:' + 'a'.repeat(64))).size, 3);
    assert.equal((await b.stat('ctr'))?.parent, 'sha256:' + 'a'.repeat(64));
    assert.equal(await b.stat('v'), undefined);
    assert.deepEqual(await b.mounts('ctr'), await a.mounts('ctr'));
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
  }
});

test('overlay snapshotter: leftovers of a crash are swept at open, nothing else', async () => {
  const root = await tempRoot();
  try {
    const dir = path.join(root, 'overlay2');
    const a = await OverlaySnapshotter.open(dir);
    await a.prepare('keep');
    // A layer being made, a layer directory without its record, a link to nothing.
    await fsp.mkdir(path.join(dir, 'tmp', 'half', 'diff'), { recursive: true });
    await fsp.mkdir(path.join(dir, 'layers', 'b'.repeat(64), 'diff'), { recursive: true });
    await fsp.symlink('../layers/' + 'c'.repeat(64) + '/diff', path.join(dir, 'l', 'DANGLING'));
    const b = await OverlaySnapshotter.open(dir);
    assert.deepEqual(await fsp.readdir(path.join(dir, 'layers')), []);
    assert.deepEqual(await fsp.readdir(path.join(dir, 'l')), []);
    assert.equal((await b.stat('keep'))?.kind, 'active');
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual((await fsp.readdir(path.join(dir, 'tmp'))).filter((n) => !n.startsWith('rm-')), []);
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
  }
});

test('overlay snapshotter: reads layer records written before snapshot records', async () => {
  const root = await tempRoot();
  try {
    const dir = path.join(root, 'overlay2');
    await OverlaySnapshotter.open(dir);
    const chain = 'sha256:' + 'd'.repeat(64);
    const diffId = 'sha256:' + 'e'.repeat(64);
    await fsp.mkdir(path.join(dir, 'layers', 'd'.repeat(64), 'diff'), { recursive: true });
    await fsp.writeFile(path.join(dir, 'layers', 'd'.repeat(64), 'link'), 'OLDLINK');
    await fsp.symlink('../layers/' + 'd'.repeat(64) + '/diff', path.join(dir, 'l', 'OLDLINK'));
    await fsp.writeFile(path.join(dir, 'layers', 'd'.repeat(64), 'layer.json'), JSON.stringify({ chainId: chain, diffId, parent: null, size: 7 }));
    const sn = await OverlaySnapshotter.open(dir);
    const info = await sn.stat(chain);
    assert.equal(info?.kind, 'committed');
    assert.equal(info?.labels['berth.layer.diffid'], diffId);
    assert.equal((await sn.usage(chain)).size, 7);
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
  }
});

test('overlay snapshotter: the mounts it returns mount as overlay, writes land in the upper', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, async () => {
  const root = await tempRoot();
  const target = path.join(root, 'mnt');
  try {
    const sn = await OverlaySnapshotter.open(path.join(root, 'overlay2'));
    const up = upperDirOf(await sn.prepare('w'));
    await fsp.writeFile(path.join(up, 'below'), 'b');
    await sn.commit('base', 'w');
    const mounts = await sn.prepare('ctr', 'base');
    await fsp.mkdir(target);
    await mountAll(mounts, target);
    assert.ok(await isMountPoint(target));
    assert.equal(await fsp.readFile(path.join(target, 'below'), 'utf8'), 'b');
    await fsp.writeFile(path.join(target, 'above'), 'a');
    await fsp.rm(path.join(target, 'below'));
    await unmount(target);
    assert.equal(await fsp.readFile(path.join(upperDirOf(mounts), 'above'), 'utf8'), 'a');
    const wh = await fsp.lstat(path.join(upperDirOf(mounts), 'below'));
    assert.ok(wh.isCharacterDevice(), 'a deletion is an overlay whiteout in the upper');
  } finally {
    await unmount(target).catch(() => undefined);
    await fsp.rm(root, { recursive: true, force: true });
  }
});

test('overlay snapshotter: a commit that keeps its active snapshot, cut short at any step, is finished at open', async () => {
  // The states a daemon killed inside commit(…, { keep: true }) can leave, rebuilt by hand.
  const name = 'sha256:' + 'f'.repeat(64);
  const states = ['record only', 'layer without diff', 'copy back half done', 'copy back done, record not yet'] as const;
  for (const state of states) {
    const root = await tempRoot();
    try {
      const dir = path.join(root, 'overlay2');
      const a = await OverlaySnapshotter.open(dir);
      const up = upperDirOf(await a.prepare('ctr'));
      await fsp.writeFile(path.join(up, 'data'), 'precious');
      const rw = path.join(dir, 'rw', 'ctr');
      const rec = JSON.parse(await fsp.readFile(path.join(rw, 'snapshot.json'), 'utf8')) as Record<string, unknown>;
      await fsp.writeFile(path.join(rw, 'snapshot.json'), JSON.stringify({ ...rec, fill: name }));
      if (state !== 'record only') {
        const layer = path.join(dir, 'layers', 'f'.repeat(64));
        await fsp.mkdir(layer);
        await fsp.writeFile(path.join(layer, 'link'), 'SHORTLINK');
        await fsp.symlink(`../layers/${'f'.repeat(64)}/diff`, path.join(dir, 'l', 'SHORTLINK'));
        await fsp.writeFile(path.join(layer, 'snapshot.json'), JSON.stringify({ kind: 'committed', name, labels: {}, created: new Date().toISOString(), size: 8 }));
        if (state !== 'layer without diff') {
          await fsp.rename(up, path.join(layer, 'diff'));
          if (state === 'copy back half done') await fsp.mkdir(path.join(rw, 'diff.fill'));
          if (state === 'copy back done, record not yet') await fsp.cp(path.join(layer, 'diff'), up, { recursive: true });
        }
      }
      const b = await OverlaySnapshotter.open(dir);
      const kept = upperDirOf(await b.mounts('ctr'));
      assert.equal(await fsp.readFile(path.join(kept, 'data'), 'utf8'), 'precious', state);
      const layerInfo = await b.stat(name);
      if (state === 'record only') assert.equal(layerInfo, undefined, state);
      else {
        assert.equal(layerInfo?.kind, 'committed', state);
        const v = await b.view('v', name);
        assert.equal(await fsp.readFile(path.join(upperDirOf([{ ...v[0]!, type: 'bind' }]), 'data'), 'utf8'), 'precious', state);
      }
      const after = JSON.parse(await fsp.readFile(path.join(rw, 'snapshot.json'), 'utf8')) as Record<string, unknown>;
      assert.equal(after.fill, undefined, `${state}: the record forgets the refill`);
    } finally {
      await fsp.rm(root, { recursive: true, force: true });
    }
  }
});
