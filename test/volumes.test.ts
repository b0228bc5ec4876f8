/**
 * Volumes of the local driver with the real docker CLI (and the berth CLI's
 * run -v): create/ls/inspect/rm/prune, named and anonymous volumes, the
 * image's VOLUMEs, the copy of the image's files into a fresh volume,
 * `rm -v` and `--rm` taking anonymous volumes only, and volumes in use.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { berth, docker, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';

let d: TestDaemon;

before(async () => {
  d = await startDaemonWithBusybox();
});

after(async () => {
  await d?.cleanup();
});

const volumes = async () => (await docker(d, ['volume', 'ls', '-q'])).stdout.trim().split('\n').filter(Boolean).sort();

test('volume create / ls / inspect / rm', async () => {
  const c = await docker(d, ['volume', 'create', '--label', 'team=a', 'v1']);
  assert.equal(c.code, 0, c.stderr);
  assert.equal(c.stdout, 'v1\n');
  // Creating it again is not an error (the local driver's create is idempotent).
  assert.equal((await docker(d, ['volume', 'create', 'v1'])).code, 0);
  const ls = await docker(d, ['volume', 'ls']);
  assert.match(ls.stdout, /^DRIVER\s+VOLUME NAME$/m);
  assert.match(ls.stdout, /^local\s+v1$/m);
  const [v] = JSON.parse((await docker(d, ['volume', 'inspect', 'v1'])).stdout) as { Name: string; Driver: string; Mountpoint: string; Labels: Record<string, string>; Scope: string }[];
  assert.equal(v!.Driver, 'local');
  assert.equal(v!.Scope, 'local');
  assert.deepEqual(v!.Labels, { team: 'a' });
  assert.equal(v!.Mountpoint, path.join(d.dataRoot, 'volumes', 'v1', '_data'));
  assert.equal((await docker(d, ['volume', 'ls', '-q', '--filter', 'label=team=a'])).stdout, 'v1\n');
  const bad = await docker(d, ['volume', 'create', 'bad name']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /includes invalid characters for a local volume name/);
  assert.equal((await docker(d, ['volume', 'rm', 'v1'])).stdout, 'v1\n');
  assert.equal(existsSync(v!.Mountpoint), false);
  const gone = await docker(d, ['volume', 'inspect', 'v1']);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /no such volume/);
});

test('a named volume keeps data across containers; -v name:/path creates it; both CLIs', async () => {
  const w = await docker(d, ['run', '--rm', '-v', 'data1:/data', 'busybox', 'sh', '-c', 'echo kept > /data/f']);
  assert.equal(w.code, 0, w.stderr);
  assert.ok((await volumes()).includes('data1'));
  const r = await berth(d, ['run', '--rm', '-v', 'data1:/data:ro', 'busybox', 'sh', '-c', 'cat /data/f; touch /data/g 2>&1 || echo read-only']);
  assert.match(r.stdout, /^kept\n/);
  assert.match(r.stdout, /read-only/i);
  // --mount type=volume too.
  const m = await docker(d, ['run', '--rm', '--mount', 'type=volume,source=data1,target=/m', 'busybox', 'cat', '/m/f']);
  assert.equal(m.stdout, 'kept\n');
});

test('a fresh volume gets the image\'s files at its path; nocopy and a used volume do not', async () => {
  const r = await docker(d, ['run', '--rm', '-v', 'etcvol:/etc', 'busybox', 'cat', '/etc/passwd']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^root:/);
  assert.ok(existsSync(path.join(d.dataRoot, 'volumes', 'etcvol', '_data', 'passwd')));
  // nocopy: only the mount points of the files berth binds into /etc, none of the image's.
  const none = await docker(d, ['run', '--rm', '-v', 'etcvol2:/etc:nocopy', 'busybox', 'ls', '/etc']);
  assert.equal(none.stdout, 'hostname\nhosts\nresolv.conf\n');
  // A symlinked mount path is followed inside the container, never onto the host's files.
  const link = await docker(d, ['run', '--rm', '-v', 'linkvol:/bin/sh-dir', 'busybox', 'true']);
  assert.equal(link.code, 0, link.stderr);
});

test('anonymous volumes: -v /path and the image\'s VOLUME; rm -v and --rm remove them, named ones stay', async () => {
  const before = await volumes();
  assert.equal((await docker(d, ['run', '-d', '--name', 'anon1', '-v', '/scratch', '-v', 'keepme:/keep', 'busybox', 'sleep', '100'])).code, 0);
  const mounts = JSON.parse((await docker(d, ['inspect', '-f', '{{json .Mounts}}', 'anon1'])).stdout) as { Type: string; Name: string; Destination: string; Driver: string; Mode: string; RW: boolean }[];
  const anon = mounts.find((x) => x.Destination === '/scratch')!;
  assert.equal(anon.Type, 'volume');
  assert.match(anon.Name, /^[0-9a-f]{64}$/);
  assert.equal(anon.Driver, 'local');
  const named = mounts.find((x) => x.Destination === '/keep')!;
  assert.equal(named.Name, 'keepme');
  assert.equal(named.Mode, 'z');
  // In use: refused, with the user named.
  const busy = await docker(d, ['volume', 'rm', 'keepme']);
  assert.equal(busy.code, 1);
  assert.match(busy.stderr, /volume is in use - \[[0-9a-f]{64}\]/);
  assert.equal((await docker(d, ['rm', '-fv', 'anon1'])).code, 0);
  assert.deepEqual(await volumes(), [...before, 'keepme'].sort());
  // The image's VOLUME becomes an anonymous volume; --rm removes it.
  assert.equal((await docker(d, ['commit', '-c', 'VOLUME /vol', '-c', 'CMD ["sh"]', (await docker(d, ['create', 'busybox', 'true'])).stdout.trim(), 'withvol'])).code, 0);
  const r = await docker(d, ['run', '--rm', 'withvol', 'sh', '-c', 'grep " /vol " /proc/mounts | wc -l']);
  assert.equal(r.stdout.trim(), '1');
  assert.deepEqual(await volumes(), [...before, 'keepme'].sort());
});

test('volume prune takes unused anonymous volumes (and named ones with --all); system df counts them', async () => {
  assert.equal((await docker(d, ['run', '--name', 'leaver', '-v', '/left', 'busybox', 'true'])).code, 0);
  assert.equal((await docker(d, ['rm', 'leaver'])).code, 0);
  assert.equal((await docker(d, ['volume', 'create', 'unusednamed'])).code, 0);
  const anonLeft = (await volumes()).filter((v) => /^[0-9a-f]{64}$/.test(v));
  assert.ok(anonLeft.length >= 1);
  const df = await docker(d, ['system', 'df', '--format', '{{.Type}} {{.TotalCount}}']);
  assert.match(df.stdout, /^Local Volumes \d+$/m);
  const p = await docker(d, ['volume', 'prune', '-f']);
  assert.equal(p.code, 0, p.stderr);
  for (const a of anonLeft) assert.match(p.stdout, new RegExp(a));
  assert.ok((await volumes()).includes('unusednamed'));
  const all = await docker(d, ['volume', 'prune', '-af']);
  assert.match(all.stdout, /unusednamed/);
  assert.equal((await volumes()).includes('unusednamed'), false);
  assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes(`${d.dataRoot}/volumes`), false);
});

test('the berth CLI\'s volume commands print what docker\'s print', async () => {
  assert.equal((await berth(d, ['volume', 'create', '--label', 'k=v', 'bv1'])).stdout, 'bv1\n');
  for (const args of [['volume', 'ls'], ['volume', 'ls', '-q'], ['volume', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Labels}}'], ['volume', 'inspect', 'bv1'], ['volume', 'inspect', 'nosuchvol'], ['volume', 'rm', 'nosuchvol']]) {
    const [b, k] = await Promise.all([berth(d, args), docker(d, args)]);
    assert.equal(b.stdout, k.stdout, args.join(' '));
    assert.equal(b.stderr, k.stderr, args.join(' '));
    assert.equal(b.code, k.code, args.join(' '));
  }
  assert.equal((await berth(d, ['run', '--rm', '-v', '/anonb', 'busybox', 'true'])).code, 0);
  assert.equal((await berth(d, ['volume', 'rm', 'bv1'])).stdout, 'bv1\n');
  const p = await berth(d, ['volume', 'prune', '-f']);
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stdout, /Total reclaimed space: /);
});
