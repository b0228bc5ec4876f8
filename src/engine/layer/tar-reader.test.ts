/**
 * @module engine/layer/tar-reader.test
 * Parser tests built from hand-made tar blocks. tar-stream's packer cannot
 * write the edge cases covered here: binary PAX values, GNU long names,
 * base-256 numbers, signed checksums, non-UTF-8 names.
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { applyLayer, InvalidLayerError } from './apply.js';
import { TarReader, type TarEntry } from './tar-reader.js';

interface Hdr {
  name: string | Buffer;
  type?: string;
  mode?: number;
  uid?: number | Buffer;
  gid?: number;
  size?: number | Buffer;
  mtime?: number;
  linkname?: string;
  prefix?: string;
  format?: 'ustar' | 'gnu' | 'v7';
  devmajor?: number;
  devminor?: number;
  signedChecksum?: boolean;
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

/** One 512-byte header block with a valid checksum. */
function header(h: Hdr): Buffer {
  const b = Buffer.alloc(512);
  (typeof h.name === 'string' ? Buffer.from(h.name, 'utf8') : h.name).copy(b, 0);
  b.write(octal(h.mode ?? 0o644, 8), 100, 'latin1');
  if (Buffer.isBuffer(h.uid)) h.uid.copy(b, 108);
  else b.write(octal(h.uid ?? 0, 8), 108, 'latin1');
  b.write(octal(h.gid ?? 0, 8), 116, 'latin1');
  if (Buffer.isBuffer(h.size)) h.size.copy(b, 124);
  else b.write(octal(h.size ?? 0, 12), 124, 'latin1');
  b.write(octal(h.mtime ?? 1_600_000_000, 12), 136, 'latin1');
  b.write(h.type ?? '0', 156, 'latin1');
  if (h.linkname) b.write(h.linkname, 157, 'utf8');
  const format = h.format ?? 'ustar';
  if (format === 'ustar') {
    b.write('ustar\x0000', 257, 'latin1');
    if (h.prefix) b.write(h.prefix, 345, 'utf8');
  } else if (format === 'gnu') {
    b.write('ustar  \0', 257, 'latin1');
  }
  if (format !== 'v7') {
    b.write(octal(h.devmajor ?? 0, 8), 329, 'latin1');
    b.write(octal(h.devminor ?? 0, 8), 337, 'latin1');
  }
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += h.signedChecksum && b[i]! > 127 ? b[i]! - 256 : b[i]!;
  b.write(octal(sum, 7) + ' ', 148, 'latin1');
  return b;
}

function pad(data: Buffer): Buffer {
  const rem = data.length % 512;
  return rem === 0 ? data : Buffer.concat([data, Buffer.alloc(512 - rem)]);
}

function paxRecords(recs: [string, Buffer | string][]): Buffer {
  const parts = recs.map(([k, v]) => {
    const body = Buffer.concat([Buffer.from(` ${k}=`, 'utf8'), Buffer.from(v), Buffer.from('\n')]);
    let len = body.length + 1;
    while (String(len).length + body.length !== len) len++;
    return Buffer.concat([Buffer.from(String(len)), body]);
  });
  return Buffer.concat(parts);
}

function entry(h: Hdr, data: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([header({ ...h, size: h.size ?? data.length }), pad(data)]);
}

function paxEntry(recs: [string, Buffer | string][], type = 'x'): Buffer {
  return entry({ name: 'PaxHeader', type }, paxRecords(recs));
}

const END = Buffer.alloc(1024);

async function readAll(buf: Buffer, chunk = 100): Promise<{ e: TarEntry; data: Buffer }[]> {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += chunk) parts.push(buf.subarray(i, i + chunk));
  const r = new TarReader(Readable.from(parts, { objectMode: false }));
  const out: { e: TarEntry; data: Buffer }[] = [];
  for (let e = await r.next(); e !== null; e = await r.next()) {
    const data: Buffer[] = [];
    for (let c = await r.read(); c !== null; c = await r.read()) data.push(Buffer.from(c));
    out.push({ e, data: Buffer.concat(data) });
  }
  await r.drain();
  return out;
}

