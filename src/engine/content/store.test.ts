/**
 * The local content store: the shared conformance suite, then what is its
 * own — stale ingests expire at open, labels of a blob that is gone are
 * dropped at open.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { runContentConformance } from './conformance.js';
import { LocalContentStore } from './store.js';
import { writeBlob } from './content.js';

runContentConformance('local', (dir) => LocalContentStore.open(dir));

test('local content store: ingests untouched for longer than the expiry go at open, fresh ones stay', async () => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'berth-content-'));
  try {
    const cs = await LocalContentStore.open(dir);
    for (const ref of ['old', 'fresh']) {
      const w = await cs.writer(ref);
      await w.write(Buffer.from(ref));
      await w.close();
    }
    // Age the "old" ingest by two days.
    const past = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    for (const e of await fsp.readdir(path.join(dir, 'ingest'))) {
      const d = path.join(dir, 'ingest', e);
      const meta = JSON.parse(await fsp.readFile(path.join(d, 'meta.json'), 'utf8')) as { ref: string };
      if (meta.ref !== 'old') continue;
      for (const f of await fsp.readdir(d)) await fsp.utimes(path.join(d, f), past, past);
      await fsp.utimes(d, past, past);
    }
    const again = await LocalContentStore.open(dir, { ingestExpiryMs: 24 * 3600 * 1000 });
    assert.deepEqual((await again.ingests()).map((i) => i.ref), ['fresh']);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

test('local content store: labels whose blob is gone (a crash mid-delete) are dropped at open', async () => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'berth-content-'));
  try {
    const cs = await LocalContentStore.open(dir);
    const info = await writeBlob(cs, 'x', Buffer.from('x'), { labels: { a: 'b' } });
    await fsp.unlink(path.join(dir, 'blobs', 'sha256', info.digest.slice(7)));
    await LocalContentStore.open(dir);
    assert.deepEqual(await fsp.readdir(path.join(dir, 'labels', 'sha256')), []);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});
