/**
 * Disk accounting (issue 13): `system df` accounts for the bytes under the
 * data root, and every prune's SpaceReclaimed is what actually left the
 * disk — measured here by walking the data root, never by trusting berth.
 *
 * What df counts and where it lives:
 *   LayersSize       overlay2/layers/<chain>/diff of layers images and containers hold, and content/blobs
 *   Containers       overlay2/rw/<id>/diff (SizeRw)
 *   Local Volumes    volumes/<name>/_data
 *   Build Cache      layers only the cache holds (records not Shared), builder/mounts/<h>/data
 * Left out, as dockerd leaves them out: records and metadata (JSON files,
 * links, container init layers of a few empty files) and container logs
 * (bounded by --log-opt max-size/max-file instead). The tolerance below is
 * for those: TOLERANCE bytes plus 1% of the total.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { docker, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';
import { api } from './helpers/http.js';
import { makeContext } from './helpers/build.js';
import type { SystemDataUsageResponse } from '../src/common/api/index.js';

const TOLERANCE = 64 * 1024;

let d: TestDaemon;

before(async () => {
  d = await startDaemonWithBusybox();
});

after(async () => {
  await d?.cleanup();
});

/** Apparent bytes of regular files and symlinks under `dir` (hard links once): what `du -sb --apparent` would say of the data. */
function bytesUnder(dir: string, seen = new Set<string>()): number {
  let total = 0;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += bytesUnder(p, seen);
    else if (e.isFile() || e.isSymbolicLink()) {
      const st = fs.lstatSync(p);
      const key = `${st.dev}:${st.ino}`;
      if (e.isFile() && seen.has(key)) continue;
      seen.add(key);
      total += st.size;
    }
  }
  return total;
}

/** The data root's data, by what df calls it: every diff, blob, volume and cache mount. */
/** What a container's init layer holds in bytes: /etc/mtab → /proc/mounts (container/rootfs.ts). */
const INIT_LAYER_BYTES = '/proc/mounts'.length;

function dataBytes(): number {
  const root = d.dataRoot;
  const seen = new Set<string>();
  let total = bytesUnder(path.join(root, 'content', 'blobs'), seen);
  for (const kind of ['layers', 'rw']) {
    const base = path.join(root, 'overlay2', kind);
    for (const name of fs.existsSync(base) ? fs.readdirSync(base) : []) total += bytesUnder(path.join(base, name, 'diff'), seen);
  }
  const vols = path.join(root, 'volumes');
  for (const name of fs.existsSync(vols) ? fs.readdirSync(vols) : []) total += bytesUnder(path.join(vols, name, '_data'), seen);
  const mounts = path.join(root, 'builder', 'mounts');
  for (const name of fs.existsSync(mounts) ? fs.readdirSync(mounts) : []) total += bytesUnder(path.join(mounts, name, 'data'), seen);
  return total;
}

async function df(): Promise<{ du: SystemDataUsageResponse; total: number }> {
  const du = (await api(d.socket, 'GET', '/system/df')).json<SystemDataUsageResponse>();
  const cache = du.BuildCache as { Size: number; Shared: boolean }[];
  const total =
    du.LayersSize +
    du.Containers.reduce((n, c) => n + (c.SizeRw ?? 0), 0) +
    du.Volumes.reduce((n, v) => n + Math.max(0, v.UsageData?.Size ?? 0), 0) +
    cache.filter((c) => !c.Shared).reduce((n, c) => n + c.Size, 0);
  return { du, total };
}

function assertClose(reported: number, measured: number, what: string): void {
  const slack = TOLERANCE + measured / 100;
  assert.ok(Math.abs(reported - measured) <= slack, `${what}: reported ${reported}, on disk ${measured} (±${Math.round(slack)})`);
}

const ok = async (args: string[], opts?: Parameters<typeof docker>[2]) => {
  const r = await docker(d, args, opts);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
};

