/**
 * `--userns-remap`: containers in a user namespace whose root is an
 * unprivileged host user, with layers, rw layers, commit, export and cp
 * translating owners as dockerd's do. The tests make their own system user
 * with subordinate ranges and remove it (and any /etc/sub{u,g}id files they
 * caused) afterwards.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fsp, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { restoreHostNet, snapshotHostNet, type HostNetSnapshot } from './helpers/network.js';
import { berth, docker, DOCKER, startDaemon, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';
import { startRegistry } from './helpers/distribution-registry.js';

const execFileP = promisify(execFile);

const USER = 'berth-userns-test';
const START = 400000;
const SUB_FILES = ['/etc/subuid', '/etc/subgid', '/etc/subuid-', '/etc/subgid-'];
let preexisting: Set<string>;
let d: TestDaemon;
const BRIDGE = `btu${randomBytes(3).toString('hex')}`;
let hostNet: HostNetSnapshot;

async function removeUser(name: string): Promise<void> {
  await execFileP('userdel', [name]).catch(() => undefined);
}

/** Leaves /etc/sub{u,g}id as they were: files the tests caused to exist are removed once they are empty again. */
async function restoreSubFiles(): Promise<void> {
  for (const f of SUB_FILES) {
    if (preexisting.has(f) || !existsSync(f)) continue;
    if (f.endsWith('-') || readFileSync(f, 'utf8').trim() === '') await fsp.rm(f, { force: true });
  }
}

before(async () => {
  preexisting = new Set(SUB_FILES.filter((f) => existsSync(f)));
  await removeUser(USER);
  await execFileP('useradd', ['-r', '-s', '/bin/false', USER]);
  await execFileP('usermod', ['-v', `${START}-${START + 65535}`, '-w', `${START}-${START + 65535}`, USER]);
  hostNet = await snapshotHostNet();
  // On the default bridge: its namespace is made before the container's user namespace exists.
  d = await startDaemonWithBusybox(['--userns-remap', USER, '--bridge', BRIDGE, '--bip', '10.233.41.1/24', '--ip-masq=false', '--ip-forward=false']);
});

after(async () => {
  await d?.cleanup();
  await restoreHostNet(hostNet, BRIDGE);
  await removeUser(USER);
  await restoreSubFiles();
});

const remapped = () => path.join(d.dataRoot, `${START}.${START}`);

async function containerId(name: string): Promise<string> {
  return (await docker(d, ['inspect', '-f', '{{.Id}}', name])).stdout.trim();
}

test('the daemon keeps its state in <data-root>/<uid>.<gid> and reports name=userns', async () => {
  const info = await docker(d, ['info', '--format', '{{.DockerRootDir}}|{{json .SecurityOptions}}']);
  assert.equal(info.code, 0, info.stderr);
  const [root, opts] = info.stdout.trim().split('|');
  assert.equal(root, remapped());
  assert.ok((JSON.parse(opts!) as string[]).includes('name=userns'));
  // dockerd's permissions: the base passable by anyone, the remapped root only by its group.
  assert.equal((await fsp.stat(d.dataRoot)).mode & 0o777, 0o711);
  const st = await fsp.stat(remapped());
  assert.equal(st.mode & 0o777, 0o710);
  assert.equal(st.gid, START);
  // Unpacked image layers belong to the remapped IDs.
  const layers = path.join(remapped(), 'overlay2', 'layers');
  const [layer] = await fsp.readdir(layers);
  const busybox = await fsp.stat(path.join(layers, layer!, 'diff', 'bin', 'busybox'));
  assert.deepEqual([busybox.uid, busybox.gid], [START, START]);
});

