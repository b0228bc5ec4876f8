/**
 * Nothing of a user-defined network outlives what it belongs to: after 100
 * run/connect/rm cycles (through dockerode, with a published port) no veth,
 * address lease, pinned namespace, port rule or DNS entry is left; removing
 * the networks removes their bridges, rules and the DNS server; and a
 * daemon killed with SIGKILL while containers run, whose containers then
 * exit and whose half-made network state is lying around, cleans all of it
 * up when it starts again. Test bridges get an egress DROP, so nothing
 * leaves the machine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, promises as fsp, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { docker } from './helpers/daemon.js';
import { NetworkTestBed, ok } from './helpers/network.js';

const execFileP = promisify(execFile);
const bed = new NetworkTestBed();

async function makeNet(name: string, subnet: string): Promise<{ id: string; br: string }> {
  const n = await bed.createNet(['--subnet', subnet, name]);
  return { id: n.Id, br: `br-${n.Id.slice(0, 12)}` };
}

async function vethList(br: string): Promise<string[]> {
  return (await execFileP('ip', ['-o', 'link', 'show', 'master', br]).catch(() => ({ stdout: '' }))).stdout.trim().split('\n').filter(Boolean);
}

/**
 * The host ends of the bridge's veths, once `want` or fewer are left (3 s at
 * most). A container's veth goes with its network namespace, and the kernel
 * destroys an unpinned namespace asynchronously (cleanup_net runs from a
 * workqueue after an RCU grace period), so the host end can outlive the
 * release by some milliseconds on a busy machine.
 */
async function veths(br: string, want = 0): Promise<string[]> {
  let list = await vethList(br);
  for (let i = 0; i < 60 && list.length > want; i++) {
    await new Promise((r) => setTimeout(r, 50));
    list = await vethList(br);
  }
  return list;
}

function leases(id: string): string[] {
  return readdirSync(path.join(bed.d.execRoot, 'ipam', `berth-${id.slice(0, 12)}`), { withFileTypes: true })
    .filter((e) => /^\d+\.\d+\.\d+\.\d+$/.test(e.name))
    .map((e) => e.name);
}

function dnsLines(id: string): string[] {
  const f = path.join(bed.d.execRoot, 'aardvark', id);
  return existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n').slice(1) : [];
}

const spareDir = () => path.join(bed.d.execRoot, 'netns-spare');
const mountinfo = () => readFileSync('/proc/self/mountinfo', 'utf8');

async function iptablesSave(): Promise<string> {
  return (await execFileP('iptables-save')).stdout;
}

test('100 run/connect/rm cycles leave no veth, lease, namespace, rule or DNS entry; network rm leaves nothing', async () => {
  const client = new Docker({ socketPath: bed.d.socket });
  const a = await makeNet('leak-a', '10.239.30.0/24');
  const b = await makeNet('leak-b', '10.239.31.0/24');
  const ids: string[] = [];
  let tookSpare = 0;
  for (let i = 0; i < 100; i++) {
    const c = await client.createContainer({
      Image: 'busybox',
      Cmd: ['sleep', '600'],
      ExposedPorts: { '80/tcp': {} },
      HostConfig: { NetworkMode: 'leak-a', PortBindings: i % 10 === 0 ? { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } : {} },
    });
    ids.push(c.id);
    await c.start();
    // A namespace made ahead of demand is taken through a symlink (engine/network/netns.ts).
    if ((await fsp.lstat(path.join(bed.d.execRoot, 'netns', c.id.slice(0, 12)))).isSymbolicLink()) tookSpare++;
    await client.getNetwork('leak-b').connect({ Container: c.id, EndpointConfig: { Aliases: [`c${i}`] } });
    if (i % 2 === 0) await client.getNetwork('leak-b').disconnect({ Container: c.id });
    await c.remove({ force: true });
  }
  assert.deepEqual(await veths(a.br), []);
  assert.deepEqual(await veths(b.br), []);
  assert.deepEqual(leases(a.id), []);
  assert.deepEqual(leases(b.id), []);
  assert.deepEqual(dnsLines(a.id), []);
  assert.deepEqual(dnsLines(b.id), []);
  assert.deepEqual(readdirSync(path.join(bed.d.execRoot, 'netns')), []);
  // The spares: some were taken, a taken one went with its container, and the few kept are pinned and hold no veth.
  assert.ok(tookSpare > 0, 'no container took a spare namespace');
  const spares = readdirSync(spareDir());
  assert.ok(spares.length <= 4, `spares kept: ${spares.join(' ')}`);
  for (const f of spares) assert.ok(mountinfo().includes(` ${path.join(spareDir(), f)} `), `spare ${f} is not pinned`);
  const rules = await iptablesSave();
  for (const id of ids) assert.ok(!rules.includes(id), `a rule of ${id} is left`);

  await ok(docker(bed.d, ['network', 'rm', 'leak-a', 'leak-b']));
  for (const br of [a.br, b.br]) assert.notEqual((await execFileP('ip', ['link', 'show', br]).catch((e: { code: number }) => e) as { code?: number }).code ?? 0, 0);
  const after = await iptablesSave();
  assert.ok(!after.includes(`berth:${a.id.slice(0, 12)}`) && !after.includes(`berth:${b.id.slice(0, 12)}`), 'berth rules are gone');
  assert.ok(!existsSync(path.join(bed.d.execRoot, 'ipam', `berth-${a.id.slice(0, 12)}`)));
  // No network left: the DNS server is stopped and its files are gone.
  assert.deepEqual(readdirSync(path.join(bed.d.execRoot, 'aardvark')).filter((f) => f !== 'aardvark.pid'), []);
  assert.equal(existsSync(path.join(bed.d.execRoot, 'aardvark', 'aardvark.pid')), false);
});