/** Containers, volumes, an image committed and one built (with a cache mount), each with some hundreds of kB of its own. */
async function populate(tag: string): Promise<void> {
  await ok(['run', '--name', `${tag}-rw`, '--label', `set=${tag}`, 'busybox', 'sh', '-c', 'head -c 300000 /dev/urandom > /rw.bin']);
  await ok(['run', '--name', `${tag}-vol`, '--label', `set=${tag}`, '-v', `${tag}-named:/named`, '-v', '/anon', 'busybox', 'sh', '-c', 'head -c 200000 /dev/urandom > /named/f; head -c 100000 /dev/urandom > /anon/f']);
  await ok(['commit', `${tag}-rw`, `${tag}-committed:1`]);
  const ctx = await makeContext({
    Dockerfile: `FROM busybox\nLABEL set=${tag}\nRUN head -c 250000 /dev/urandom > /built.bin\nRUN --mount=type=cache,target=/cache,id=${tag} head -c 150000 /dev/urandom > /cache/c && echo ${tag} > /done\n`,
  });
  try {
    await ok(['build', '-t', `${tag}-built:1`, ctx], { env: { DOCKER_BUILDKIT: '0' } });
  } finally {
    await fsp.rm(ctx, { recursive: true, force: true });
  }
}

test('system df accounts for the data root: images, containers, volumes, build cache (berth and docker CLIs agree)', async () => {
  await populate('a');
  const { du, total } = await df();
  assertClose(total, dataBytes(), 'df total');
  // Each kind has what was made of it.
  assert.ok(du.Containers.some((c) => (c.SizeRw ?? 0) >= 300000));
  assert.ok(du.Volumes.some((v) => v.Name === 'a-named' && v.UsageData!.Size === 200000 && v.UsageData!.RefCount === 1));
  const cache = du.BuildCache as { Size: number; Shared: boolean; Type: string }[];
  assert.ok(cache.some((c) => c.Type === 'exec.cachemount' && c.Size === 150000 && !c.Shared));
  // The built image holds its step layers: those records are Shared, their bytes counted once (in LayersSize).
  assert.ok(cache.some((c) => c.Type === 'regular' && c.Size >= 250000 && c.Shared));
  // The summary: Build Cache and Local Volumes sizes as docker's CLI computes them (they used to print 0B).
  const out = await ok(['system', 'df', '--format', '{{.Type}}={{.Size}}']);
  assert.match(out, /Local Volumes=(30\d|29\d)kB/, out);
  assert.match(out, /Build Cache=15\dkB/, out);
  const { berth } = await import('./helpers/daemon.js');
  const b = await berth(d, ['system', 'df', '--format', '{{.Type}}={{.Size}}']);
  assert.equal(b.stdout.trim(), (await ok(['system', 'df', '--format', '{{.Type}}={{.Size}}'])));
  const v = await berth(d, ['system', 'df', '-v']);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, /Images space usage:[\s\S]*Containers space usage:[\s\S]*Local Volumes space usage:[\s\S]*a-named\s+1\s+200kB[\s\S]*Build cache usage: 15\dkB/);
  // The same tables as docker's (times aside: they move between the two calls).
  const headers = (text: string) => text.split('\n').filter((l) => /^[A-Z][A-Z ]+[A-Z]\s{2,}/.test(l) || /usage/.test(l)).map((l) => l.replace(/\s+/g, ' ').trim());
  assert.deepEqual(headers(v.stdout), headers((await docker(d, ['system', 'df', '-v'])).stdout));
});