test('containers run as root in a user namespace mapped onto the subordinate range', async () => {
  const r = await berth(d, ['run', '--name', 'u1', 'busybox', 'sh', '-c', 'id -u; cat /proc/self/uid_map /proc/self/gid_map; stat -c "%u:%g" /bin/busybox; touch /made; stat -c "%u:%g" /made']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '));
  assert.deepEqual(lines, ['0', `0 ${START} 65536`, `0 ${START} 65536`, '0:0', '0:0']);
  // On the host the new file belongs to the remapped root.
  const upper = path.join(remapped(), 'overlay2', 'rw', await containerId('u1'), 'diff', 'made');
  // Networking works too: runc makes the network namespace inside the user namespace, CNI wires it before the process runs.
  const net = await docker(d, ['run', '--rm', 'busybox', 'sh', '-c', 'ip -4 -o addr show eth0; ls /sys/class/net; tail -1 /etc/hosts']);
  const ip = /inet (10\.233\.41\.\d+)\/24/.exec(net.stdout)?.[1];
  assert.ok(ip, net.stdout);
  // Its own sysfs: only its own interfaces.
  assert.match(net.stdout, /^eth0\nlo\n/m);
  assert.match(net.stdout, new RegExp(`^${ip.replace(/\./g, '\\.')}\t[0-9a-f]{12}$`, 'm'));
  const st = await fsp.stat(upper);
  assert.deepEqual([st.uid, st.gid], [START, START]);
  await docker(d, ['rm', 'u1']);
});

test('commit and export write container IDs; whiteouts survive', async () => {
  const r = await docker(d, ['run', '--name', 'u2', 'busybox', 'sh', '-c', 'echo hi >/f; mkdir /d; chown 5:6 /d; rm /bin/ls']);
  assert.equal(r.code, 0, r.stderr);
  const diff = await docker(d, ['diff', 'u2']);
  assert.deepEqual(diff.stdout.trim().split('\n').sort(), ['A /d', 'A /f', 'C /bin', 'D /bin/ls']);
  const c = await berth(d, ['commit', 'u2', 'userns-committed']);
  assert.equal(c.code, 0, c.stderr);
  const check = await docker(d, ['run', '--rm', 'userns-committed', 'sh', '-c', 'stat -c "%n %u:%g" /f /d; test -e /bin/ls && echo ls-back || echo ls-gone']);
  assert.equal(check.stdout, '/f 0:0\n/d 5:6\nls-gone\n');
  // The committed layer itself, as docker save ships it: owners are container IDs.
  const dir = await fsp.mkdtemp(path.join(d.dir, 'save-'));
  const saved = path.join(dir, 'img.tar');
  assert.equal((await docker(d, ['save', '-o', saved, 'userns-committed'])).code, 0);
  await execFileP('tar', ['xf', saved, '-C', dir]);
  const manifest = JSON.parse(await fsp.readFile(path.join(dir, 'manifest.json'), 'utf8')) as { Layers: string[] }[];
  const top = path.join(dir, manifest[0]!.Layers.at(-1)!);
  const { stdout: listing } = await execFileP('tar', ['tvf', top, '--numeric-owner']);
  assert.match(listing, /^-rw-r--r-- 0\/0 .* f$/m);
  assert.match(listing, /^drwxr-xr-x 5\/6 .* d\/$/m);
  assert.match(listing, /bin\/\.wh\.ls$/m);
  // export: the whole filesystem in container IDs.
  const exported = path.join(dir, 'export.tar');
  assert.equal((await berth(d, ['export', '-o', exported, 'u2'])).code, 0);
  const { stdout: all } = await execFileP('tar', ['tvf', exported, '--numeric-owner']);
  assert.match(all, /^-rwxr-xr-x 0\/0 .* bin\/busybox$/m);
  assert.match(all, /^drwxr-xr-x 5\/6 .* d\/$/m);
  await docker(d, ['rm', 'u2']);
  await docker(d, ['rmi', 'userns-committed']);
});

test('a pull unpacks layers with the remapped owners', async () => {
  const reg = await startRegistry();
  try {
    const name = `${reg.host}/userns/img:1`;
    let r = await docker(d, ['run', '--name', 'u-pull', 'busybox', 'sh', '-c', 'mkdir /d && chown 5:6 /d && echo x > /d/f']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await docker(d, ['commit', 'u-pull', name])).code, 0);
    await docker(d, ['rm', 'u-pull']);
    r = await docker(d, ['push', name]);
    assert.equal(r.code, 0, r.stderr);
    // Gone here: the pull unpacks the layer again.
    assert.equal((await docker(d, ['rmi', name])).code, 0);
    await docker(d, ['image', 'prune', '-f']);
    r = await docker(d, ['pull', name]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Pull complete/);
    // Container IDs inside (host IDs outside the range would show as nobody)…
    const check = await docker(d, ['run', '--rm', name, 'stat', '-c', '%u:%g', '/d', '/d/f']);
    assert.equal(check.stdout, '5:6\n0:0\n', check.stderr);
    // …because the layer on disk holds the remapped host IDs.
    const layer = (await docker(d, ['image', 'inspect', '-f', '{{.GraphDriver.Data.UpperDir}}', name])).stdout.trim();
    const st = await fsp.stat(path.join(layer, 'd'));
    assert.deepEqual([st.uid, st.gid], [START + 5, START + 6]);
    await docker(d, ['rmi', name]);
  } finally {
    await reg.cleanup();
  }
});