test('PAX records: binary xattrs, path, linkpath, size, ids, fractional times', async () => {
  const cap = Buffer.from([0x01, 0x00, 0x00, 0x02, 0xff, 0xfe, 0x0a, 0x00, 0x80]);
  const body = Buffer.from('payload');
  const tarBuf = Buffer.concat([
    paxEntry([
      ['path', 'a/very/long/' + 'x'.repeat(200)],
      ['SCHILY.xattr.security.capability', cap],
      ['SCHILY.xattr.user.név', 'ü'],
      ['uid', '3000000'],
      ['mtime', '1600000000.25'],
      ['atime', '1600000100.5'],
    ]),
    entry({ name: 'short-name', uid: 1 }, body),
    paxEntry([['linkpath', 'target/' + 'y'.repeat(150)]]),
    entry({ name: 'link', type: '2' }),
    END,
  ]);
  const [f, l] = await readAll(tarBuf);
  assert.equal(f!.e.name, 'a/very/long/' + 'x'.repeat(200));
  assert.ok(f!.e.xattrs!.get('security.capability')!.equals(cap));
  assert.equal(Buffer.from(f!.e.xattrs!.get(Buffer.from('user.név').toString('latin1'))!).toString(), 'ü');
  assert.equal(f!.e.uid, 3000000);
  assert.equal(f!.e.mtime, 1600000000.25);
  assert.equal(f!.e.atime, 1600000100.5);
  assert.equal(f!.data.toString(), 'payload');
  assert.equal(l!.e.type, 'symlink');
  assert.equal(l!.e.linkname, 'target/' + 'y'.repeat(150));
  // PAX records apply to the next entry only.
  assert.equal(l!.e.xattrs, null);
});

test('GNU long names, base-256 numbers, signed checksums, ustar prefix', async () => {
  const longName = 'dir/' + 'n'.repeat(300);
  const longLink = 'l'.repeat(200);
  const b256 = Buffer.alloc(8);
  b256[0] = 0x80;
  b256.writeUInt32BE(5_000_000, 4);
  const size256 = Buffer.alloc(12);
  size256[0] = 0x80;
  size256.writeUInt32BE(3, 8);
  const tarBuf = Buffer.concat([
    entry({ name: '././@LongLink', type: 'L', format: 'gnu' }, Buffer.from(longName + '\0')),
    entry({ name: '././@LongLink', type: 'K', format: 'gnu' }, Buffer.from(longLink + '\0')),
    entry({ name: 'trunc', type: '1', format: 'gnu' }),
    entry({ name: Buffer.from([0x66, 0xe9]), uid: b256, size: size256, signedChecksum: true }, Buffer.from('abc')),
    entry({ name: 'file', prefix: 'some/prefix' }),
    END,
  ]);
  const [a, b, c] = await readAll(tarBuf, 512);
  assert.equal(a!.e.name, longName);
  assert.equal(a!.e.linkname, longLink);
  assert.equal(a!.e.type, 'hardlink');
  assert.equal(b!.e.name, '\x66\xe9');
  assert.equal(b!.e.uid, 5_000_000);
  assert.equal(b!.e.size, 3);
  assert.equal(b!.data.toString(), 'abc');
  assert.equal(c!.e.name, 'some/prefix/file');
});

test('typeflag NUL, header-only types with a size, global headers, end of archive', async () => {
  const tarBuf = Buffer.concat([
    paxEntry([['comment', 'git archive'], ['uid', '77']], 'g'),
    header({ name: 'olddir/', type: '\0' }),
    header({ name: 'oldfile', type: '\0', size: 0 }),
    // A symlink whose size field is set: the data is not there (Go's isHeaderOnlyType).
    header({ name: 'sym', type: '2', linkname: 'x', size: 1000 }),
    entry({ name: 'v7', format: 'v7' }, Buffer.from('v7 data')),
    END,
    Buffer.alloc(10240 - 1024, 0),
    Buffer.from('trailing bytes after the archive are drained and ignored'),
  ]);
  const out = await readAll(tarBuf);
  assert.deepEqual(
    out.map((x) => [x.e.name, x.e.type, x.e.uid]),
    [
      ['olddir/', 'dir', 0],
      ['oldfile', 'file', 0],
      ['sym', 'symlink', 0],
      ['v7', 'file', 0],
    ],
  );
  assert.equal(out[3]!.data.toString(), 'v7 data');
  // An archive without the end marker that stops at a header boundary is accepted, like Go does.
  assert.equal((await readAll(entry({ name: 'f' }, Buffer.from('x')))).length, 1);
});

