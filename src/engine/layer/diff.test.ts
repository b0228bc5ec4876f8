/**
 * @module engine/layer/diff.test
 * The diff tar of an upper directory: diffDigest hashes the very bytes
 * diffTar streams; files of every size around the batch limits come back
 * whole through GNU tar (a file of exactly 1 MiB used to overflow the
 * batch); a header written in place is encodeHeader's bytes.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { diffDigest, diffTar } from './diff.js';
import { encodeHeader, writeUstarHeader, type TarHeader } from './tar-writer.js';

const SIZES = [0, 1, 511, 512, 513, (256 << 10) - 1, 256 << 10, (256 << 10) + 1, 1048063, 1048064, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3_000_000];

function tree(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-diff-'));
  fs.mkdirSync(path.join(dir, 'sizes'));
  for (const n of SIZES) fs.writeFileSync(path.join(dir, 'sizes', `f${n}`), randomBytes(n));
  fs.mkdirSync(path.join(dir, 'many'));
  for (let i = 0; i < 300; i++) fs.writeFileSync(path.join(dir, 'many', `f${i}`), `${i}\n`);
  fs.writeFileSync(path.join(dir, 'hard'), 'linked\n');
  fs.linkSync(path.join(dir, 'hard'), path.join(dir, 'many', 'hard2'));
  fs.symlinkSync('../hard', path.join(dir, 'many', 'link'));
  const long = 'n'.repeat(150);
  fs.writeFileSync(path.join(dir, long), 'long name\n');
  fs.symlinkSync(`/target/${long}`, path.join(dir, 'longlink'));
  fs.writeFileSync(path.join(dir, 'ünïcödé'), 'utf-8 name\n');
  return dir;
}

async function bytesOf(dir: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of diffTar(dir)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

test('diffDigest is the sha256 of the bytes diffTar streams, and usage counts the same bytes', async () => {
  const dir = tree();
  try {
    const tar = await bytesOf(dir);
    const usageTar = { size: 0 };
    for await (const _ of diffTar(dir, { usage: usageTar })) void _;
    const usage = { size: 0 };
    const d = await diffDigest(dir, { usage });
    assert.equal(d.digest, `sha256:${createHash('sha256').update(tar).digest('hex')}`);
    assert.equal(d.size, tar.length);
    assert.equal(usage.size, usageTar.size);
    assert.ok(usage.size > 3_000_000);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('every file size around the batch limits comes back whole through GNU tar', async () => {
  const dir = tree();
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-diff-out-'));
  try {
    const tarFile = path.join(out, 'layer.tar');
    fs.writeFileSync(tarFile, await bytesOf(dir));
    const x = path.join(out, 'x');
    fs.mkdirSync(x);
    execFileSync('tar', ['-xf', tarFile, '-C', x]);
    execFileSync('diff', ['-r', '--no-dereference', dir, x]);
    assert.equal(fs.statSync(path.join(x, 'hard')).ino, fs.statSync(path.join(x, 'many', 'hard2')).ino, 'hard link kept');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('a header written in place is the bytes encodeHeader makes; one that needs PAX is left to it', () => {
  const cases: TarHeader[] = [
    { name: 'a/b', type: '0', mode: 0o100644, uid: 0, gid: 0, size: 12345, mtime: 1_700_000_000 },
    { name: 'dir/', type: '5', mode: 0o40755, uid: 1000, gid: 100, size: 0, mtime: 0 },
    { name: 'l', type: '2', mode: 0o120777, uid: 0, gid: 0, size: 0, mtime: 1, linkname: '../x' },
    { name: 'dev', type: '3', mode: 0o20666, uid: 0, gid: 0, size: 0, mtime: 1, devmajor: 4095, devminor: 0o7777777 },
    { name: 'n'.repeat(100), type: '0', mode: 0o100600, uid: 0o7777777, gid: 0o7777777, size: 0o77777777777, mtime: 0o77777777777 },
  ];
  for (const h of cases) {
    const b = Buffer.alloc(600, 0xaa);
    assert.ok(writeUstarHeader(b, 44, h), h.name);
    assert.deepEqual(b.subarray(44, 556), Buffer.concat(encodeHeader(h)), h.name);
    assert.equal(b[43], 0xaa);
    assert.equal(b[556], 0xaa);
  }
  const pax: TarHeader[] = [
    { name: 'n'.repeat(101), type: '0', mode: 0o100644, uid: 0, gid: 0, size: 0, mtime: 0 },
    { name: 'l\u00fc', type: '0', mode: 0o100644, uid: 0, gid: 0, size: 0, mtime: 0 },
    { name: 'big', type: '0', mode: 0o100644, uid: 0, gid: 0, size: 0o77777777777 + 1, mtime: 0 },
    { name: 'uid', type: '0', mode: 0o100644, uid: 0o7777777 + 1, gid: 0, size: 0, mtime: 0 },
  ];
  for (const h of pax) assert.equal(writeUstarHeader(Buffer.alloc(512), 0, h), false, h.name);
});
