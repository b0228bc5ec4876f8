/**
 * `docker cp` (HEAD/GET/PUT /containers/{id}/archive) and `docker export`
 * against berthd with the real docker CLI: files and directories both ways,
 * the `/.` and trailing-slash rules, running, created and exited containers,
 * tar on stdin/stdout, Docker's error messages, and symlinks inside the
 * container that must never lead a copy outside the container's root.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, promises as fsp } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { DOCKER, docker, runCli, startDaemon, type TestDaemon } from './helpers/daemon.js';
import { api } from './helpers/http.js';
import { busyboxRootfs } from './helpers/rootfs.js';

let d: TestDaemon;
let tmp: string;
let src: string;
let out: string;
const containers: string[] = [];
/** Host paths a broken implementation would create; removed in after() whatever happens. */
const tag = randomBytes(6).toString('hex');
const escapees = [`/tmp/bt-cp-escape-${tag}`, `/bt-cp-escape-${tag}`, `/bt-cp-escape3-${tag}`, `/tmp/bind-${tag}`];

/** A shell pipeline with DOCKER_HOST set, the docker CLI as $D. */
const sh = (script: string) => runCli('sh', ['-c', script], d, { env: { D: DOCKER } });

async function upperDir(c: string): Promise<string> {
  const r = await docker(d, ['inspect', '-f', '{{.GraphDriver.Data.UpperDir}}', c]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

async function mergedMounted(c: string): Promise<boolean> {
  const r = await docker(d, ['inspect', '-f', '{{.GraphDriver.Data.MergedDir}}', c]);
  const merged = r.stdout.trim();
  const info = await fsp.readFile('/proc/self/mountinfo', 'utf8');
  return info.split('\n').some((l) => l.split(' ')[4] === merged);
}

async function run(args: string[]): Promise<void> {
  const r = await docker(d, args);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
}

before(async () => {
  d = await startDaemon();
  const { tar } = await busyboxRootfs();
  await run(['import', tar, 'busybox']);
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'bt-cp-'));
  src = path.join(tmp, 'src');
  out = path.join(tmp, 'out');
  await fsp.mkdir(path.join(src, 'dir', 'sub'), { recursive: true });
  await fsp.mkdir(out);
  await fsp.writeFile(path.join(src, 'hello.txt'), 'hello\n');
  await fsp.writeFile(path.join(src, 'dir', 'a.txt'), 'a\n');
  await fsp.writeFile(path.join(src, 'dir', 'sub', 'b.txt'), 'b\n');
  await fsp.writeFile(path.join(src, 'payload.txt'), 'payload\n');
  await fsp.mkdir(path.join(tmp, 'victim'));
  await fsp.writeFile(path.join(tmp, 'victim', 'secret.txt'), 'host secret\n');
  await run(['run', '-d', '--name', 'cp-run', 'busybox', 'sleep', '600']);
  containers.push('cp-run');
});

after(async () => {
  for (const c of containers) await docker(d, ['rm', '-f', c]).catch(() => undefined);
  await d?.cleanup();
  if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
  for (const p of escapees) await fsp.rm(p, { recursive: true, force: true });
});