test('prunes free exactly what they report: containers, volumes, images, build cache; filters narrow them', async () => {
  await populate('b');
  // label filter: only set=b's containers go; a's stay.
  let before = dataBytes();
  const c = (await api(d.socket, 'POST', `/containers/prune?filters=${encodeURIComponent(JSON.stringify({ label: ['set=b'] }))}`)).json<{ ContainersDeleted: string[]; SpaceReclaimed: number }>();
  assert.deepEqual(c.ContainersDeleted.length, 2);
  // dockerd reports each container's SizeRw; its init layer leaves unreported (the /etc/mtab link: 12 bytes).
  assert.equal(c.SpaceReclaimed + INIT_LAYER_BYTES * c.ContainersDeleted.length, before - dataBytes(), 'container prune');
  assert.equal((await ok(['ps', '-aq', '--filter', 'label=set=a'])).split('\n').length, 2);
  // until: a duration counts back from now (nothing made 1 h ago), as dockerd reads it; never "everything".
  const none = (await api(d.socket, 'POST', `/containers/prune?filters=${encodeURIComponent(JSON.stringify({ until: ['1h'] }))}`)).json<{ ContainersDeleted: string[] }>();
  assert.deepEqual(none.ContainersDeleted, []);
  const bad = await api(d.socket, 'POST', `/containers/prune?filters=${encodeURIComponent(JSON.stringify({ until: ['soon'] }))}`);
  assert.equal(bad.status, 400);
  assert.equal((await ok(['ps', '-aq'])).split('\n').length, 2);

  for (const [what, url] of [
    ['volume prune (all unused)', '/volumes/prune?filters=' + encodeURIComponent(JSON.stringify({ all: ['true'], label: [] }))],
    ['image prune -a', '/images/prune?filters=' + encodeURIComponent(JSON.stringify({ dangling: ['false'] }))],
    ['build cache prune', '/build/prune?all=1'],
  ] as const) {
    before = dataBytes();
    const r = (await api(d.socket, 'POST', url)).json<{ SpaceReclaimed: number }>();
    assert.ok(r.SpaceReclaimed > 0, what);
    assert.equal(r.SpaceReclaimed, before - dataBytes(), what);
  }
  // What is left is what a's containers hold, still accounted for.
  assertClose((await df()).total, dataBytes(), 'df total after prunes');
});

test('docker system prune -a --volumes -f: everything unused goes, and the total it prints is what left the disk', async () => {
  await populate('c');
  await ok(['rm', 'c-vol']);
  const before = dataBytes();
  const out = await ok(['system', 'prune', '-a', '--volumes', '-f']);
  assert.match(out, /Deleted Containers:[\s\S]*Deleted Images:[\s\S]*Total reclaimed space: /);
  const freed = before - dataBytes();
  const printed = /Total reclaimed space: (\S+)/.exec(out)![1]!;
  const { humanSize } = await import('../src/common/units.js');
  assert.equal(printed, humanSize(freed));
  // Nothing is left to free: only busybox's blobs and layers held by nothing are gone too.
  const after = await df();
  assert.deepEqual(after.du.Containers, []);
  assertClose(after.total, dataBytes(), 'df total after system prune');
  // berth's own system prune on an empty engine says so.
  const { berth } = await import('./helpers/daemon.js');
  const again = await berth(d, ['system', 'prune', '-a', '--volumes', '-f']);
  assert.equal(again.stdout, 'Total reclaimed space: 0B\n');
  // Without -f both CLIs ask the same question, and a "no" removes nothing.
  // (busybox went with the prune: imported again from the host's busybox, never pulled.)
  const { busyboxRootfs } = await import('./helpers/rootfs.js');
  await ok(['import', (await busyboxRootfs()).tar, 'busybox']);
  await ok(['create', '--label', 'x=1', 'busybox', 'true']);
  const args = ['system', 'prune', '--volumes', '--filter', 'label=x=1'];
  const dp = await docker(d, args, { input: 'n\n' });
  const bp = await berth(d, args, { input: 'n\n' });
  assert.match(dp.stdout, /^WARNING! This will remove:\n {2}- all stopped containers\n[\s\S]* {2}- label=x=1\n\nAre you sure you want to continue\? \[y\/N\] /);
  assert.equal(bp.stdout, dp.stdout);
  assert.equal((await ok(['ps', '-aq'])).split('\n').length, 1);
});
