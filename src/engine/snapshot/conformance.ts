/**
 * @module engine/snapshot/conformance
 * The shared suite every Snapshotter implementation must pass (Hono's
 * common-case pattern): call `runSnapshotterConformance` from the
 * implementation's test file with a factory for a fresh, empty snapshotter.
 * It checks the contract in ./snapshotter.ts through its data alone (mounts
 * are read, not mounted), so it needs no running container.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { EngineError } from '../errors.js';
import { lowerDirsOf, upperDirOf, type Snapshotter } from './snapshotter.js';

export interface ConformanceSubject {
  snapshotter: Snapshotter;
  cleanup(): Promise<void>;
}

export interface ConformanceOptions {
  /** Tests this implementation cannot pass, each with the reason. */
  skip?: { name: string; reason: string }[];
}

const kindOf = (err: unknown) => (err instanceof EngineError ? err.kind : String(err));

/** Writes `files` into an active snapshot's upper directory and commits it as `name`. */
async function layer(sn: Snapshotter, name: string, parent: string | undefined, files: Record<string, string>): Promise<void> {
  const key = `work-${name.replace(/[^A-Za-z0-9]/g, '')}`;
  const up = upperDirOf(await sn.prepare(key, parent));
  for (const [f, body] of Object.entries(files)) {
    await fsp.mkdir(path.dirname(path.join(up, f)), { recursive: true });
    await fsp.writeFile(path.join(up, f), body);
  }
  await sn.commit(name, key);
}

/** The file `rel` as seen through lower directories (top first), as overlay would show it. */
async function readThrough(dirs: string[], rel: string): Promise<string | undefined> {
  for (const d of dirs) {
    const body = await fsp.readFile(path.join(d, rel), 'utf8').catch(() => undefined);
    if (body !== undefined) return body;
  }
  return undefined;
}