test('cp into a running container and exec see container owners', async () => {
  assert.equal((await docker(d, ['run', '-d', '--name', 'u3', 'busybox', 'sleep', '1000'])).code, 0);
  try {
    const src = path.join(d.dir, 'cp-in.txt');
    await fsp.writeFile(src, 'in\n');
    await fsp.chown(src, 1234, 1234);
    assert.equal((await docker(d, ['cp', src, 'u3:/cp-in.txt'])).code, 0);
    const ex = await docker(d, ['exec', 'u3', 'sh', '-c', 'stat -c "%u:%g" /cp-in.txt; mkdir -p /x/y && stat -c "%u:%g" /x; cat /proc/self/uid_map']);
    assert.equal(ex.code, 0, ex.stderr);
    assert.deepEqual(ex.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' ')), ['1234:1234', '0:0', `0 ${START} 65536`]);
    const upper = path.join(remapped(), 'overlay2', 'rw', await containerId('u3'), 'diff', 'cp-in.txt');
    assert.equal((await fsp.stat(upper)).uid, START + 1234);
    // A directory that extraction implies (no entry of its own in the tar) belongs to the container's root.
    await fsp.mkdir(path.join(d.dir, 'td', 'implied'), { recursive: true });
    await fsp.writeFile(path.join(d.dir, 'td', 'implied', 'file'), 'x');
    await execFileP('sh', ['-c', `tar cf - -C ${d.dir}/td implied/file | ${DOCKER} cp - u3:/`], { env: { ...process.env, DOCKER_HOST: d.host } });
    const implied = await docker(d, ['exec', 'u3', 'stat', '-c', '%u:%g', '/implied', '/implied/file']);
    assert.equal(implied.stdout, '0:0\n0:0\n');
    // The daemon restarts under the container; it stays in its namespace.
    await d.stop('SIGKILL');
    await d.restart();
    const again = await docker(d, ['exec', 'u3', 'cat', '/proc/self/uid_map']);
    assert.equal(again.stdout.trim().split(/\s+/).join(' '), `0 ${START} 65536`);
  } finally {
    await docker(d, ['rm', '-f', 'u3']);
  }
});

