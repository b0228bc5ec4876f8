/**
 * @module engine/content/conformance
 * The shared test suite of the content contract (./content.ts): every
 * implementation runs it with a factory that opens a store on a directory.
 * `makeStore(dir)` called twice on the same directory must reopen the same
 * store (that is how resuming after a restart is checked).
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Digest } from '../../common/reference/digest.js';
import { EngineError } from '../errors.js';
import { LABEL_UNCOMPRESSED, writeBlob, type ContentStore, type Info } from './content.js';

export interface ConformanceOptions {
  /** Cases to leave out, each with the reason. */
  skip?: { name: string; reason: string }[];
}

function sha(data: Buffer | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

async function collect(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function all(cs: ContentStore): Promise<Info[]> {
  const out: Info[] = [];
  await cs.walk((i) => {
    out.push(i);
  });
  return out.sort((a, b) => a.digest.localeCompare(b.digest));
}

function kind(err: unknown): string | undefined {
  return err instanceof EngineError ? err.kind : undefined;
}

export function runContentConformance(name: string, makeStore: (dir: string) => Promise<ContentStore>, opts: ConformanceOptions = {}): void {
  const cases: [string, (dir: string) => Promise<void>][] = [];
  const it = (title: string, fn: (dir: string) => Promise<void>): void => {
    cases.push([title, fn]);
  };

  it('write, commit, read back', async (dir) => {
    const cs = await makeStore(dir);
    const data = Buffer.from('hello content\n'.repeat(1000));
    const w = await cs.writer('one');
    assert.equal(w.offset, 0);
    await w.write(data.subarray(0, 100));
    await w.writeStream(Readable.from([data.subarray(100)]));
    assert.equal(w.offset, data.length);
    assert.equal(w.digest(), sha(data));
    // What is written can be read back before (or without) a commit.
    const spool = await w.reader();
    assert.deepEqual(await collect(spool.stream()), data);
    await spool.close();
    await assert.rejects(cs.info(sha(data)), (err) => kind(err) === 'notfound');
    const info = await w.commit(data.length, sha(data));
    assert.equal(info.digest, sha(data));
    assert.equal(info.size, data.length);
    assert.deepEqual(await cs.readAll(sha(data)), data);
    assert.deepEqual(await collect(await cs.readStream(sha(data))), data);
    assert.deepEqual(await collect(await cs.readStream(sha(data), 5)), data.subarray(5));
    const r = await cs.reader(sha(data));
    assert.equal(r.size, data.length);
    assert.deepEqual(await collect(r.stream(10)), data.subarray(10));
    assert.deepEqual(await collect(r.stream(10, 20)), data.subarray(10, 30));
    assert.deepEqual(await collect(r.stream(data.length - 1, 1)), data.subarray(data.length - 1));
    await r.close();
    assert.equal((await cs.info(sha(data))).size, data.length);
    assert.deepEqual(await cs.ingests(), []);
  });

  it('a wrong digest or size is refused and nothing becomes visible', async (dir) => {
    const cs = await makeStore(dir);
    const data = Buffer.from('some bytes');
    const w = await cs.writer('bad-digest', { expected: sha('other bytes') });
    await w.write(data);
    await assert.rejects(w.commit(), (err) => kind(err) === 'invalid');
    const w2 = await cs.writer('bad-size');
    await w2.write(data);
    await assert.rejects(w2.commit(data.length + 1), (err) => kind(err) === 'invalid');
    await assert.rejects(cs.info(sha(data)), (err) => kind(err) === 'notfound');
    await assert.rejects(cs.readAll(sha(data)), (err) => kind(err) === 'notfound');
    assert.deepEqual(await all(cs), []);
    assert.deepEqual(await cs.ingests(), []);
    // writeBlob verifies too.
    await assert.rejects(writeBlob(cs, 'wb', data, { expected: sha('nope') }), (err) => kind(err) === 'invalid');
    assert.deepEqual(await all(cs), []);
  });

  it('an interrupted write resumes at its offset after the store is reopened', async (dir) => {
    const data = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    let cs = await makeStore(dir);
    const w = await cs.writer('pull-layer', { total: data.length, expected: sha(data) });
    await w.write(data.subarray(0, 1_000_000));
    await w.close();
    // A second writer for a ref held open is refused; after close it resumes.
    cs = await makeStore(dir);
    const st = (await cs.ingests()).find((i) => i.ref === 'pull-layer');
    assert.ok(st, 'the ingest survives a reopen');
    assert.equal(st.offset, 1_000_000);
    assert.equal(st.total, data.length);
    const w2 = await cs.writer('pull-layer');
    assert.equal(w2.offset, 1_000_000);
    await assert.rejects(cs.writer('pull-layer'), (err) => kind(err) === 'conflict');
    assert.equal(w2.digest(), sha(data.subarray(0, 1_000_000)));
    await w2.writeStream(Readable.from([data.subarray(w2.offset)]));
    // total and expected were recorded by the first writer.
    const info = await w2.commit();
    assert.equal(info.digest, sha(data));
    assert.deepEqual(await cs.readAll(sha(data)), data);
    assert.deepEqual(await cs.ingests(), []);
  });

  it('labels round trip, persist, and can be updated', async (dir) => {
    let cs = await makeStore(dir);
    const layer = Buffer.from('compressed bytes');
    const info = await writeBlob(cs, 'labelled', layer, { labels: { [LABEL_UNCOMPRESSED]: sha('uncompressed') } });
    assert.deepEqual(info.labels, { [LABEL_UNCOMPRESSED]: sha('uncompressed') });
    cs = await makeStore(dir);
    assert.deepEqual((await cs.info(sha(layer))).labels, { [LABEL_UNCOMPRESSED]: sha('uncompressed') });
    await cs.update(sha(layer), { a: '1', b: '2' });
    assert.deepEqual((await cs.info(sha(layer))).labels, { a: '1', b: '2' });
    await cs.update(sha(layer), { a: '1', b: '' });
    cs = await makeStore(dir);
    assert.deepEqual((await cs.info(sha(layer))).labels, { a: '1' });
    await assert.rejects(cs.update(sha('none'), { a: '1' }), (err) => kind(err) === 'notfound');
  });

  it('walk lists every blob; delete removes one and its labels', async (dir) => {
    const cs = await makeStore(dir);
    const blobs = ['a', 'bb', 'ccc'].map((s) => Buffer.from(s));
    for (const [i, b] of blobs.entries()) await writeBlob(cs, `w${i}`, b, { labels: { n: String(i) } });
    assert.deepEqual(
      (await all(cs)).map((i) => i.digest),
      blobs.map((b) => sha(b)).sort(),
    );
    assert.equal(await cs.delete(sha('bb')), 2);
    assert.equal(await cs.delete(sha('bb')), 0, 'deleting twice is harmless');
    await assert.rejects(cs.info(sha('bb')), (err) => kind(err) === 'notfound');
    assert.deepEqual(
      (await all(cs)).map((i) => i.digest),
      [sha('a'), sha('ccc')].sort(),
    );
    // The same content again comes back without the old labels.
    const again = await writeBlob(cs, 'again', Buffer.from('bb'));
    assert.deepEqual(again.labels, {});
  });

  it('a reader keeps a blob readable while it is deleted', async (dir) => {
    const cs = await makeStore(dir);
    const data = Buffer.from('held open');
    await writeBlob(cs, 'held', data);
    const r = await cs.reader(sha(data));
    await cs.delete(sha(data));
    assert.deepEqual(await collect(r.stream()), data);
    await r.close();
  });

  it('concurrent writers of the same content under different refs both succeed, one blob stands', async (dir) => {
    const cs = await makeStore(dir);
    const data = Buffer.alloc(2 * 1024 * 1024, 0x5a);
    const results = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        writeBlob(cs, `same-${i}`, Readable.from([data.subarray(0, 1 << 20), data.subarray(1 << 20)]), { expected: sha(data), labels: { [`w${i}`]: 'x' } }),
      ),
    );
    for (const r of results) assert.equal(r.digest, sha(data));
    const blobs = await all(cs);
    assert.equal(blobs.length, 1);
    assert.equal(blobs[0]!.size, data.length);
    assert.deepEqual(await cs.readAll(sha(data)), data);
    assert.deepEqual(await cs.ingests(), []);
    assert.deepEqual(Object.keys((await cs.info(sha(data))).labels).sort(), ['w0', 'w1', 'w2', 'w3'], 'every writer’s labels are kept');
  });

  it('abort drops an ingest; abortIngest drops one nobody holds', async (dir) => {
    const cs = await makeStore(dir);
    const w = await cs.writer('dropme');
    await w.write(Buffer.from('x'));
    await w.abort();
    const w2 = await cs.writer('left');
    await w2.write(Buffer.from('y'));
    await assert.rejects(cs.abortIngest('left'), (err) => kind(err) === 'conflict');
    await w2.close();
    assert.deepEqual((await cs.ingests()).map((i) => i.ref), ['left']);
    await cs.abortIngest('left');
    assert.deepEqual(await cs.ingests(), []);
    assert.deepEqual(await all(cs), []);
  });

  const skips = new Map((opts.skip ?? []).map((s) => [s.name, s.reason]));
  for (const [title, fn] of cases) {
    const reason = skips.get(title);
    test(`${name}: ${title}`, reason ? { skip: reason } : {}, async () => {
      const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'berth-content-conf-'));
      try {
        await fn(dir);
      } finally {
        await fsp.rm(dir, { recursive: true, force: true });
      }
    });
  }
}
