/**
 * Hostile and broken tars on the three ways in — `docker load`, `docker
 * import` and `docker cp` into a container — that archive.test.ts,
 * api-errors.test.ts and cp.test.ts do not already send: names that climb
 * out, symlinks written through, links to host files, metadata headers over
 * Go's 1 MiB cap, truncation inside an entry, device nodes. Each is refused
 * with a clear message (or, where dockerd accepts it, kept inside the
 * container), berthd keeps running, nothing lands on the host and nothing
 * stored changes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, promises as fsp } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { docker, startDaemon, type TestDaemon } from './helpers/daemon.js';
import { api } from './helpers/http.js';
import { busyboxRootfs } from './helpers/rootfs.js';
import { makeTar, sha256 } from '../src/engine/image/archive/testing.js';

let d: TestDaemon;
let upper = '';
const tag = randomBytes(6).toString('hex');
const escapees = [`/tmp/bt-hostile-${tag}`, `/bt-hostile-${tag}`, `/etc/bt-hostile-${tag}`];

before(async () => {
  d = await startDaemon();
  const { tar } = await busyboxRootfs();
  assert.equal((await docker(d, ['import', tar, 'busybox'])).code, 0);
  const r = await docker(d, ['run', '-d', '--name', 'target', 'busybox', 'sleep', '600']);
  assert.equal(r.code, 0, r.stderr);
  upper = (await docker(d, ['inspect', '-f', '{{.GraphDriver.Data.UpperDir}}', 'target'])).stdout.trim();
});

after(async () => {
  await docker(d, ['rm', '-f', 'target']).catch(() => undefined);
  await d?.cleanup();
  for (const p of escapees) await fsp.rm(p, { recursive: true, force: true });
});

/** One 512-byte ustar header, checksummed. */
function header(name: string, size: number, typeflag: string, linkname = '', dev: [number, number] = [0, 0]): Buffer {
  const b = Buffer.alloc(512);
  const oct = (v: number, off: number, len: number) => b.write(v.toString(8).padStart(len - 1, '0') + '\0', off, len, 'latin1');
  b.write(name, 0, 100, 'latin1');
  oct(0o644, 100, 8);
  oct(0, 108, 8);
  oct(0, 116, 8);
  oct(size, 124, 12);
  oct(1700000000, 136, 12);
  b.write(typeflag, 156, 1, 'latin1');
  b.write(linkname, 157, 100, 'latin1');
  b.write('ustar\x0000', 257, 8, 'latin1');
  oct(dev[0], 329, 8);
  oct(dev[1], 337, 8);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const c of b) sum += c;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return b;
}