test('after a SIGKILL of berthd: exited containers\' state and a half-made network are cleaned up at the next start', async () => {
  const n = await makeNet('crash', '10.239.32.0/24');
  await ok(docker(bed.d, ['run', '-d', '--name', 'keep', '--network', 'crash', 'busybox', 'sleep', '600']));
  const diesId = await ok(docker(bed.d, ['run', '-d', '--name', 'dies', '--network', 'crash', '-p', '127.0.0.1::80', 'busybox', 'sleep', '600']));
  // Killed at once: the helper that makes the container's DNS-over-TCP sockets in its namespace
  // (engine/network/embedded-dns-tcp-socket.ts) is then still handing them over; it must not
  // outlive the daemon, or it holds the namespace, and the veth, after the container exits.
  const killedPid = readFileSync(bed.d.pidfile, 'utf8').trim();
  await bed.d.stop('SIGKILL');
  assert.equal(leases(n.id).length, 2);
  assert.ok(readdirSync(spareDir()).some((f) => f.startsWith(`${killedPid}-`)), 'the killed daemon held a spare namespace');
  // While the daemon is down: one container exits, and a network create is "interrupted" half-way
  // (a bridge with berth's mark and a tagged rule, but no record).
  await execFileP('runc', ['--root', path.join(bed.d.execRoot, 'runc'), 'kill', diesId, 'KILL']);
  const ghost = 'f'.repeat(64);
  await execFileP('ip', ['link', 'add', 'name', 'br-ffffffffffff', 'type', 'bridge']);
  bed.bridges.add('br-ffffffffffff');
  await execFileP('ip', ['link', 'set', 'dev', 'br-ffffffffffff', 'alias', `berth:${ghost}`]);
  for (const cmd of ['iptables', 'ip6tables']) await execFileP(cmd, ['-w', '-I', 'FORWARD', '-i', 'br-ffffffffffff', '-m', 'comment', '--comment', 'berth:ffffffffffff', '-j', 'ACCEPT']);
  await fsp.mkdir(path.join(bed.d.execRoot, 'ipam', 'berth-ffffffffffff'), { recursive: true });
  await bed.d.restart();

  assert.equal(await ok(docker(bed.d, ['inspect', '-f', '{{.State.Running}}', 'dies'])), 'false');
  assert.equal(leases(n.id).length, 1, 'only the running container holds a lease');
  assert.equal((await veths(n.br, 1)).length, 1, 'only the running container\'s veth is left');
  assert.ok(!(await iptablesSave()).includes(diesId), 'its port rules are gone');
  assert.deepEqual(dnsLines(n.id).map((l) => l.split(' ')[0]), [await ok(docker(bed.d, ['inspect', '-f', '{{.Id}}', 'keep']))]);
  // The half-made network is gone.
  assert.notEqual((await execFileP('ip', ['link', 'show', 'br-ffffffffffff']).catch((e: { code: number }) => e) as { code?: number }).code ?? 0, 0);
  assert.ok(!(await iptablesSave()).includes('berth:ffffffffffff'));
  assert.ok(!(await execFileP('ip6tables-save')).stdout.includes('berth:ffffffffffff'), 'its IPv6 rule is gone too');
  assert.ok(!existsSync(path.join(bed.d.execRoot, 'ipam', 'berth-ffffffffffff')));
  // The killed daemon's spare namespaces are unpinned.
  assert.deepEqual(readdirSync(spareDir()).filter((f) => f.startsWith(`${killedPid}-`)), []);
  assert.ok(!mountinfo().includes(`${spareDir()}/${killedPid}-`));
  // The survivor still resolves and is reachable by name from a new container.
  // (--dns: what aardvark would forward, an AAAA for keep, goes to a refusing resolver here.)
  const r = await docker(bed.d, ['run', '--rm', ...(await bed.quietDns()), '--network', 'crash', 'busybox', 'ping', '-c', '1', '-W', '2', 'keep']);
  assert.equal(r.code, 0, r.stderr);
  await ok(docker(bed.d, ['rm', '-f', 'keep', 'dies']));
  await ok(docker(bed.d, ['network', 'rm', 'crash']));
  // A daemon that stops unpins the spares it holds.
  await bed.d.stop();
  assert.deepEqual(readdirSync(spareDir()), []);
  assert.ok(!mountinfo().includes(spareDir()));
  await bed.d.restart();
});