export function runSnapshotterConformance(impl: string, make: () => Promise<ConformanceSubject>, o: ConformanceOptions = {}): void {
  const cases: [string, (sn: Snapshotter) => Promise<void>][] = [
    [
      'prepare without a parent gives an empty writable snapshot; commit makes it a committed one with its size',
      async (sn) => {
        const up = upperDirOf(await sn.prepare('a', undefined, { labels: { x: '1' } }));
        assert.deepEqual(await fsp.readdir(up), []);
        await fsp.writeFile(path.join(up, 'f'), 'hello');
        assert.equal((await sn.stat('a'))?.kind, 'active');
        const info = await sn.commit('layer-a', 'a', { labels: { y: '2' } });
        assert.equal(info.kind, 'committed');
        assert.equal(info.name, 'layer-a');
        assert.equal(info.parent, undefined);
        assert.deepEqual(info.labels, { x: '1', y: '2' });
        assert.equal(await sn.stat('a'), undefined, 'the active key is gone after commit');
        assert.equal((await sn.usage('layer-a')).size, 5);
      },
    ],
    [
      'an active snapshot sees its parents through its lower directories, top first',
      async (sn) => {
        await layer(sn, 'base', undefined, { 'etc/os': 'base', 'a.txt': 'a' });
        await layer(sn, 'mid', 'base', { 'etc/os': 'mid' });
        const mounts = await sn.prepare('c', 'mid');
        const lowers = lowerDirsOf(mounts);
        assert.equal(lowers.length, 2);
        assert.equal(await readThrough(lowers, 'etc/os'), 'mid');
        assert.equal(await readThrough(lowers, 'a.txt'), 'a');
        assert.deepEqual(await fsp.readdir(upperDirOf(mounts)), []);
        assert.equal((await sn.stat('c'))?.parent, 'mid');
        assert.deepEqual(await sn.mounts('c'), mounts);
      },
    ],
    [
      'keys and names share one namespace: a used key is a conflict',
      async (sn) => {
        await sn.prepare('k');
        await assert.rejects(sn.prepare('k'), (e) => kindOf(e) === 'conflict');
        await layer(sn, 'named', undefined, {});
        await assert.rejects(sn.prepare('named'), (e) => kindOf(e) === 'conflict');
      },
    ],
    [
      'commit is idempotent by name: a second commit of the same name keeps the first',
      async (sn) => {
        await layer(sn, 'same', undefined, { f: 'first' });
        const up = upperDirOf(await sn.prepare('again'));
        await fsp.writeFile(path.join(up, 'f'), 'second');
        const info = await sn.commit('same', 'again');
        assert.equal(info.kind, 'committed');
        assert.equal(await sn.stat('again'), undefined);
        const v = await sn.view('v', 'same');
        assert.equal(await readThrough(lowerDirsOf(v), 'f'), 'first');
      },
    ],
    [
      'commit may name an ancestor as parent, skipping a layer in between',
      async (sn) => {
        await layer(sn, 'img', undefined, { i: 'i' });
        await layer(sn, 'init', 'img', { '.dockerenv': '' });
        const up = upperDirOf(await sn.prepare('ctr', 'init'));
        await fsp.writeFile(path.join(up, 'new'), 'n');
        const info = await sn.commit('img2', 'ctr', { parent: 'img' });
        assert.equal(info.parent, 'img');
        await layer(sn, 'other', undefined, {});
        await sn.prepare('ctr2', 'init');
        await assert.rejects(sn.commit('bad', 'ctr2', { parent: 'other' }), (e) => kindOf(e) === 'invalid');
      },
    ],
    [
      'a snapshot prepared without a parent may be committed onto any committed parent',
      async (sn) => {
        await layer(sn, 'base', undefined, { f: 'base', g: 'base' });
        const up = upperDirOf(await sn.prepare('detached'));
        await fsp.writeFile(path.join(up, 'g'), 'top');
        const info = await sn.commit('top', 'detached', { parent: 'base' });
        assert.equal(info.parent, 'base');
        const v = await sn.view('v', 'top');
        assert.equal(await readThrough(lowerDirsOf(v), 'g'), 'top');
        assert.equal(await readThrough(lowerDirsOf(v), 'f'), 'base');
        await sn.prepare('detached2');
        await assert.rejects(sn.commit('x', 'detached2', { parent: 'missing' }), (e) => kindOf(e) === 'invalid');
        await sn.prepare('act', 'base');
        await assert.rejects(sn.commit('y', 'detached2', { parent: 'act' }), (e) => kindOf(e) === 'invalid', 'an active snapshot is no parent');
      },
    ],
    [
      'a view is a read-only look at a committed snapshot',
      async (sn) => {
        await layer(sn, 'base', undefined, { f: 'base' });
        await layer(sn, 'top', 'base', { g: 'top' });
        const one = await sn.view('v1', 'base');
        assert.equal(await readThrough(lowerDirsOf(one), 'f'), 'base');
        const two = await sn.view('v2', 'top');
        assert.equal(await readThrough(lowerDirsOf(two), 'g'), 'top');
        assert.equal(await readThrough(lowerDirsOf(two), 'f'), 'base');
        assert.throws(() => upperDirOf(two));
        assert.equal((await sn.stat('v2'))?.kind, 'view');
        await assert.rejects(sn.commit('x', 'v2'), (e) => kindOf(e) === 'invalid');
        await sn.remove('v1');
        await sn.remove('v2');
        assert.equal(await sn.stat('v1'), undefined);
      },
    ],
    [
      'remove refuses a parent and removes a leaf; walk lists what exists',
      async (sn) => {
        await layer(sn, 'p', undefined, { f: 'x' });
        await sn.prepare('child', 'p');
        await assert.rejects(sn.remove('p'), (e) => kindOf(e) === 'conflict');
        const seen: string[] = [];
        await sn.walk((i) => void seen.push(`${i.kind}:${i.name}:${i.parent ?? ''}`));
        assert.deepEqual(seen.sort(), ['active:child:p', 'committed:p:']);
        await sn.remove('child');
        await sn.remove('p');
        const after: string[] = [];
        await sn.walk((i) => void after.push(i.name));
        assert.deepEqual(after, []);
        await assert.rejects(sn.remove('p'), (e) => kindOf(e) === 'notfound');
      },
    ],
    [
      'labels are replaced by update and kept by commit',
      async (sn) => {
        await sn.prepare('l', undefined, { labels: { a: '1' } });
        assert.deepEqual((await sn.update('l', { b: '2' })).labels, { b: '2' });
        assert.deepEqual((await sn.stat('l'))?.labels, { b: '2' });
        assert.deepEqual((await sn.commit('lc', 'l')).labels, { b: '2' });
      },
    ],
    [
      'a committed snapshot has no mounts; an active one has a target',
      async (sn) => {
        await layer(sn, 'c', undefined, {});
        await assert.rejects(sn.mounts('c'), (e) => kindOf(e) === 'invalid');
        await sn.prepare('act', 'c');
        assert.equal(typeof sn.target('act'), 'string');
        await assert.rejects(sn.prepare('bad', 'act'), (e) => kindOf(e) === 'invalid', 'an active snapshot is no parent');
        await assert.rejects(sn.prepare('bad2', 'missing'), (e) => kindOf(e) === 'notfound');
      },
    ],
  ];
  for (const [name, fn] of cases) {
    const skip = o.skip?.find((s) => s.name === name);
    test(`${impl} snapshotter: ${name}`, skip ? { skip: skip.reason } : {}, async () => {
      const s = await make();
      try {
        await fn(s.snapshotter);
      } finally {
        await s.cleanup();
      }
    });
  }
}