test('docker cp host → running container: a file, a directory, and a directory\'s contents with /.', async () => {
  await run(['cp', path.join(src, 'hello.txt'), 'cp-run:/tmp/hello.txt']);
  await run(['cp', path.join(src, 'dir'), 'cp-run:/tmp/']);
  // `/.` copies the contents: into a new directory named by the destination…
  await run(['cp', `${path.join(src, 'dir')}/.`, 'cp-run:/tmp/contents']);
  // …and into an existing one.
  await run(['cp', `${path.join(src, 'dir')}/.`, 'cp-run:/root']);
  const upper = await upperDir('cp-run');
  assert.equal(await fsp.readFile(path.join(upper, 'tmp/hello.txt'), 'utf8'), 'hello\n');
  assert.equal(await fsp.readFile(path.join(upper, 'tmp/dir/a.txt'), 'utf8'), 'a\n');
  assert.equal(await fsp.readFile(path.join(upper, 'tmp/dir/sub/b.txt'), 'utf8'), 'b\n');
  assert.equal(await fsp.readFile(path.join(upper, 'tmp/contents/a.txt'), 'utf8'), 'a\n');
  assert.equal(await fsp.readFile(path.join(upper, 'tmp/contents/sub/b.txt'), 'utf8'), 'b\n');
  assert.ok(!existsSync(path.join(upper, 'tmp/contents/dir')));
  assert.equal(await fsp.readFile(path.join(upper, 'root/a.txt'), 'utf8'), 'a\n');
  assert.equal(await fsp.readFile(path.join(upper, 'root/sub/b.txt'), 'utf8'), 'b\n');
  // Permissions come along.
  assert.equal((await fsp.stat(path.join(upper, 'tmp/dir/sub'))).mode & 0o7777, (await fsp.stat(path.join(src, 'dir/sub'))).mode & 0o7777);

  // A file to a directory path that does not exist: the CLI's "no such directory".
  const r = await docker(d, ['cp', path.join(src, 'hello.txt'), 'cp-run:/tmp/nodir/']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no such directory/);
});

test('docker cp running container → host: a file, a directory, its contents, and a bind-mounted /etc file', async () => {
  await run(['cp', 'cp-run:/tmp/hello.txt', path.join(out, 'hello-back.txt')]);
  assert.equal(await fsp.readFile(path.join(out, 'hello-back.txt'), 'utf8'), 'hello\n');
  await run(['cp', 'cp-run:/tmp/dir', `${out}/`]);
  assert.equal(await fsp.readFile(path.join(out, 'dir/sub/b.txt'), 'utf8'), 'b\n');
  await run(['cp', 'cp-run:/tmp/dir/.', path.join(out, 'flat')]);
  assert.equal(await fsp.readFile(path.join(out, 'flat/a.txt'), 'utf8'), 'a\n');
  assert.equal(await fsp.readFile(path.join(out, 'flat/sub/b.txt'), 'utf8'), 'b\n');
  await run(['cp', 'cp-run:/etc/passwd', path.join(out, 'passwd')]);
  assert.match(await fsp.readFile(path.join(out, 'passwd'), 'utf8'), /^root:x:0:0:/);
  // /etc/hostname is a bind mount while the container runs: the real file, not the rootfs's empty mount point.
  const id = (await docker(d, ['inspect', '-f', '{{.Id}}', 'cp-run'])).stdout.trim();
  await run(['cp', 'cp-run:/etc/hostname', path.join(out, 'hostname')]);
  assert.equal(await fsp.readFile(path.join(out, 'hostname'), 'utf8'), `${id.slice(0, 12)}\n`);
});

test('docker cp to and from created and exited containers mounts the rootfs only for the copy', async () => {
  await run(['create', '--name', 'cp-created', 'busybox', 'cat', '/tmp/greeting.txt']);
  containers.push('cp-created');
  await run(['cp', path.join(src, 'hello.txt'), 'cp-created:/tmp/greeting.txt']);
  assert.equal(await mergedMounted('cp-created'), false);
  const started = await docker(d, ['start', '-a', 'cp-created']);
  assert.equal(started.code, 0, started.stderr);
  assert.equal(started.stdout, 'hello\n');

  await run(['run', '--name', 'cp-made', 'busybox', 'sh', '-c', 'echo made > /made.txt; mkdir -p /data/x; echo deep > /data/x/f']);
  containers.push('cp-made');
  await run(['cp', 'cp-made:/made.txt', path.join(out, 'made.txt')]);
  assert.equal(await fsp.readFile(path.join(out, 'made.txt'), 'utf8'), 'made\n');
  await run(['cp', 'cp-made:/data', path.join(out, 'data')]);
  assert.equal(await fsp.readFile(path.join(out, 'data/x/f'), 'utf8'), 'deep\n');
  assert.equal(await mergedMounted('cp-made'), false);
  // The exited container's /etc/hosts is still the file berth wrote for it.
  await run(['cp', 'cp-made:/etc/hosts', path.join(out, 'hosts')]);
  assert.match(await fsp.readFile(path.join(out, 'hosts'), 'utf8'), /^127\.0\.0\.1\tlocalhost$/m);
});

