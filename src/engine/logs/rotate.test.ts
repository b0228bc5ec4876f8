/**
 * @module engine/logs/rotate.test
 * LogRotator against conmon's two ways of leaving a file behind, played out
 * on a temp directory: conmon's own cut (a new file renamed over the log
 * name) and a file found at max-size (berth renames it and asks for a
 * reopen). The files kept, their order and the bound on their number.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import { LogRotator, logSegments } from './rotate.js';

let dir: string;
before(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bt-rotate-'));
});
after(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

/** conmon's reopen_k8s_file: a new empty file renamed over the log's name. */
async function conmonCut(file: string): Promise<void> {
  await fsp.writeFile(`${file}.tmp`, '');
  await fsp.rename(`${file}.tmp`, file);
}

const read = async (p: string) => (p.endsWith('.gz') ? gunzipSync(await fsp.readFile(p)).toString() : fsp.readFile(p, 'utf8'));

test('conmon\'s cuts are kept as .1, .2 … up to max-file, the oldest dropped; readers see them oldest first', async () => {
  const file = path.join(dir, 'a-json.log');
  await fsp.writeFile(file, 'one\n');
  const r = new LogRotator({ file, maxSize: 1000, maxFile: 3, compress: false }, async () => undefined);
  await r.check();
  for (const text of ['two\n', 'three\n', 'four\n']) {
    await conmonCut(file);
    await r.check();
    await fsp.appendFile(file, text);
  }
  const segs = await logSegments(file);
  assert.deepEqual(segs.map((p) => path.basename(p)), ['a-json.log.2', 'a-json.log.1', 'a-json.log']);
  assert.deepEqual(await Promise.all(segs.map(read)), ['two\n', 'three\n', 'four\n']);
  // The hold name follows the file being written.
  assert.equal((await fsp.stat(`${file}.hold`)).ino, (await fsp.stat(file)).ino);
  await r.close();
});

test('a file found at max-size is rotated by berth, which asks conmon to reopen; compress gzips; max-file 1 keeps none', async () => {
  const file = path.join(dir, 'b-json.log');
  await fsp.writeFile(file, 'x'.repeat(100));
  let reopened = 0;
  const r = new LogRotator({ file, maxSize: 100, maxFile: 2, compress: true }, async () => {
    reopened++;
    await fsp.writeFile(file, '');
  });
  await r.check();
  assert.equal(reopened, 1);
  assert.deepEqual((await logSegments(file)).map((p) => path.basename(p)), ['b-json.log.1.gz', 'b-json.log']);
  assert.equal(await read(`${file}.1.gz`), 'x'.repeat(100));
  await r.close();

  const one = path.join(dir, 'c-json.log');
  await fsp.writeFile(one, 'old\n');
  const r1 = new LogRotator({ file: one, maxSize: 1000, maxFile: 1, compress: false }, async () => undefined);
  await r1.check();
  await conmonCut(one);
  await r1.check();
  assert.deepEqual((await fsp.readdir(dir)).filter((n) => n.startsWith('c-json.log')).sort(), ['c-json.log', 'c-json.log.hold']);
  await r1.close();
});

test('the hold name left by a cut berth has not handled yet is read between .1 and the current file', async () => {
  const file = path.join(dir, 'd-json.log');
  await fsp.writeFile(`${file}.1`, 'a\n');
  await fsp.writeFile(file, 'b\n');
  await fsp.link(file, `${file}.hold`);
  await conmonCut(file);
  await fsp.writeFile(file, 'c\n');
  const segs = await logSegments(file);
  assert.deepEqual(await Promise.all(segs.map(read)), ['a\n', 'b\n', 'c\n']);
});
