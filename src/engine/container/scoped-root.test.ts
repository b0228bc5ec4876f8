/**
 * ScopedRoot's path resolution on a real tree: walk() (directories, opened)
 * and canonical() (names, as far as the file system goes) agree on every
 * symlink and `..`, and neither ever leaves the root — the cases docker cp
 * meets, and the ones a hostile container plants.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ScopedRoot } from './scoped-root.js';

let dir: string;
let root: string;
let host: string;

before(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bt-scoped-'));
  root = path.join(dir, 'root');
  host = path.join(dir, 'host');
  await fsp.mkdir(path.join(root, 'etc', 'deep'), { recursive: true });
  await fsp.mkdir(path.join(root, 'data'), { recursive: true });
  await fsp.mkdir(path.join(host, 'inside'), { recursive: true });
  await fsp.writeFile(path.join(root, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\n');
  await fsp.writeFile(path.join(host, 'hostfile'), 'host\n');
  // Escapes a careless resolver would follow onto the host.
  await fsp.symlink('/etc', path.join(root, 'abs')); // absolute: restarts at the container's /
  await fsp.symlink('../../../../etc', path.join(root, 'up')); // climbs: stops at the container's /
  await fsp.symlink('etc/deep', path.join(root, 'rel'));
  await fsp.symlink('loop2', path.join(root, 'loop1'));
  await fsp.symlink('loop1', path.join(root, 'loop2'));
  await fsp.symlink('/nowhere/x', path.join(root, 'dangling'));
  await fsp.symlink('/etc/passwd', path.join(root, 'tofile'));
  await fsp.symlink('/', path.join(root, 'etc', 'deep', 'toroot'));
});

after(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

async function withRoot<T>(fn: (r: ScopedRoot) => Promise<T>): Promise<T> {
  const r = await ScopedRoot.open(root, { uid: 0, gid: 0 });
  try {
    return await fn(r);
  } finally {
    await r.close();
  }
}

const split = (p: string) => p.split('/').filter(Boolean);
const code = (err: unknown) => (err as { code?: string }).code;

test('canonical: symlinks followed inside the root, the rest named lexically', async () => {
  await withRoot(async (r) => {
    const cases: [string, string][] = [
      ['/', '/'],
      ['/etc/passwd', '/etc/passwd'],
      ['/abs/passwd', '/etc/passwd'],
      ['/up/passwd', '/etc/passwd'],
      ['/../../../etc/./deep/..', '/etc'],
      ['/rel/toroot/etc', '/etc'],
      ['/rel/../passwd', '/etc/passwd'],
      ['/missing/a/../b', '/missing/b'],
      ['/dangling', '/nowhere/x'],
      ['/dangling/../y', '/nowhere/y'],
      ['/tofile', '/etc/passwd'],
    ];
    for (const [p, want] of cases) assert.equal(`/${(await r.canonical(split(p))).join('/')}`, want, p);
    await assert.rejects(r.canonical(split('/loop1')), (e) => code(e) === 'ELOOP');
    await assert.rejects(r.canonical(split('/etc/passwd/x')), (e) => code(e) === 'ENOTDIR');
    await assert.rejects(r.canonical(split('/tofile/x')), (e) => code(e) === 'ENOTDIR');
  });
});

test('walk: directories only, reached inside the root', async () => {
  await withRoot(async (r) => {
    for (const [p, want] of [
      ['/', ''],
      ['/abs', 'etc'],
      ['/up/deep', 'etc/deep'],
      ['/rel/toroot/data', 'data'],
      ['/../..', ''],
    ] as const) {
      assert.equal((await r.walk(split(p))).parts.join('/'), want, p);
    }
    // What the descriptor holds is the directory under the root, not the host's /etc.
    const d = await r.walk(split('/up'));
    assert.ok((await fsp.readdir(`/proc/self/fd/${d.fd}`)).includes('deep'));
    await assert.rejects(r.walk(split('/missing')), (e) => code(e) === 'ENOENT');
    await assert.rejects(r.walk(split('/dangling')), (e) => code(e) === 'ENOENT');
    await assert.rejects(r.walk(split('/etc/passwd')), (e) => code(e) === 'ENOTDIR');
    await assert.rejects(r.walk(split('/tofile')), (e) => code(e) === 'ENOTDIR');
    await assert.rejects(r.walk(split('/loop1')), (e) => code(e) === 'ELOOP');
  });
});

test('walk with create makes the missing directories, 0755, through symlinks in scope', async () => {
  await withRoot(async (r) => {
    const d = await r.walk(split('/abs/new/sub'), true);
    assert.equal(d.parts.join('/'), 'etc/new/sub');
    const st = await fsp.stat(path.join(root, 'etc', 'new', 'sub'));
    assert.ok(st.isDirectory());
    assert.equal(st.mode & 0o777, 0o755);
    // A dangling absolute symlink is created inside the root, never on the host.
    const made = await r.walk(split('/dangling'), true);
    assert.equal(made.parts.join('/'), 'nowhere/x');
    assert.ok((await fsp.stat(path.join(root, 'nowhere', 'x'))).isDirectory());
    await assert.rejects(fsp.stat('/nowhere/x'), (e) => code(e) === 'ENOENT');
  });
});

test('mounts: a bind-mounted directory is entered at its host source; a file mount ends a name', async () => {
  await withRoot(async (r) => {
    r.mounts.set('data', { kind: 'dir', source: host, rw: true, dest: '/data' });
    r.mounts.set('etc/hostname', { kind: 'file', source: path.join(host, 'hostfile'), rw: true, dest: '/etc/hostname' });
    const d = await r.walk(split('/data/inside'));
    assert.equal(d.parts.join('/'), 'data/inside');
    assert.deepEqual((await fsp.readdir(`/proc/self/fd/${(await r.walk(split('/data'))).fd}`)).sort(), ['hostfile', 'inside']);
    assert.deepEqual(await r.canonical(split('/data/inside/../hostfile')), ['data', 'hostfile']);
    assert.deepEqual(await r.canonical(split('/etc/hostname')), ['etc', 'hostname']);
    await assert.rejects(r.canonical(split('/etc/hostname/x')), (e) => code(e) === 'ENOTDIR');
    await assert.rejects(r.walk(split('/etc/hostname')), (e) => code(e) === 'ENOTDIR');
  });
});