test('corrupt archives are rejected', async () => {
  const cases: [Buffer, RegExp][] = [
    [Buffer.concat([Buffer.alloc(512), header({ name: 'x' })]), /zero block followed by data/],
    [Buffer.concat([entry({ name: 'a' }), Buffer.alloc(512, 1)]), /invalid header checksum at offset 512/],
    [Buffer.concat([paxEntry([['path', 'x']]).subarray(0, 512), Buffer.alloc(512, 0x41)]), /PAX/],
    [paxEntry([['path', 'x']]), /unexpected EOF/],
    [Buffer.from('short'), /not a tar archive/],
  ];
  for (const [buf, re] of cases) {
    await assert.rejects(readAll(buf), (err: unknown) => {
      assert.ok(err instanceof InvalidLayerError, String(err));
      assert.match(err.message, re);
      return true;
    });
  }
});

test('applyLayer keeps non-UTF-8 names, binary xattrs and PAX mtimes exactly', async (t) => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-tar-test-'));
  t.after(() => fs.rmSync(base, { recursive: true, force: true }));
  const latin1Name = Buffer.from([0x63, 0x61, 0x66, 0xe9]); // "café" in ISO-8859-1
  const bin = Buffer.from([0x00, 0xff, 0x10, 0x0a, 0x3d, 0x5c]);
  const tarBuf = Buffer.concat([
    entry({ name: latin1Name }, Buffer.from('latin1')),
    paxEntry([
      ['SCHILY.xattr.user.bin', bin],
      ['mtime', '1500000000.5'],
    ]),
    entry({ name: 'bin' }, Buffer.from('b')),
    END,
  ]);
  await applyLayer(base, Readable.from([tarBuf], { objectMode: false }));
  const names = fs.readdirSync(base, { encoding: 'buffer' });
  assert.ok(names.some((n) => n.equals(latin1Name)));
  assert.equal(fs.readFileSync(Buffer.concat([Buffer.from(base + '/'), latin1Name]), 'utf8'), 'latin1');
  const hex = execFileSync('getfattr', ['--only-values', '-e', 'hex', '-n', 'user.bin', path.join(base, 'bin')], {
    encoding: 'latin1',
  });
  assert.ok(Buffer.from(hex, 'latin1').equals(bin), `got ${Buffer.from(hex, 'latin1').toString('hex')}`);
  assert.equal(fs.statSync(path.join(base, 'bin')).mtimeMs, 1500000000500);
});

test('applyLayer rejects sparse and unknown entry types', async (t) => {
  for (const [h, re] of [
    [{ name: 'sparse', type: 'S', format: 'gnu' }, /sparse file "sparse" is not supported/],
    [{ name: 'vol', type: 'V' }, /unsupported tar entry type "V"/],
  ] as [Hdr, RegExp][]) {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-tar-test-'));
    t.after(() => fs.rmSync(base, { recursive: true, force: true }));
    const input = Readable.from([Buffer.concat([entry(h), END])], { objectMode: false });
    await assert.rejects(applyLayer(base, input), (err: unknown) => {
      assert.ok(err instanceof InvalidLayerError);
      assert.match(err.message, re);
      return true;
    });
  }
});

test('a failing filesystem operation rejects, and the shared worker pool keeps working', async (t) => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-tar-test-'));
  t.after(() => fs.rmSync(base, { recursive: true, force: true }));
  const files = Array.from({ length: 50 }, (_, i) => entry({ name: `f${i}` }, Buffer.from(`${i}`)));
  // symlink(2) refuses an empty target (ENOENT), as it does for Docker.
  const bad = Buffer.concat([...files, entry({ name: 'bad', type: '2', linkname: '' }), ...files.slice(0, 1), END]);
  const input = Readable.from([bad], { objectMode: false });
  await assert.rejects(applyLayer(path.join(base), input), /ENOENT/);
  assert.ok(input.destroyed);
  const good = path.join(base, 'good');
  fs.mkdirSync(good);
  await applyLayer(good, Readable.from([Buffer.concat([...files, END])], { objectMode: false }));
  assert.equal(fs.readdirSync(good).length, 50);
});