function entry(name: string, body: Buffer | string, typeflag = '0'): Buffer {
  const data = Buffer.from(body);
  return Buffer.concat([header(name, data.length, typeflag), data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

const END = Buffer.alloc(1024);

/** A PAX extended header whose one record is over Go's 1 MiB cap on metadata. */
function hugePax(): Buffer {
  const value = 'a'.repeat(2 << 20);
  let rec = `path=${value}\n`;
  const len = (n: number) => `${n} ${rec}`;
  let n = rec.length + 8;
  while (len(n).length !== n) n = len(n).length;
  rec = len(n);
  return entry('PaxHeaders/x', rec, 'x');
}

/** Everything a refused request must leave alone: images, blobs, layers, the container's writable layer. */
async function stored(): Promise<string> {
  const walk = async (dir: string, prefix = ''): Promise<string[]> => {
    const out: string[] = [];
    for (const e of (await fsp.readdir(dir, { withFileTypes: true }).catch(() => [])).sort((a, b) => a.name.localeCompare(b.name))) {
      const rel = `${prefix}/${e.name}`;
      const st = await fsp.lstat(path.join(dir, e.name));
      out.push(`${rel} ${st.mode.toString(8)} ${st.isFile() ? st.size : ''}`);
      if (e.isDirectory()) out.push(...(await walk(path.join(dir, e.name), rel)));
    }
    return out;
  };
  const ls = (p: string) => fsp.readdir(path.join(d.dataRoot, p)).then((x) => x.sort().join(','), () => '');
  return [
    (await api(d.socket, 'GET', '/images/json?all=1')).body.toString(),
    await ls('content/blobs/sha256'),
    await ls('overlay2/layers'),
    (await walk(upper)).join('\n'),
  ].join('\n');
}

function noEscapees(): void {
  for (const p of escapees) assert.ok(!existsSync(p), `${p} was created on the host`);
}

async function cpRefused(archive: Buffer, message: RegExp, dest = '/tmp'): Promise<void> {
  const before = await stored();
  const r = await api(d.socket, 'PUT', `/containers/target/archive?path=${encodeURIComponent(dest)}`, archive, { 'Content-Type': 'application/x-tar' });
  assert.ok(r.status >= 400 && r.status < 500, `status ${r.status}: ${r.body.toString()}`);
  assert.match(r.json<{ message: string }>().message, message);
  assert.equal(await stored(), before);
  noEscapees();
  assert.equal((await api(d.socket, 'GET', '/_ping')).status, 200);
}

test('cp into a container: an entry climbing out of the destination is a 400 and writes nothing', async () => {
  await cpRefused(Buffer.concat([entry(`../../../../../tmp/bt-hostile-${tag}`, 'escaped'), entry('ok.txt', 'fine'), END]), /^"\.\.\/\.\.\/\.\.\/\.\.\/\.\.\/tmp\/bt-hostile-[0-9a-f]+" is outside of "\/tmp"$/);
  // cp is no transaction, in dockerd either: entries before the bad one stay.
  const r = await api(d.socket, 'PUT', '/containers/target/archive?path=/tmp', Buffer.concat([entry('ok.txt', 'fine'), entry('../../../../../x', 'escaped'), END]), { 'Content-Type': 'application/x-tar' });
  assert.equal(r.status, 400);
  assert.equal((await docker(d, ['exec', 'target', 'rm', '/tmp/ok.txt'])).code, 0);
});

test('cp into a container: metadata over 1 MiB, and a tar cut inside an entry, are 400s', async () => {
  await cpRefused(Buffer.concat([hugePax(), entry('x', 'y'), END]), /^PAX header too large \(2097166 bytes\)$/);
  // Cut inside the file's data: no half-written file is left.
  const cut = Buffer.concat([entry('big.bin', Buffer.alloc(100_000, 1))]).subarray(0, 4096);
  await cpRefused(cut, /^unexpected EOF in layer tar/);
});

test('cp into a container: a symlink to / written through lands inside the container; one climbing out is a 400', async () => {
  const archive = Buffer.concat([header('root-link', 0, '2', '/'), entry(`root-link/etc/bt-hostile-${tag}`, 'through absolute'), END]);
  const r = await api(d.socket, 'PUT', '/containers/target/archive?path=/tmp', archive, { 'Content-Type': 'application/x-tar' });
  // dockerd extracts inside the container's root (chrootarchive): the link resolves there, never on the host.
  assert.equal(r.status, 200, r.body.toString());
  noEscapees();
  assert.equal((await docker(d, ['exec', 'target', 'cat', `/etc/bt-hostile-${tag}`])).stdout, 'through absolute');
  assert.equal((await docker(d, ['exec', 'target', 'rm', `/etc/bt-hostile-${tag}`, '/tmp/root-link'])).code, 0);
  // moby refuses a relative link that climbs out of the extraction directory, before anything is written through it.
  await cpRefused(Buffer.concat([header('climb-link', 0, '2', '../../../../../../..'), entry(`climb-link/bt-hostile-${tag}`, 'through relative'), END]), /^invalid symlink "\/tmp\/climb-link" -> "..\/..\/..\/..\/..\/..\/.."$/);
});

test('cp into a container: a device node is made as dockerd makes it (root daemon), inside the container only', async () => {
  const archive = Buffer.concat([header('nulldev', 0, '3', '', [1, 3]), END]);
  const r = await api(d.socket, 'PUT', '/containers/target/archive?path=/tmp', archive, { 'Content-Type': 'application/x-tar' });
  assert.equal(r.status, 200, r.body.toString());
  const st = await fsp.lstat(path.join(upper, 'tmp', 'nulldev'));
  assert.ok(st.isCharacterDevice());
  assert.equal((await docker(d, ['exec', 'target', 'rm', '/tmp/nulldev'])).code, 0);
});

/** POST /images/load: dockerd answers 200 and reports the error in the stream; the store must not change. */
async function loadRefused(archive: Buffer, message: RegExp): Promise<void> {
  const before = await stored();
  const r = await api(d.socket, 'POST', '/images/load?quiet=1', archive, { 'Content-Type': 'application/x-tar' });
  const text = r.body.toString();
  if (r.status === 200) {
    const last = JSON.parse(text.trim().split('\r\n').pop()!) as { errorDetail?: { message: string } };
    assert.ok(last.errorDetail, text);
    assert.match(last.errorDetail.message, message);
  } else {
    assert.ok(r.status >= 400 && r.status < 500, `status ${r.status}: ${text}`);
    assert.match(r.json<{ message: string }>().message, message);
  }
  assert.equal(await stored(), before);
  noEscapees();
}

test('load: a manifest naming a path outside the archive, or a symlink to a host file, is refused', async () => {
  const cfg = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(Buffer.alloc(1024))] } }));
  const p = `blobs/sha256/${sha256(cfg).slice(7)}`;
  for (const layer of ['../../../../etc/passwd', '/etc/passwd']) {
    const archive = await makeTar([{ name: p, body: cfg }, { name: 'manifest.json', body: JSON.stringify([{ Config: p, RepoTags: ['evil:1'], Layers: [layer] }]) }]);
    await loadRefused(archive, /invalid image archive/);
  }
  const viaLink = await makeTar([
    { name: p, body: cfg },
    { name: 'layer.tar', type: 'symlink', linkname: '/etc/passwd' },
    { name: 'manifest.json', body: JSON.stringify([{ Config: p, RepoTags: ['evil:1'], Layers: ['layer.tar'] }]) },
  ]);
  await loadRefused(viaLink, /invalid image archive/);
});

test('load: metadata over 1 MiB in the archive is refused; a device node entry is no crash', async () => {
  await loadRefused(Buffer.concat([hugePax(), entry('manifest.json', '[]'), END]), /invalid image archive/);
  await loadRefused(Buffer.concat([header('manifest.json', 0, '4', '', [8, 0]), END]), /invalid image archive|manifest/);
});

test('import: a layer climbing out by name or through a symlink, or with metadata over 1 MiB, is a 400 and stores nothing', async () => {
  for (const archive of [
    Buffer.concat([entry('etc/ok', 'x'), entry(`../../bt-hostile-${tag}`, 'escaped'), END]),
    Buffer.concat([header('lnk', 0, '2', '../../../..'), entry(`lnk/bt-hostile-${tag}`, 'through'), END]),
    Buffer.concat([hugePax(), entry('x', 'y'), END]),
  ]) {
    const before = await stored();
    const r = await api(d.socket, 'POST', '/images/create?fromSrc=-&repo=hostile', archive, { 'Content-Type': 'application/x-tar' });
    const text = r.body.toString();
    // An error before any output is an HTTP 400; once the stream began it is in-band.
    assert.ok(r.status === 400 || /errorDetail/.test(text), `status ${r.status}: ${text}`);
    assert.equal(await stored(), before);
    noEscapees();
  }
});
