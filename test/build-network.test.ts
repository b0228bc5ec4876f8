/**
 * RUN steps' network, as dockerd's legacy builder gives its step
 * containers: the default bridge (an address on the daemon's bridge, the
 * gateway reachable) unless `--network host|none`; RUN --network=none
 * overrides. The daemon's bridge is the test's own, without masquerading or
 * forwarding, so no step can route anywhere but the bridge. Nothing is left
 * behind: no namespace, no address lease.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { berth, docker, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';
import { bridgeHeld, restoreHostNet, snapshotHostNet, type HostNetSnapshot } from './helpers/network.js';
import { makeContext } from './helpers/build.js';

const BRIDGE = `bb${randomBytes(3).toString('hex')}`;
const NET = `10.233.${Math.floor(Math.random() * 200) + 20}`;
let hostNet: HostNetSnapshot;
let d: TestDaemon;

before(async () => {
  hostNet = await snapshotHostNet();
  d = await startDaemonWithBusybox(['--bridge', BRIDGE, '--bip', `${NET}.1/24`, '--ip-masq=false', '--ip-forward=false']);
});

after(async () => {
  await d?.cleanup();
  if (hostNet) await restoreHostNet(hostNet, BRIDGE);
});

/** The links a step saw (`ip -o link` names) and its eth0 address, written into the image. */
const probe = 'RUN (ip -o link | cut -d: -f2 | tr -d " " | sort | tr "\\n" " "; echo; ip -o -4 addr show eth0 2>/dev/null | awk "{print \\$4}") > /net; ping -c1 -W2 ' + '$GW' + ' >/dev/null && echo reached >> /net || echo unreachable >> /net\n';

async function netOf(args: string[], dockerfile: string): Promise<string[]> {
  const ctx = await makeContext({ Dockerfile: dockerfile });
  let r = await docker(d, ['build', '--no-cache', '-t', 'netprobe', ...args, ctx]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  r = await docker(d, ['run', '--rm', '--network', 'none', 'netprobe', 'cat', '/net']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n');
}

test('RUN runs on the default bridge: an address in its subnet, the gateway answers; nothing left after', async () => {
  const lines = await netOf([], `FROM busybox\nARG GW=${NET}.1\n${probe}`);
  assert.deepEqual(lines[0]!.trim().split(' ').map((l) => l.replace(/@.*/, '')), ['eth0', 'lo']);
  assert.match(lines[1]!, new RegExp(`^${NET.replace(/\./g, '\\.')}\\.\\d+/24$`));
  assert.equal(lines[2], 'reached');
  // The step's namespace and its address lease are gone.
  const netns = await fsp.readdir(path.join(d.execRoot, 'netns')).catch(() => []);
  assert.deepEqual(netns, []);
  assert.deepEqual((await bridgeHeld(d.execRoot, BRIDGE)).leases, []);
});

test('--network none and RUN --network=none: loopback only; --network host: the host\'s links', async () => {
  let lines = await netOf(['--network', 'none'], `FROM busybox\nARG GW=${NET}.1\n${probe}`);
  assert.equal(lines[0]!.trim(), 'lo');
  assert.ok(lines.includes('unreachable'), lines.join('|'));
  lines = await netOf([], `FROM busybox\nARG GW=${NET}.1\n${probe.replace('RUN ', 'RUN --network=none ')}`);
  assert.equal(lines[0]!.trim(), 'lo');
  lines = await netOf(['--network', 'host'], `FROM busybox\nARG GW=${NET}.1\n${probe}`);
  assert.ok(lines[0]!.split(' ').some((l) => l.startsWith(BRIDGE)), lines[0]);
  // berth build takes the same flag.
  const ctx = await makeContext({ Dockerfile: 'FROM busybox\nRUN ip -o link | grep -c : > /n\n' });
  const r = await berth(d, ['build', '--network', 'nosuchnet', ctx]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /network nosuchnet not found/);
});

test('RUN sees /etc/hostname, /etc/hosts and /etc/resolv.conf as a container on its network does; its layer keeps none of them', async () => {
  const ctx = await makeContext({ Dockerfile: 'FROM busybox\nRUN (cat /etc/hostname; echo --; cat /etc/hosts; echo --; cat /etc/resolv.conf) > /seen\n' });
  let r = await docker(d, ['build', '--no-cache', '-t', 'etcprobe', ctx]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  r = await docker(d, ['run', '--rm', '--network', 'none', 'etcprobe', 'cat', '/seen']);
  assert.equal(r.code, 0, r.stderr);
  const [hostname, hosts, resolv] = r.stdout.split('--\n');
  assert.match(hostname!, /^[0-9a-f]{12}\n$/);
  assert.match(hosts!, /^127\.0\.0\.1\tlocalhost$/m);
  // The step's own address and name, as a container's /etc/hosts ends.
  assert.match(hosts!, new RegExp(`^${NET.replace(/\./g, '\\.')}\\.\\d+\\t${hostname!.trim()}$`, 'm'));
  // The same resolv.conf a container on the default bridge gets.
  const own = await docker(d, ['run', '--rm', 'busybox', 'cat', '/etc/resolv.conf']);
  assert.equal(resolv, own.stdout);
  // The mounts' placeholders are not in the step's layer (the image had none of the three files).
  const dir = await fsp.mkdtemp(path.join(d.dir, 'save-'));
  r = await docker(d, ['save', '-o', path.join(dir, 'img.tar'), 'etcprobe']);
  assert.equal(r.code, 0, r.stderr);
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const run = promisify(execFile);
  await run('tar', ['-xf', path.join(dir, 'img.tar'), '-C', dir]);
  const manifest = JSON.parse(await fsp.readFile(path.join(dir, 'manifest.json'), 'utf8')) as { Layers: string[] }[];
  const top = manifest[0]!.Layers.at(-1)!;
  const entries = (await run('tar', ['-tf', path.join(dir, top)])).stdout.split('\n').filter(Boolean);
  assert.deepEqual(entries.sort(), ['seen'], entries.join(' '));
});