test('a missing path: 404 from HEAD, and docker cp exits 1 with Docker\'s message; stat header for a directory', async () => {
  const r = await docker(d, ['cp', 'cp-run:/nonexistent', `${out}/`]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Could not find the file \/nonexistent in container cp-run/);
  const head = await api(d.socket, 'HEAD', '/v1.41/containers/cp-run/archive?path=/nonexistent');
  assert.equal(head.status, 404);
  const get = await api(d.socket, 'GET', '/v1.41/containers/cp-run/archive?path=/nonexistent');
  assert.equal(get.status, 404);
  assert.equal(get.json<{ message: string }>().message, 'Could not find the file /nonexistent in container cp-run');
  const noPath = await api(d.socket, 'GET', '/v1.41/containers/cp-run/archive');
  assert.equal(noPath.status, 400);

  const tmpStat = await api(d.socket, 'HEAD', '/v1.41/containers/cp-run/archive?path=/tmp/');
  assert.equal(tmpStat.status, 200);
  const stat = JSON.parse(Buffer.from(String(tmpStat.headers['x-docker-container-path-stat']), 'base64').toString()) as Record<string, unknown>;
  // Go's os.FileMode: ModeDir | ModeSticky | 0777 for a 1777 /tmp.
  assert.deepEqual(Object.keys(stat), ['name', 'size', 'mode', 'mtime', 'linkTarget']);
  assert.equal(stat.name, 'tmp');
  assert.equal(stat.mode, 2 ** 31 + 2 ** 20 + 0o777);
  assert.match(String(stat.mtime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  assert.equal(stat.linkTarget, '');
});

test('symlinks in the container (to /, to ../../..) never take a copy outside the container root', async () => {
  const name1 = path.basename(escapees[0]!);
  const name2 = path.basename(escapees[1]!);
  const name3 = path.basename(escapees[2]!);
  const victim = path.join(tmp, 'victim');
  await run(['run', '--name', 'cp-links', 'busybox', 'sh', '-c', 'ln -s / /tmp/rootlink && ln -s ../../.. /tmp/uplink && mkdir /tmp/d && ln -s ../../../../../.. /tmp/d/deep']);
  containers.push('cp-links');
  const upper = await upperDir('cp-links');

  // Through an absolute link: /tmp/rootlink/tmp/<name> is the container's /tmp/<name>.
  await run(['cp', path.join(src, 'payload.txt'), `cp-links:/tmp/rootlink/tmp/${name1}`]);
  assert.equal(await fsp.readFile(path.join(upper, 'tmp', name1), 'utf8'), 'payload\n');
  assert.equal(existsSync(escapees[0]!), false);

  // Through `..` links that climb past the root: they stop at the container's /.
  await run(['cp', path.join(src, 'payload.txt'), `cp-links:/tmp/uplink/${name2}`]);
  assert.equal(await fsp.readFile(path.join(upper, name2), 'utf8'), 'payload\n');
  assert.equal(existsSync(escapees[1]!), false);
  await run(['cp', path.join(src, 'payload.txt'), `cp-links:/tmp/d/deep/tmp/deep-${name1}`]);
  assert.equal(await fsp.readFile(path.join(upper, 'tmp', `deep-${name1}`), 'utf8'), 'payload\n');

  // A host directory's path, through the links, is not the host directory.
  const w = await docker(d, ['cp', path.join(src, 'payload.txt'), `cp-links:/tmp/uplink${victim}/`]);
  assert.equal(w.code, 1);
  assert.deepEqual(await fsp.readdir(victim), ['secret.txt']);
  const rd = await docker(d, ['cp', `cp-links:/tmp/rootlink${victim}/secret.txt`, `${out}/`]);
  assert.equal(rd.code, 1);
  assert.match(rd.stderr, /Could not find the file/);
  assert.equal(existsSync(path.join(out, 'secret.txt')), false);

  // An archive whose own symlink points at / and then carries a file below it.
  const t1 = path.join(tmp, 'evil1');
  const t2 = path.join(tmp, 'evil2');
  await fsp.mkdir(t1);
  await fsp.symlink('/', path.join(t1, 'evil'));
  await fsp.mkdir(path.join(t2, 'evil'), { recursive: true });
  await fsp.writeFile(path.join(t2, 'evil', name3), 'via archive\n');
  const evilTar = path.join(tmp, 'evil.tar');
  const mk = await sh(`tar -C '${t1}' -cf '${evilTar}' evil && tar -C '${t2}' -rf '${evilTar}' 'evil/${name3}'`);
  assert.equal(mk.code, 0, mk.stderr);
  const put = await sh(`"$D" cp - cp-links:/tmp < '${evilTar}'`);
  assert.equal(put.code, 0, put.stderr);
  assert.equal(await fsp.readFile(path.join(upper, name3), 'utf8'), 'via archive\n');
  assert.equal(existsSync(escapees[2]!), false);

  // A relative link that climbs out of the extraction directory is refused, as moby does.
  const t3 = path.join(tmp, 'evil3');
  await fsp.mkdir(t3);
  await fsp.symlink('../../../../..', path.join(t3, 'up'));
  const up = await sh(`tar -C '${t3}' -cf - up | "$D" cp - cp-links:/tmp`);
  assert.equal(up.code, 1);
  assert.match(up.stderr, /invalid symlink "\/tmp\/up" -> "..\/..\/..\/..\/.."/);
});

test('docker export streams the container filesystem as a tar, without runtime mounts', async () => {
  const r = await sh('"$D" export cp-run | tar -t');
  assert.equal(r.code, 0, r.stderr);
  const names = r.stdout.trim().split('\n');
  for (const n of ['bin/', 'bin/busybox', 'bin/sh', 'etc/passwd', 'tmp/hello.txt', 'tmp/dir/sub/b.txt', '.dockerenv', 'proc/', 'sys/', 'dev/']) {
    assert.ok(names.includes(n), `${n} in export: ${names.slice(0, 20).join(' ')}`);
  }
  assert.ok(!names.some((n) => n.startsWith('/') || n.startsWith('./')));
  // Nothing of /proc or /sys: the host's view of the rootfs has no mounts on them.
  assert.deepEqual(names.filter((n) => n.startsWith('proc/') || n.startsWith('sys/')), ['proc/', 'sys/']);
  // Runtime bind mounts are not in an export (Docker's export is the rootfs alone).
  const hosts = await sh('"$D" export cp-run | tar -xOf - etc/hosts | wc -c');
  assert.equal(hosts.stdout.trim(), '0');

  // A stopped container exports too, and is unmounted afterwards.
  const s = await sh('"$D" export cp-made | tar -t');
  assert.equal(s.code, 0, s.stderr);
  assert.ok(s.stdout.split('\n').includes('made.txt'));
  assert.equal(await mergedMounted('cp-made'), false);
});

test('docker cp - takes a tar on stdin and writes one to stdout', async () => {
  const inr = await sh(`tar -C '${src}' -cf - dir | "$D" cp - cp-run:/home`);
  assert.equal(inr.code, 0, inr.stderr);
  const list = await sh('"$D" cp cp-run:/home/dir - | tar -tf -');
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(list.stdout.trim().split('\n').sort(), ['dir/', 'dir/a.txt', 'dir/sub/', 'dir/sub/b.txt']);
  const cat = await sh('"$D" cp cp-run:/tmp/hello.txt - | tar -xOf - hello.txt');
  assert.equal(cat.stdout, 'hello\n');
  const dot = await sh('"$D" cp cp-run:/home/dir/. - | tar -tf -');
  assert.deepEqual(dot.stdout.trim().split('\n').sort(), ['./', './a.txt', './sub/', './sub/b.txt']);

  // A file over an existing directory is refused (the CLI asks for noOverwriteDirNonDir).
  const t = path.join(tmp, 'clash');
  await fsp.mkdir(t);
  await fsp.writeFile(path.join(t, 'dir'), 'not a dir\n');
  const clash = await sh(`tar -C '${t}' -cf - dir | "$D" cp - cp-run:/home`);
  assert.equal(clash.code, 1);
  assert.match(clash.stderr, /cannot overwrite directory "\/home\/dir" with non-directory "\/home"/);

  // Writing onto a bind-mounted /etc file is refused rather than hidden under the mount.
  const etc = await docker(d, ['cp', path.join(src, 'hello.txt'), 'cp-run:/etc/hostname']);
  assert.equal(etc.code, 1);
  assert.match(etc.stderr, /unlinkat \/etc\/hostname: device or resource busy/);
});

test('docker cp sees bind mounts like the container does: read-write, read-only, symlinks inside them, tmpfs refused', async () => {
  const rwDir = path.join(tmp, 'bind-rw');
  const roDir = path.join(tmp, 'bind-ro');
  await fsp.mkdir(rwDir);
  await fsp.mkdir(roDir);
  await fsp.writeFile(path.join(rwDir, 'from-host.txt'), 'from host\n');
  // A link in the host directory: inside the container it resolves against the container's root.
  await fsp.symlink('/', path.join(rwDir, 'toroot'));
  await run(['run', '-d', '--name', 'cp-binds', '-v', `${rwDir}:/data`, '-v', `${roDir}:/ro:ro`, '--tmpfs', '/scratch', 'busybox', 'sleep', '600']);
  containers.push('cp-binds');

  await run(['cp', 'cp-binds:/data/from-host.txt', path.join(out, 'from-host.txt')]);
  assert.equal(await fsp.readFile(path.join(out, 'from-host.txt'), 'utf8'), 'from host\n');
  await run(['cp', path.join(src, 'hello.txt'), 'cp-binds:/data/']);
  assert.equal(await fsp.readFile(path.join(rwDir, 'hello.txt'), 'utf8'), 'hello\n');
  const listing = await sh('"$D" cp cp-binds:/data - | tar -tf - | sort');
  assert.deepEqual(listing.stdout.trim().split('\n'), ['data/', 'data/from-host.txt', 'data/hello.txt', 'data/toroot']);

  await run(['cp', path.join(src, 'payload.txt'), `cp-binds:/data/toroot/tmp/bind-${tag}`]);
  assert.equal(await fsp.readFile(path.join(await upperDir('cp-binds'), 'tmp', `bind-${tag}`), 'utf8'), 'payload\n');
  assert.equal(existsSync(`/tmp/bind-${tag}`), false);

  const ro = await docker(d, ['cp', path.join(src, 'hello.txt'), 'cp-binds:/ro/']);
  assert.equal(ro.code, 1);
  assert.match(ro.stderr, /mounted volume is marked read-only/);
  assert.deepEqual(await fsp.readdir(roDir), []);
  const tmpfs = await docker(d, ['cp', path.join(src, 'hello.txt'), 'cp-binds:/scratch/']);
  assert.equal(tmpfs.code, 1);
  assert.match(tmpfs.stderr, /\/scratch is a tmpfs mount/);

  // A container never started has no mount point in its rootfs yet: the bind is there all the same.
  await run(['create', '--name', 'cp-binds-new', '-v', `${rwDir}:/fresh`, 'busybox', 'true']);
  containers.push('cp-binds-new');
  await run(['cp', path.join(src, 'payload.txt'), 'cp-binds-new:/fresh/']);
  assert.equal(await fsp.readFile(path.join(rwDir, 'payload.txt'), 'utf8'), 'payload\n');
  const root = await sh('"$D" cp cp-binds-new:/ - | tar -tf - | grep -c "^/fresh/payload.txt$"');
  assert.equal(root.stdout.trim(), '1');
});
