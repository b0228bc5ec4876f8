/**
 * Layers on the snapshotter: a tar unpacks once per chain ID; commit's layer
 * (copied while hashed, or moved) packs again to the diff ID it recorded,
 * which is what `docker save` relies on now that commit keeps no tar.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { pack } from 'tar-stream';
import { OverlaySnapshotter } from './overlay.js';
import { chainIdOf, commitLayer, layerInfo, layerTar, unpackLayer } from './layers.js';
import { upperDirOf } from './snapshotter.js';
import { run } from '../../util/exec.js';
import { directorySize } from '../../util/fs.js';

async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const p = pack();
  for (const [name, body] of Object.entries(files)) p.entry({ name, mode: 0o644, mtime: new Date(1700000000000) }, body);
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}` as const;

async function digestOf(r: Readable): Promise<string> {
  const h = createHash('sha256');
  for await (const c of r) h.update(c as Buffer);
  return `sha256:${h.digest('hex')}`;
}

async function withSnapshotter(fn: (sn: OverlaySnapshotter) => Promise<void>): Promise<void> {
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'berth-layers-'));
  try {
    await fn(await OverlaySnapshotter.open(path.join(root, 'overlay2')));
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
  }
}

test('unpackLayer unpacks a tar once per chain ID and records its diff ID', async () => {
  await withSnapshotter(async (sn) => {
    const base = await tarOf({ 'etc/os': 'x', 'bin/sh': 'sh' });
    let opened = 0;
    const open = () => {
      opened++;
      return Readable.from([base]);
    };
    const a = await unpackLayer(sn, null, sha(base), open);
    const b = await unpackLayer(sn, null, sha(base), open);
    assert.equal(opened, 1);
    assert.deepEqual(a, b);
    assert.equal(a.chainId, sha(base));
    assert.equal(a.diffId, sha(base));
    const top = await tarOf({ 'app/run': 'go' });
    const t = await unpackLayer(sn, a.chainId, sha(top), () => Readable.from([top]));
    assert.equal(t.chainId, chainIdOf(a.chainId, sha(top)));
    assert.equal(t.parent, a.chainId);
  });
});

test('a failed unpack commits no layer; its work snapshot is left to the collector', async () => {
  await withSnapshotter(async (sn) => {
    const bad = Buffer.from('this is not a tar archive, not at all'.repeat(40));
    await assert.rejects(unpackLayer(sn, null, sha(bad), () => Readable.from([bad])));
    const left: string[] = [];
    await sn.walk((i) => void left.push(`${i.kind}:${i.name.replace(/-[0-9a-f]+$/, '')}`));
    assert.deepEqual(left, ['active:extract']);
  });
});

for (const mode of ['copy', 'keep', 'move'] as const) {
  test(`commitLayer (${mode}) makes a layer that packs again to its diff ID`, async () => {
    await withSnapshotter(async (sn) => {
      const base = await tarOf({ 'etc/os': 'x', 'etc/gone': 'y', 'keep/a': 'a' });
      const l0 = await unpackLayer(sn, null, sha(base), () => Readable.from([base]));
      const mounts = await sn.prepare('ctr', l0.chainId);
      const up = upperDirOf(mounts);
      await fsp.mkdir(path.join(up, 'many'));
      for (let i = 0; i < 50; i++) await fsp.writeFile(path.join(up, 'many', `f${i}`), `${i}`);
      await fsp.writeFile(path.join(up, 'many', 'big'), Buffer.alloc(3 << 20, 7));
      await fsp.link(path.join(up, 'many', 'f1'), path.join(up, 'many', 'hard'));
      await fsp.symlink('f2', path.join(up, 'many', 'sym'));
      await fsp.mkdir(path.join(up, 'etc'));
      await run('mknod', [path.join(up, 'etc', 'gone'), 'c', '0', '0']);
      await fsp.mkdir(path.join(up, 'keep'));
      await run('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', path.join(up, 'keep')]);
      const measured = await directorySize(up);
      const layer = await commitLayer(sn, 'ctr', l0.chainId, { mode });
      assert.equal(layer.size, measured, 'the size counted while hashing is what a walk of the files counts');
      assert.equal(layer.parent, l0.chainId);
      assert.equal((await sn.stat('ctr'))?.kind, mode === 'move' ? undefined : 'active');
      if (mode !== 'move') {
        // The active snapshot still holds every change, whether copied or moved and restored.
        const kept = upperDirOf(await sn.mounts('ctr'));
        assert.equal(await fsp.readFile(path.join(kept, 'many', 'f7'), 'utf8'), '7');
        assert.ok((await fsp.lstat(path.join(kept, 'etc', 'gone'))).isCharacterDevice());
        assert.equal((await fsp.stat(path.join(kept, 'many', 'hard'))).nlink, 2);
        const again = await commitLayer(sn, 'ctr', l0.chainId, { mode: 'copy' });
        assert.equal(again.diffId, layer.diffId, 'the kept upper packs to the same diff');
      }
      assert.equal(await digestOf(await layerTar(sn, layer.chainId, 'saveview')), layer.diffId);
      assert.ok((await layerInfo(sn, layer.chainId))!.size >= 3 << 20);
    });
  });
}