test('--privileged needs --userns=host; --userns=host gets no user namespace', async () => {
  const p = await docker(d, ['run', '--rm', '--privileged', 'busybox', 'true']);
  assert.equal(p.code, 125);
  assert.match(p.stderr, /privileged mode is incompatible with user namespaces\. {2}You must run the container in the host namespace when running privileged mode/);
  const b = await berth(d, ['run', '--rm', '--privileged', 'busybox', 'true']);
  assert.equal(b.code, 125);
  assert.match(b.stderr, /privileged mode is incompatible with user namespaces/);
  const host = await berth(d, ['run', '--rm', '--privileged', '--userns=host', 'busybox', 'sh', '-c', 'cat /proc/self/uid_map; stat -c %u /bin/busybox']);
  assert.equal(host.code, 0, host.stderr);
  // The host's namespace; the image's files still belong to the remapped IDs, as with dockerd.
  assert.deepEqual(host.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' ')), ['0 0 4294967295', String(START)]);
  const bad = await berth(d, ['run', '--rm', '--userns=private', 'busybox', 'true']);
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /--userns: invalid USER mode/);
});

test('an unknown user or one without subordinate ranges stops the daemon with dockerd\'s message', async () => {
  await assert.rejects(startDaemon(['--userns-remap', 'no-such-user-berth']), /Error during uid lookup for \\?"no-such-user-berth\\?"/);
  const plain = `${USER}-noranges`;
  await removeUser(plain);
  await execFileP('useradd', ['-r', '-s', '/bin/false', plain]);
  try {
    await assert.rejects(startDaemon(['--userns-remap', plain]), /no subuid ranges found for user \\?"berth-userns-test-noranges\\?"/);
  } finally {
    await removeUser(plain);
  }
});

test('"default" creates the dockremap user with a free subordinate range, as dockerd does', async (t) => {
  const had = (await execFileP('getent', ['passwd', 'dockremap']).catch(() => null)) !== null;
  if (had) {
    t.diagnostic('dockremap exists on this machine already: using it as it is');
  }
  let dd: TestDaemon | undefined;
  try {
    dd = await startDaemon(['--userns-remap', 'default']);
    const subuid = await fsp.readFile('/etc/subuid', 'utf8');
    const line = subuid.split('\n').find((l) => l.startsWith('dockremap:'));
    assert.ok(line, subuid);
    const [, start, count] = line.split(':');
    if (!had) {
      // Our own test user holds 400000+; the first free range at 100000 does not overlap it.
      assert.equal(Number(count), 65536);
      assert.ok(Number(start) + 65536 <= START || Number(start) >= START + 65536);
    }
    const info = await docker(dd, ['info', '--format', '{{.DockerRootDir}}']);
    assert.equal(info.stdout.trim(), path.join(dd.dataRoot, `${start}.${start}`));
  } finally {
    await dd?.cleanup();
    if (!had) await removeUser('dockremap');
  }
});

test('published ports work from a user namespace and are released at stop', async () => {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const run = await docker(d, ['run', '-d', '--name', 'u5', '-p', `${port}:80`, 'busybox', 'sh', '-c', 'mkdir /www && echo from-userns > /www/index.html && exec httpd -f -p 80 -h /www']);
  assert.equal(run.code, 0, run.stderr);
  try {
    let body = '';
    for (let i = 0; i < 40 && body === ''; i++) {
      body = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text(), () => '');
      if (body === '') await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(body, 'from-userns\n');
    const id = await containerId('u5');
    assert.equal((await docker(d, ['stop', '-t', '1', 'u5'])).code, 0);
    const { stdout: nat } = await execFileP('iptables-save', ['-t', 'nat']);
    assert.doesNotMatch(nat, new RegExp(id));
  } finally {
    await docker(d, ['rm', '-f', 'u5']);
  }
});

test('volumes belong to the remapped root; copied image files keep container owners', async () => {
  const r = await docker(d, ['run', '--rm', '-v', 'uvol:/etc', '-v', 'uvol2:/data', 'busybox', 'sh', '-c', 'stat -c "%u:%g" /etc/passwd /data; touch /data/x && echo wrote']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '0:0\n0:0\nwrote\n');
  const st = await fsp.stat(path.join(remapped(), 'volumes', 'uvol2', '_data', 'x'));
  assert.deepEqual([st.uid, st.gid], [START, START]);
  assert.equal((await docker(d, ['volume', 'rm', 'uvol', 'uvol2'])).code, 0);
});
