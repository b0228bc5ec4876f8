/**
 * @module engine/layer/apply.test
 * Tests for applyLayer against the real filesystem. They need root (chown,
 * mknod, trusted.* xattrs) and the `attr` tools (getfattr/setfattr).
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import tar from 'tar-stream';
import { applyLayer, InvalidLayerError, LayerEscapeError } from './apply.js';

type Entry = Partial<tar.Header> & { name: string; body?: string | Buffer; pax?: Record<string, string> };

async function makeTar(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const { body, ...header } of entries) {
    if (header.type === undefined || header.type === 'file') pack.entry(header, body ?? '');
    else pack.entry(header);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A stream yielding `buf` in pieces of `size` bytes, so header/data boundaries fall mid-chunk. */
function chunked(buf: Buffer, size = 7919): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) parts.push(buf.subarray(i, i + size));
  return Readable.from(parts, { objectMode: false });
}

/** Creates `<tmp>/root`; the parent is there to detect writes that escape the root. Removed after the test. */
function tempRoot(t: TestContext): { base: string; root: string } {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-layer-test-'));
  t.after(() => fs.rmSync(base, { recursive: true, force: true }));
  const root = path.join(base, 'root');
  fs.mkdirSync(root);
  return { base, root };
}

function major(rdev: number): number {
  return ((rdev >> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
}
function minor(rdev: number): number {
  return (rdev & 0xff) | ((rdev >> 12) & 0xfff00);
}

function getxattr(p: string, name: string): string | null {
  try {
    return execFileSync('getfattr', ['-h', '--only-values', '-n', name, p], {
      encoding: 'latin1',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch {
    return null;
  }
}

const T1 = new Date('2020-01-02T03:04:05Z');
const T2 = new Date('2021-06-07T08:09:10Z');
const T3 = new Date('2019-03-04T05:06:07Z');

test('regular files keep content, mode, owner and mtime; size is the content total', async (t) => {
  const { root } = tempRoot(t);
  const big = Buffer.alloc(1_500_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
  const buf = await makeTar([
    { name: 'etc/', type: 'directory', mode: 0o755 },
    { name: 'etc/hello.txt', body: 'hello world\n', mode: 0o640, uid: 1234, gid: 5678, mtime: T1 },
    { name: 'empty', body: '', mode: 0o600, mtime: T2 },
    { name: 'big.bin', body: big, mode: 0o644, uid: 1, gid: 2, mtime: T1 },
  ]);
  const res = await applyLayer(root, chunked(buf));
  assert.equal(res.size, 12 + 0 + big.length);

  const f = path.join(root, 'etc/hello.txt');
  assert.equal(fs.readFileSync(f, 'utf8'), 'hello world\n');
  const st = fs.lstatSync(f);
  assert.equal(st.mode & 0o7777, 0o640);
  assert.equal(st.uid, 1234);
  assert.equal(st.gid, 5678);
  assert.equal(st.mtime.getTime(), T1.getTime());

  const e = fs.lstatSync(path.join(root, 'empty'));
  assert.equal(e.size, 0);
  assert.equal(e.mode & 0o7777, 0o600);
  assert.equal(e.mtime.getTime(), T2.getTime());

  assert.ok(fs.readFileSync(path.join(root, 'big.bin')).equals(big));
  const b = fs.lstatSync(path.join(root, 'big.bin'));
  assert.equal(b.uid, 1);
  assert.equal(b.gid, 2);
  assert.equal(b.mtime.getTime(), T1.getTime());
});

test('directory mtimes are applied after their contents; implied parents are 0755 root', async (t) => {
  const { root } = tempRoot(t);
  const buf = await makeTar([
    { name: 'a/', type: 'directory', mode: 0o2775, uid: 10, gid: 20, mtime: T1 },
    { name: 'a/b/', type: 'directory', mode: 0o700, mtime: T2 },
    { name: 'a/b/f', body: 'x', mtime: T3 },
    { name: 'a/g', body: 'y', mtime: T3 },
    { name: 'x/y/z', body: 'implied', mtime: T3 },
  ]);
  await applyLayer(root, chunked(buf, 512));
  const a = fs.lstatSync(path.join(root, 'a'));
  assert.ok(a.isDirectory());
  assert.equal(a.mode & 0o7777, 0o2775);
  assert.equal(a.uid, 10);
  assert.equal(a.gid, 20);
  assert.equal(a.mtime.getTime(), T1.getTime());
  const ab = fs.lstatSync(path.join(root, 'a/b'));
  assert.equal(ab.mode & 0o7777, 0o700);
  assert.equal(ab.mtime.getTime(), T2.getTime());
  for (const d of ['x', 'x/y']) {
    const st = fs.lstatSync(path.join(root, d));
    assert.ok(st.isDirectory());
    assert.equal(st.mode & 0o7777, 0o755);
    assert.equal(st.uid, 0);
    assert.equal(st.gid, 0);
  }
  assert.equal(fs.readFileSync(path.join(root, 'x/y/z'), 'utf8'), 'implied');
});

test('symlinks are stored verbatim with owner and mtime', async (t) => {
  const { root } = tempRoot(t);
  const buf = await makeTar([
    { name: 'bin/', type: 'directory' },
    { name: 'bin/sh', type: 'symlink', linkname: 'dash', uid: 3, gid: 4, mtime: T1 },
    { name: 'outside', type: 'symlink', linkname: '../../../../etc/shadow', mtime: T2 },
    { name: 'abs', type: 'symlink', linkname: '/usr/bin', mtime: T2 },
  ]);
  await applyLayer(root, chunked(buf));
  const st = fs.lstatSync(path.join(root, 'bin/sh'));
  assert.ok(st.isSymbolicLink());
  assert.equal(fs.readlinkSync(path.join(root, 'bin/sh')), 'dash');
  assert.equal(st.uid, 3);
  assert.equal(st.gid, 4);
  assert.equal(st.mtime.getTime(), T1.getTime());
  // A symlink may point anywhere; it is just stored.
  assert.equal(fs.readlinkSync(path.join(root, 'outside')), '../../../../etc/shadow');
  assert.equal(fs.readlinkSync(path.join(root, 'abs')), '/usr/bin');
});

test('hardlinks share the inode and take mode/owner/times from the link header', async (t) => {
  const { root } = tempRoot(t);
  const buf = await makeTar([
    { name: 'usr/bin/', type: 'directory' },
    { name: 'usr/bin/perl', body: 'perl binary', mode: 0o755, mtime: T1 },
    { name: 'usr/bin/perl5.36', type: 'link', linkname: 'usr/bin/perl', mode: 0o755, mtime: T1 },
    { name: '/abs-link', type: 'link', linkname: '/usr/bin/perl', mode: 0o755, mtime: T1 },
  ]);
  const res = await applyLayer(root, chunked(buf));
  assert.equal(res.size, 'perl binary'.length);
  const a = fs.lstatSync(path.join(root, 'usr/bin/perl'));
  const b = fs.lstatSync(path.join(root, 'usr/bin/perl5.36'));
  const c = fs.lstatSync(path.join(root, 'abs-link'));
  assert.equal(a.ino, b.ino);
  assert.equal(a.ino, c.ino);
  assert.equal(a.nlink, 3);
  assert.equal(fs.readFileSync(path.join(root, 'abs-link'), 'utf8'), 'perl binary');
  assert.equal(a.mode & 0o7777, 0o755);
  assert.equal(a.mtime.getTime(), T1.getTime());
});

test('fifos and device nodes are created with mode, owner and times', async (t) => {
  const { root } = tempRoot(t);
  const buf = await makeTar([
    { name: 'dev/', type: 'directory', mtime: T2 },
    { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666, mtime: T1 },
    { name: 'dev/loop0', type: 'block-device', devmajor: 7, devminor: 0, mode: 0o660, gid: 6, mtime: T1 },
    { name: 'run/fifo', type: 'fifo', mode: 0o620, uid: 100, gid: 101, mtime: T3 },
    // A hardlink to a device that only exists once the batched mknod has run.
    { name: 'run/fifo2', type: 'link', linkname: 'run/fifo', mode: 0o620, uid: 100, gid: 101, mtime: T3 },
  ]);
  await applyLayer(root, chunked(buf));
  const n = fs.lstatSync(path.join(root, 'dev/null'));
  assert.ok(n.isCharacterDevice());
  assert.equal(major(n.rdev), 1);
  assert.equal(minor(n.rdev), 3);
  assert.equal(n.mode & 0o7777, 0o666);
  assert.equal(n.mtime.getTime(), T1.getTime());
  const l = fs.lstatSync(path.join(root, 'dev/loop0'));
  assert.ok(l.isBlockDevice());
  assert.equal(major(l.rdev), 7);
  assert.equal(l.mode & 0o7777, 0o660);
  assert.equal(l.gid, 6);
  const f = fs.lstatSync(path.join(root, 'run/fifo'));
  assert.ok(f.isFIFO());
  assert.equal(f.mode & 0o7777, 0o620);
  assert.equal(f.uid, 100);
  assert.equal(f.gid, 101);
  assert.equal(f.mtime.getTime(), T3.getTime());
  assert.equal(fs.lstatSync(path.join(root, 'run/fifo2')).ino, f.ino);
  // The directory's mtime survives the late mknod into it.
  assert.equal(fs.lstatSync(path.join(root, 'dev')).mtime.getTime(), T2.getTime());
});

test('setuid/setgid/sticky bits survive chown', async (t) => {
  const { root } = tempRoot(t);
  const buf = await makeTar([
    { name: 'usr/bin/passwd', body: 'x', mode: 0o4755, uid: 1000, gid: 1000 },
    { name: 'usr/bin/wall', body: 'x', mode: 0o2755, uid: 0, gid: 5 },
    { name: 'tmp/', type: 'directory', mode: 0o1777, uid: 7, gid: 7 },
  ]);
  await applyLayer(root, chunked(buf));
  const p = fs.lstatSync(path.join(root, 'usr/bin/passwd'));
  assert.equal(p.mode & 0o7777, 0o4755);
  assert.equal(p.uid, 1000);
  assert.equal(fs.lstatSync(path.join(root, 'usr/bin/wall')).mode & 0o7777, 0o2755);
  assert.equal(fs.lstatSync(path.join(root, 'tmp')).mode & 0o7777, 0o1777);
});

test('whiteouts become 0:0 character devices; the .wh. file itself is not created', async (t) => {
  const { root } = tempRoot(t);
  const buf = await makeTar([
    { name: 'etc/', type: 'directory', mtime: T1 },
    { name: 'etc/.wh.motd', body: '', uid: 5, gid: 6 },
    { name: 'var/lib/.wh.apt', body: '' },
    { name: '.wh.top', body: '' },
  ]);
  await applyLayer(root, chunked(buf));
  for (const rel of ['etc/motd', 'var/lib/apt', 'top']) {
    const st = fs.lstatSync(path.join(root, rel));
    assert.ok(st.isCharacterDevice(), rel);
    assert.equal(st.rdev, 0, rel);
    assert.equal(st.mode & 0o7777, 0);
  }
  assert.equal(fs.lstatSync(path.join(root, 'etc/motd')).uid, 5);
  assert.equal(fs.lstatSync(path.join(root, 'etc/motd')).gid, 6);
  assert.deepEqual(fs.readdirSync(path.join(root, 'etc')), ['motd']);
  assert.equal(fs.existsSync(path.join(root, '.wh.top')), false);
  assert.equal(fs.lstatSync(path.join(root, 'etc')).mtime.getTime(), T1.getTime());
});

test('a whiteout does not hide an entry of the same layer', async (t) => {
  const { root } = tempRoot(t);
  const buf = await makeTar([
    { name: 'keep', body: 'same layer wins' },
    { name: '.wh.keep', body: '' },
    { name: '.wh.later', body: '' },
    { name: 'later', body: 'replaces the whiteout' },
  ]);
  await applyLayer(root, chunked(buf));
  assert.equal(fs.readFileSync(path.join(root, 'keep'), 'utf8'), 'same layer wins');
  assert.equal(fs.readFileSync(path.join(root, 'later'), 'utf8'), 'replaces the whiteout');
});

test('opaque markers set trusted.overlay.opaque=y; AUFS metadata is skipped', async (t) => {
  const { root } = tempRoot(t);
  const buf = await makeTar([
    { name: 'opt/', type: 'directory', mtime: T1 },
    { name: 'opt/.wh..wh..opq', body: '' },
    { name: 'opt/new', body: 'n' },
    { name: 'notyet/.wh..wh..opq', body: '' },
    { name: '.wh..wh.plnk/', type: 'directory' },
    { name: '.wh..wh.plnk/123.456', body: 'aufs' },
    { name: 'x/.wh..wh.aufs', body: '' },
    { name: 'y/', type: 'directory' },
    { name: 'y/.wh..wh.plnk', body: '' },
  ]);
  await applyLayer(root, chunked(buf));
  assert.equal(getxattr(path.join(root, 'opt'), 'trusted.overlay.opaque'), 'y');
  assert.equal(getxattr(path.join(root, 'notyet'), 'trusted.overlay.opaque'), 'y');
  assert.ok(fs.lstatSync(path.join(root, 'notyet')).isDirectory());
  assert.deepEqual(fs.readdirSync(path.join(root, 'opt')), ['new']);
  assert.deepEqual(fs.readdirSync(path.join(root, 'y')), []);
  assert.deepEqual(fs.readdirSync(root).sort(), ['notyet', 'opt', 'y']);
  assert.equal(fs.lstatSync(path.join(root, 'opt')).mtime.getTime(), T1.getTime());
  const opq = execFileSync('getfattr', ['-n', 'trusted.overlay.opaque', path.join(root, 'opt')], { encoding: 'utf8' });
  assert.match(opq, /trusted\.overlay\.opaque="y"/);
});

test('PAX xattrs are applied to files, directories and symlinks (not their targets)', async (t) => {
  const { root } = tempRoot(t);
  const buf = await makeTar([
    { name: 'd/', type: 'directory', pax: { 'SCHILY.xattr.user.dir': 'D' } },
    { name: 'd/f', body: 'x', mode: 0o4755, uid: 9, pax: { 'SCHILY.xattr.user.k': 'v a=l\\ue', 'SCHILY.xattr.trusted.t': 'T' } },
    { name: 'd/l', type: 'symlink', linkname: 'f', pax: { 'SCHILY.xattr.trusted.link': 'L' } },
  ]);
  await applyLayer(root, chunked(buf));
  assert.equal(getxattr(path.join(root, 'd'), 'user.dir'), 'D');
  assert.equal(getxattr(path.join(root, 'd/f'), 'user.k'), 'v a=l\\ue');
  assert.equal(getxattr(path.join(root, 'd/f'), 'trusted.t'), 'T');
  assert.equal(getxattr(path.join(root, 'd/l'), 'trusted.link'), 'L');
  assert.equal(getxattr(path.join(root, 'd/f'), 'trusted.link'), null);
  // Setting xattrs must not disturb mode bits applied earlier.
  assert.equal(fs.lstatSync(path.join(root, 'd/f')).mode & 0o7777, 0o4755);
});

test('existing entries are replaced, directory onto directory merges', async (t) => {
  const { root } = tempRoot(t);
  const buf = await makeTar([
    { name: 'a/', type: 'directory', mode: 0o755 },
    { name: 'a/keep', body: 'k' },
    { name: 'a/', type: 'directory', mode: 0o700, uid: 3, mtime: T2 },
    { name: 'b/', type: 'directory' },
    { name: 'b/child', body: 'gone' },
    { name: 'b', body: 'now a file' },
    { name: 'c', body: 'file first' },
    { name: 'c/', type: 'directory' },
    { name: 'c/inner', body: 'i' },
    { name: 'd', body: 'first' },
    { name: 'd', type: 'symlink', linkname: 'a' },
  ]);
  await applyLayer(root, chunked(buf));
  assert.equal(fs.readFileSync(path.join(root, 'a/keep'), 'utf8'), 'k');
  const a = fs.lstatSync(path.join(root, 'a'));
  assert.equal(a.mode & 0o7777, 0o700);
  assert.equal(a.uid, 3);
  assert.equal(a.mtime.getTime(), T2.getTime());
  assert.equal(fs.readFileSync(path.join(root, 'b'), 'utf8'), 'now a file');
  assert.equal(fs.readFileSync(path.join(root, 'c/inner'), 'utf8'), 'i');
  assert.equal(fs.readlinkSync(path.join(root, 'd')), 'a');
});

test('a root that already has content is handled', async (t) => {
  const { root } = tempRoot(t);
  fs.mkdirSync(path.join(root, 'pre/sub'), { recursive: true });
  fs.writeFileSync(path.join(root, 'pre/sub/old'), 'old');
  fs.symlinkSync('pre/sub', path.join(root, 'lnk'));
  const buf = await makeTar([
    { name: 'pre/sub/old', body: 'new' },
    { name: 'lnk/via-link', body: 'v' },
    { name: 'pre/', type: 'directory', mode: 0o750 },
  ]);
  await applyLayer(root, chunked(buf));
  assert.equal(fs.readFileSync(path.join(root, 'pre/sub/old'), 'utf8'), 'new');
  assert.equal(fs.readFileSync(path.join(root, 'pre/sub/via-link'), 'utf8'), 'v');
  assert.equal(fs.lstatSync(path.join(root, 'pre')).mode & 0o7777, 0o750);
});

test('names are cleaned: leading ./ and /, inner .., absolute .. clamps at root', async (t) => {
  const { base, root } = tempRoot(t);
  const buf = await makeTar([
    { name: './', type: 'directory', mode: 0o700 },
    { name: './dot', body: '1' },
    { name: '/slash', body: '2' },
    { name: 'a/b/../inner', body: '3' },
    { name: '/../../abs-clamped', body: '4' },
  ]);
  await applyLayer(root, chunked(buf));
  assert.equal(fs.readFileSync(path.join(root, 'dot'), 'utf8'), '1');
  assert.equal(fs.readFileSync(path.join(root, 'slash'), 'utf8'), '2');
  assert.equal(fs.readFileSync(path.join(root, 'a/inner'), 'utf8'), '3');
  assert.equal(fs.readFileSync(path.join(root, 'abs-clamped'), 'utf8'), '4');
  assert.deepEqual(fs.readdirSync(base), ['root']);
  // The "." entry does not change the root's own metadata (Docker skips it).
  assert.notEqual(fs.lstatSync(root).mode & 0o7777, 0o700);
});

async function assertEscape(t: TestContext, entries: Entry[], pattern: RegExp): Promise<void> {
  const { base, root } = tempRoot(t);
  const input = chunked(await makeTar(entries));
  await assert.rejects(applyLayer(root, input), (err: unknown) => {
    assert.ok(err instanceof LayerEscapeError, `expected LayerEscapeError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
  assert.deepEqual(fs.readdirSync(base), ['root'], 'nothing may be written next to the root');
  assert.ok(input.destroyed, 'input stream is destroyed');
}

test('escape: ../ entry', async (t) => {
  await assertEscape(t, [{ name: '../evil', body: 'x' }], /outside of the layer root/);
});

test('escape: a/../../ entry', async (t) => {
  await assertEscape(t, [{ name: 'a/', type: 'directory' }, { name: 'a/../../evil', body: 'x' }], /outside/);
});

test('escape: hardlink to ../../etc/passwd', async (t) => {
  await assertEscape(t, [{ name: 'pw', type: 'link', linkname: '../../etc/passwd' }], /hardlink target/);
});

test('escape: hardlink target with absolute .. is not clamped', async (t) => {
  await assertEscape(t, [{ name: 'pw', type: 'link', linkname: '/../etc/passwd' }], /hardlink target/);
});

test('escape: write through a symlink that climbs out', async (t) => {
  await assertEscape(
    t,
    [
      { name: 'evil', type: 'symlink', linkname: '../..' },
      { name: 'evil/pwned', body: 'x' },
    ],
    /through symlink "evil"/,
  );
});

test('escape: write through a chain of symlinks that climbs out', async (t) => {
  await assertEscape(
    t,
    [
      { name: 'd/', type: 'directory' },
      { name: 'd/up', type: 'symlink', linkname: '..' },
      { name: 'd/up2', type: 'symlink', linkname: 'up/d/up/..' },
      { name: 'd/up2/x', body: 'x' },
    ],
    /outside of the layer root/,
  );
});

test('escape: hardlink through a symlink that climbs out', async (t) => {
  await assertEscape(
    t,
    [
      { name: 'out', type: 'symlink', linkname: '../../../../../../etc' },
      { name: 'pw', type: 'link', linkname: 'out/passwd' },
    ],
    /outside of the layer root/,
  );
});

test('symlinked directories inside the root can be written through', async (t) => {
  const { base, root } = tempRoot(t);
  const buf = await makeTar([
    { name: 'real/', type: 'directory' },
    { name: 'link', type: 'symlink', linkname: 'real' },
    { name: 'link/f', body: 'via relative link' },
    // Absolute targets resolve against the layer root, as in Docker's chroot.
    { name: 'abs', type: 'symlink', linkname: '/real/sub' },
    { name: 'abs/g', body: 'via absolute link, creating real/sub' },
    { name: 'dot', type: 'symlink', linkname: 'real/../real/./' },
    { name: 'dot/h', body: 'h' },
    { name: 'hl', type: 'link', linkname: 'link/f' },
  ]);
  await applyLayer(root, chunked(buf));
  assert.equal(fs.readFileSync(path.join(root, 'real/f'), 'utf8'), 'via relative link');
  assert.equal(fs.readFileSync(path.join(root, 'real/sub/g'), 'utf8'), 'via absolute link, creating real/sub');
  assert.equal(fs.readFileSync(path.join(root, 'real/h'), 'utf8'), 'h');
  assert.equal(fs.lstatSync(path.join(root, 'hl')).ino, fs.lstatSync(path.join(root, 'real/f')).ino);
  assert.ok(fs.lstatSync(path.join(root, 'link')).isSymbolicLink());
  assert.deepEqual(fs.readdirSync(base), ['root']);
});

test('symlink loops are rejected', async (t) => {
  const { root } = tempRoot(t);
  const buf = await makeTar([
    { name: 'a', type: 'symlink', linkname: 'b' },
    { name: 'b', type: 'symlink', linkname: 'a' },
    { name: 'a/x', body: 'x' },
  ]);
  await assert.rejects(applyLayer(root, chunked(buf)), (err: unknown) => {
    assert.ok(err instanceof InvalidLayerError);
    assert.match(err.message, /too many levels of symbolic links/);
    return true;
  });
});

test('truncated tar is an InvalidLayerError (unexpected EOF)', async (t) => {
  const buf = await makeTar([
    { name: 'a', body: Buffer.alloc(5000, 1) },
    { name: 'b', body: 'b' },
  ]);
  for (const cut of [100, 512 + 1000, 512 + 5120 + 200]) {
    const { root } = tempRoot(t);
    const input = chunked(buf.subarray(0, cut), 333);
    await assert.rejects(applyLayer(root, input), (err: unknown) => {
      assert.ok(err instanceof InvalidLayerError, String(err));
      assert.match(err.message, cut === 100 ? /not a tar archive/ : /unexpected EOF in layer tar/);
      return true;
    });
  }
});

test('non-tar input is an InvalidLayerError (not a tar archive)', async (t) => {
  const { root } = tempRoot(t);
  const input = chunked(Buffer.alloc(4096, 'this is not a tar file'));
  await assert.rejects(applyLayer(root, input), (err: unknown) => {
    assert.ok(err instanceof InvalidLayerError);
    assert.match(err.message, /not a tar archive/);
    return true;
  });
  assert.ok(input.destroyed);
});

test('concurrent applies share the worker pool without interfering', async (t) => {
  const roots = [tempRoot(t).root, tempRoot(t).root, tempRoot(t).root];
  const bufs = await Promise.all(
    roots.map((_, i) =>
      makeTar(Array.from({ length: 600 }, (_, j) => ({ name: `dir${j % 7}/file${j}`, body: `layer ${i} file ${j}` }))),
    ),
  );
  await Promise.all(roots.map((root, i) => applyLayer(root, chunked(bufs[i]!, 1000))));
  roots.forEach((root, i) => {
    assert.equal(fs.readFileSync(path.join(root, 'dir3/file598'), 'utf8'), `layer ${i} file 598`);
  });
});

test('empty input is an empty layer; input errors propagate', async (t) => {
  const { root } = tempRoot(t);
  assert.deepEqual(await applyLayer(root, Readable.from([], { objectMode: false })), { size: 0 });
  const boom = new Readable({
    read() {
      this.destroy(new Error('network went away'));
    },
  });
  await assert.rejects(applyLayer(root, boom), /network went away/);
});

test('10 000 small files apply quickly (with hardlinks across batches)', async (t) => {
  // tmpfs when available: the point is our per-file overhead, not the speed of the test machine's disk.
  const parent = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const base = fs.mkdtempSync(path.join(parent, 'berth-layer-perf-'));
  t.after(() => fs.rmSync(base, { recursive: true, force: true }));
  const root = path.join(base, 'root');
  fs.mkdirSync(root);
  const entries: Entry[] = [];
  for (let d = 0; d < 100; d++) {
    entries.push({ name: `d${d}/`, type: 'directory', mtime: T1 });
    for (let f = 0; f < 100; f++) entries.push({ name: `d${d}/f${f}`, body: `file ${d}/${f}\n`, mode: 0o644, uid: 1, mtime: T2 });
    // One link into the same batch, one to a file queued several batches earlier.
    entries.push({ name: `d${d}/same`, type: 'link', linkname: `d${d}/f0`, mode: 0o644, uid: 1, mtime: T2 });
    if (d >= 5) entries.push({ name: `d${d}/old`, type: 'link', linkname: `d${d - 5}/f1`, mode: 0o644, uid: 1, mtime: T2 });
  }
  const buf = await makeTar(entries);
  const start = process.hrtime.bigint();
  const res = await applyLayer(root, chunked(buf, 64 * 1024));
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  t.diagnostic(`10 000 files in ${ms.toFixed(0)} ms on ${parent}`);
  assert.equal(res.size, entries.reduce((n, e) => n + (e.body?.length ?? 0), 0));
  assert.equal(fs.readFileSync(path.join(root, 'd42/f17'), 'utf8'), 'file 42/17\n');
  assert.equal(fs.lstatSync(path.join(root, 'd99/f99')).mtime.getTime(), T2.getTime());
  assert.equal(fs.lstatSync(path.join(root, 'd7')).mtime.getTime(), T1.getTime());
  assert.equal(fs.lstatSync(path.join(root, 'd50/old')).ino, fs.lstatSync(path.join(root, 'd45/f1')).ino);
  assert.equal(fs.lstatSync(path.join(root, 'd50/same')).ino, fs.lstatSync(path.join(root, 'd50/f0')).ino);
  assert.equal(fs.readdirSync(path.join(root, 'd3')).length, 101);
  assert.ok(ms < 10000, `took ${ms} ms`);
});
