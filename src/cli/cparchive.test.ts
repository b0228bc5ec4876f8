/**
 * The host side of cp without a daemon: moby's path rules, the tars berth
 * uploads, and an extractor that must never write outside its destination
 * whatever the tar says.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { extract, pack, type Header } from 'tar-stream';
import {
  copyInfoSourcePath,
  goBase,
  goClean,
  goDir,
  preserveTrailingDotOrSeparator,
  prepareArchiveCopy,
  rebaseName,
  splitPathDirEntry,
  tarResource,
  untar,
} from './cparchive.js';

let tmp: string;

before(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'bt-cparchive-'));
});

after(async () => {
  if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
});

type Entry = Partial<Header> & { name: string; body?: string };

async function makeTar(entries: Entry[]): Promise<Readable> {
  const p = pack();
  for (const { body, ...h } of entries) {
    if (h.type === undefined || h.type === 'file') p.entry({ mode: 0o644, ...h }, body ?? '');
    else p.entry({ mode: 0o755, ...h });
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Readable.from([Buffer.concat(chunks)]);
}

async function listTar(r: Readable): Promise<string[]> {
  const ex = extract();
  r.pipe(ex as unknown as NodeJS.WritableStream);
  const out: string[] = [];
  for await (const e of ex) {
    out.push(e.header.type === 'link' || e.header.type === 'symlink' ? `${e.header.name} ${e.header.type} ${e.header.linkname}` : e.header.name);
    e.resume();
  }
  return out;
}

async function newDir(name: string): Promise<string> {
  const dir = path.join(tmp, name);
  await fsp.mkdir(dir);
  return dir;
}

test('Go path semantics the copy rules rest on', () => {
  assert.equal(goBase(''), '.');
  assert.equal(goBase('/a/b/'), 'b');
  assert.equal(goBase('/'), '/');
  assert.equal(goClean('/a/b/'), '/a/b');
  assert.equal(goClean('a/../..'), '..');
  assert.equal(goDir('/a/b/'), '/a/b');
  assert.equal(goDir('file'), '.');
  assert.deepEqual(splitPathDirEntry('/a/b/.'), ['/a/b', '.']);
  assert.deepEqual(splitPathDirEntry('/a/b/'), ['/a', 'b']);
  assert.equal(preserveTrailingDotOrSeparator('/x/dir', 'dir/.'), '/x/dir/.');
  assert.equal(preserveTrailingDotOrSeparator('/x/dir', 'dir/'), '/x/dir/');
  assert.equal(rebaseName('dir/sub/dir', { from: 'dir', to: 'new' }), 'new/sub/dir');
  assert.equal(rebaseName('/bin/sh', { from: '/', to: 'root' }), 'root/bin/sh');
});

test('PrepareArchiveCopy: where a copy lands, and moby\'s two refusals', () => {
  const file = { path: '/s/f', exists: true, isDir: false };
  const dir = { path: '/s/d', exists: true, isDir: true };
  assert.deepEqual(prepareArchiveCopy(file, { path: '/t/', exists: true, isDir: true }), { dstDir: '/t/' });
  assert.deepEqual(prepareArchiveCopy(file, { path: '/t/g', exists: false, isDir: false }), { dstDir: '/t', rebase: { from: 'f', to: 'g' } });
  assert.deepEqual(prepareArchiveCopy(file, { path: '/t/g', exists: true, isDir: false }), { dstDir: '/t', rebase: { from: 'f', to: 'g' } });
  assert.deepEqual(prepareArchiveCopy({ path: '/s/d/.', exists: true, isDir: true }, { path: '/t/new', exists: false, isDir: false }), {
    dstDir: '/t',
    rebase: { from: '.', to: 'new' },
  });
  assert.throws(() => prepareArchiveCopy(dir, { path: '/t/g', exists: true, isDir: false }), /^Error: cannot copy directory$/);
  assert.throws(() => prepareArchiveCopy(file, { path: '/t/nodir/', exists: false, isDir: false }), /^Error: no such directory$/);
});

test('the tar berth uploads: names as moby\'s TarResource gives them, rebased, hard links kept', async () => {
  const s = await newDir('src');
  await fsp.mkdir(path.join(s, 'd', 'sub'), { recursive: true });
  await fsp.writeFile(path.join(s, 'd', 'b'), 'b');
  await fsp.writeFile(path.join(s, 'd', 'a'), 'a');
  await fsp.link(path.join(s, 'd', 'a'), path.join(s, 'd', 'sub', 'z'));
  await fsp.symlink('../a', path.join(s, 'd', 'sub', 'l'));
  const dir = await copyInfoSourcePath(path.join(s, 'd'), false);
  assert.deepEqual(await listTar(tarResource(dir, [])), ['d/', 'd/a', 'd/b', 'd/sub/', 'd/sub/l symlink ../a', 'd/sub/z link d/a']);
  assert.deepEqual(await listTar(tarResource(dir, [{ from: 'd', to: 'new' }])), ['new/', 'new/a', 'new/b', 'new/sub/', 'new/sub/l symlink ../a', 'new/sub/z link new/a']);
  const contents = await copyInfoSourcePath(`${path.join(s, 'd')}/.`, false);
  assert.deepEqual((await listTar(tarResource(contents, []))).slice(0, 3), ['./', './a', './b']);
  const file = await copyInfoSourcePath(path.join(s, 'd', 'a'), false);
  assert.deepEqual(await listTar(tarResource(file, [{ from: 'a', to: 'renamed' }])), ['renamed']);
  await assert.rejects(copyInfoSourcePath(path.join(s, 'nope'), false), { message: `lstat ${path.join(s, 'nope')}: no such file or directory` });
  await assert.rejects(copyInfoSourcePath(path.join(s, 'nodir', 'x'), false), { message: `lstat ${path.join(s, 'nodir')}: no such file or directory` });
});

test('untar extracts files, directories, links, modes and times; a leading / counts from the destination', async () => {
  const dest = await newDir('plain');
  const mtime = new Date('2020-01-02T03:04:05Z');
  await untar(
    await makeTar([
      { name: 'd/', type: 'directory', mtime },
      { name: 'd/f', body: 'data', mode: 0o600, mtime },
      { name: 'd/l', type: 'symlink', linkname: 'f' },
      { name: 'd/h', type: 'link', linkname: 'd/f' },
      { name: '/abs/x', body: 'abs' },
    ]),
    dest,
    [{ from: 'd', to: 'e' }],
  );
  assert.equal(await fsp.readFile(path.join(dest, 'e', 'f'), 'utf8'), 'data');
  assert.equal((await fsp.stat(path.join(dest, 'e', 'f'))).mode & 0o777, 0o600);
  assert.equal((await fsp.stat(path.join(dest, 'e', 'f'))).nlink, 2);
  assert.equal(await fsp.readlink(path.join(dest, 'e', 'l')), 'f');
  assert.equal((await fsp.stat(path.join(dest, 'e'))).mtime.getTime(), mtime.getTime());
  assert.equal(await fsp.readFile(path.join(dest, 'abs', 'x'), 'utf8'), 'abs');
  // An existing directory is not replaced by a file (NoOverwriteDirNonDir).
  await assert.rejects(untar(await makeTar([{ name: 'e', body: 'x' }]), dest, []), /cannot overwrite directory/);
});

test('untar never writes outside its destination', async () => {
  const outside = path.join(tmp, `outside-${process.pid}`);
  const cases: [string, Entry[], RegExp][] = [
    ['dotdot', [{ name: '../escape', body: 'x' }], /is outside of/],
    ['deep dotdot', [{ name: 'a/../../escape', body: 'x' }], /is outside of/],
    ['relative symlink out', [{ name: 'up', type: 'symlink', linkname: '../../..' }], /invalid symlink/],
    ['through an absolute symlink', [{ name: 'root', type: 'symlink', linkname: '/' }, { name: `root${outside}`, body: 'x' }], /is outside of/],
    ['through a symlink to the parent', [{ name: 'par', type: 'symlink', linkname: '.' }, { name: 'par/../../escape', body: 'x' }], /is outside of/],
    ['hard link out', [{ name: 'h', type: 'link', linkname: '../victim' }], /invalid hardlink/],
  ];
  await fsp.writeFile(path.join(tmp, 'victim'), 'victim');
  for (const [what, entries, err] of cases) {
    const dest = await newDir(`safe-${what.replace(/ /g, '-')}`);
    await assert.rejects(untar(await makeTar(entries), dest, []), err, what);
    assert.equal(existsSync(outside), false, what);
    assert.equal(existsSync(path.join(tmp, 'escape')), false, what);
  }
  // A symlink already in the destination is not followed either.
  const dest = await newDir('safe-existing-link');
  await fsp.mkdir(path.join(tmp, 'elsewhere'));
  await fsp.symlink(path.join(tmp, 'elsewhere'), path.join(dest, 'sub'));
  await assert.rejects(untar(await makeTar([{ name: 'sub/file', body: 'x' }]), dest, []), /is outside of/);
  assert.deepEqual(await fsp.readdir(path.join(tmp, 'elsewhere')), []);
  // The file the symlink named is replaced, not written through.
  await fsp.symlink(path.join(tmp, 'victim'), path.join(dest, 'v'));
  await untar(await makeTar([{ name: 'v', body: 'new' }]), dest, []);
  assert.equal(await fsp.readFile(path.join(tmp, 'victim'), 'utf8'), 'victim');
  assert.equal(await fsp.readFile(path.join(dest, 'v'), 'utf8'), 'new');
});
