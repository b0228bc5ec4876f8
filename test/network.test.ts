/**
 * Container networking with the real docker and berth CLIs: the default
 * bridge (an address, a default route via the bridge, /etc/hosts), published
 * ports reachable on 127.0.0.1, docker port and ps, containers reaching each
 * other, host / none / container:<name> modes, port conflicts, clean release
 * at stop and after a daemon restart. The daemon runs with its own bridge and
 * subnet, without masquerading or forwarding, so containers reach nothing
 * outside this machine; bridge, rules and chains are removed afterwards.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { promisify } from 'node:util';
import { berth, docker, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';
import { bridgeHeld, restoreHostNet, snapshotHostNet, type HostNetSnapshot } from './helpers/network.js';

const execFileP = promisify(execFile);

interface NetSettings {
  Ports: Record<string, unknown>;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  SandboxKey: string;
  Networks: { bridge: { IPAddress: string; NetworkID: string } };
}

const BRIDGE = `bt${randomBytes(3).toString('hex')}`;
const NET = `10.231.${Math.floor(Math.random() * 200) + 20}`;
let hostNet: HostNetSnapshot;
let d: TestDaemon;

const HTTPD = ['sh', '-c', 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www'];

function get(port: number, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/', timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** httpd needs a moment after the container starts: retry briefly. */
async function getSoon(port: number): Promise<string> {
  for (let i = 0; ; i++) {
    try {
      return await get(port);
    } catch (err) {
      if (i >= 100) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function natRules(): Promise<string> {
  return (await execFileP('iptables-save', ['-t', 'nat']).catch(() => ({ stdout: '' }))).stdout;
}

before(async () => {
  hostNet = await snapshotHostNet();
  d = await startDaemonWithBusybox(['--bridge', BRIDGE, '--bip', `${NET}.1/24`, '--ip-masq=false', '--ip-forward=false']);
});

after(async () => {
  await d?.cleanup();
  await restoreHostNet(hostNet, BRIDGE);
});

test('the default bridge: an address in the subnet, a route via the gateway, the address in /etc/hosts', async () => {
  const r = await docker(d, ['run', '--rm', '--hostname', 'webby', 'busybox', 'sh', '-c', 'ip -4 -o addr show eth0; ip route; tail -1 /etc/hosts; ping -c1 -W2 ' + `${NET}.1 >/dev/null && echo gw-ok`]);
  assert.equal(r.code, 0, r.stderr);
  const ip = new RegExp(`inet (${NET.replace(/\./g, '\\.')}\\.\\d+)/24`).exec(r.stdout)?.[1];
  assert.ok(ip, r.stdout);
  assert.match(r.stdout, new RegExp(`^default via ${NET}\\.1 dev eth0`, 'm'));
  assert.match(r.stdout, new RegExp(`^${ip}\\twebby$`, 'm'));
  assert.match(r.stdout, /^gw-ok$/m);
  const info = await docker(d, ['run', '--rm', 'busybox', 'true']);
  assert.equal(info.code, 0);
  // The host's bridge has the gateway address.
  const { stdout } = await execFileP('ip', ['-4', '-o', 'addr', 'show', 'dev', BRIDGE]);
  assert.match(stdout, new RegExp(`inet ${NET.replace(/\./g, '\\.')}\\.1/24`));
});

test('-p publishes a port on the host: reachable on 127.0.0.1, shown by port, ps and inspect', async () => {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const run = await docker(d, ['run', '-d', '--name', 'web1', '--hostname', 'web-one', '-p', `${port}:80`, 'busybox', ...HTTPD]);
  assert.equal(run.code, 0, run.stderr);
  try {
    assert.equal(await getSoon(port), 'web-one\n');
    for (const cli of [docker, berth]) {
      assert.equal((await cli(d, ['port', 'web1'])).stdout, `80/tcp -> 0.0.0.0:${port}\n`);
      assert.equal((await cli(d, ['port', 'web1', '80'])).stdout, `0.0.0.0:${port}\n`);
    }
    const ps = await docker(d, ['ps', '--filter', 'name=web1', '--format', '{{.Ports}}']);
    assert.equal(ps.stdout.trim(), `0.0.0.0:${port}->80/tcp`);
    const ns = JSON.parse((await docker(d, ['inspect', '-f', '{{json .NetworkSettings}}', 'web1'])).stdout) as NetSettings;
    assert.deepEqual(ns.Ports, { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: String(port) }] });
    assert.equal(ns.Gateway, `${NET}.1`);
    assert.equal(ns.IPPrefixLen, 24);
    assert.equal(ns.Networks.bridge.IPAddress, ns.IPAddress);
    assert.match(ns.Networks.bridge.NetworkID, /^[0-9a-f]{64}$/);
    assert.ok(existsSync(ns.SandboxKey), 'the namespace is pinned while the container runs');
    assert.equal((await docker(d, ['inspect', '-f', '{{.HostConfig.NetworkMode}}', 'web1'])).stdout.trim(), 'bridge');
    // Another container reaches it by address.
    const peer = await docker(d, ['run', '--rm', 'busybox', 'wget', '-qO-', `http://${ns.IPAddress}/`]);
    assert.equal(peer.stdout, 'web-one\n');
    // stats sees eth0's traffic.
    const stats = await docker(d, ['stats', '--no-stream', '--format', '{{.NetIO}}', 'web1']);
    assert.doesNotMatch(stats.stdout, /^0B \/ 0B$/m);
    // Stopping releases the port and the namespace.
    const id = (await docker(d, ['inspect', '-f', '{{.Id}}', 'web1'])).stdout.trim();
    assert.match(await natRules(), new RegExp(id));
    assert.equal((await docker(d, ['stop', '-t', '1', 'web1'])).code, 0);
    await assert.rejects(get(port));
    assert.doesNotMatch(await natRules(), new RegExp(id));
    assert.equal(existsSync(ns.SandboxKey), false);
    const stopped = JSON.parse((await docker(d, ['inspect', '-f', '{{json .NetworkSettings}}', 'web1'])).stdout) as NetSettings;
    assert.equal(stopped.IPAddress, '');
    assert.deepEqual(stopped.Ports, {});
    // Started again, it is reachable again.
    assert.equal((await docker(d, ['start', 'web1'])).code, 0);
    assert.equal(await getSoon(port), 'web-one\n');
  } finally {
    await docker(d, ['rm', '-f', 'web1']);
  }
});

test('a port without a host port gets a free one; a taken host port fails the start and leaks nothing', async () => {
  const run = await berth(d, ['run', '-d', '--name', 'web2', '-p', '80', 'busybox', ...HTTPD]);
  assert.equal(run.code, 0, run.stderr);
  try {
    const mapped = (await docker(d, ['port', 'web2', '80/tcp'])).stdout.trim();
    const port = Number(/^0\.0\.0\.0:(\d+)$/.exec(mapped)?.[1]);
    assert.ok(port > 0, mapped);
    assert.match(await getSoon(port), /^[0-9a-f]{12}\n$/);
    const clash = await docker(d, ['run', '-d', '--name', 'web3', '-p', `${port}:80`, 'busybox', ...HTTPD]);
    assert.equal(clash.code, 125);
    assert.match(clash.stderr, new RegExp(`Bind for 0\\.0\\.0\\.0:${port} failed: port is already allocated`));
    const id3 = (await docker(d, ['inspect', '-f', '{{.Id}}', 'web3'])).stdout.trim();
    assert.doesNotMatch(await natRules(), new RegExp(id3));
    assert.equal(existsSync(`${d.execRoot}/netns/${id3.slice(0, 12)}`), false);
    // The first container is untouched.
    assert.match(await get(port), /^[0-9a-f]{12}\n$/);
    // -P publishes every exposed port.
    assert.equal((await berth(d, ['run', '-d', '--name', 'web5', '-P', '--expose', '80', 'busybox', ...HTTPD])).code, 0);
    const all = (await berth(d, ['port', 'web5'])).stdout;
    const p5 = Number(/^80\/tcp -> 0\.0\.0\.0:(\d+)$/m.exec(all)?.[1]);
    assert.ok(p5 > 0, all);
    assert.match(await getSoon(p5), /^[0-9a-f]{12}\n$/);
  } finally {
    await docker(d, ['rm', '-f', 'web2', 'web3', 'web5']);
  }
});

test('--network host, none and container:<name>', async () => {
  const host = await docker(d, ['run', '--rm', '--network', 'host', 'busybox', 'sh', '-c', 'hostname; cat /proc/net/dev']);
  assert.equal(host.code, 0, host.stderr);
  assert.equal(host.stdout.split('\n')[0], os.hostname());
  assert.match(host.stdout, new RegExp(`${BRIDGE}:`));
  const none = await docker(d, ['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'ls /sys/class/net']);
  assert.equal(none.stdout.trim(), 'lo');
  assert.equal((await docker(d, ['run', '-d', '--name', 'netowner', 'busybox', 'sleep', '100'])).code, 0);
  try {
    const ip = (await docker(d, ['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'netowner'])).stdout.trim();
    const joined = await berth(d, ['run', '--rm', '--network', 'container:netowner', 'busybox', 'ip', '-4', '-o', 'addr', 'show', 'eth0']);
    assert.equal(joined.code, 0, joined.stderr);
    assert.match(joined.stdout, new RegExp(`inet ${ip.replace(/\./g, '\\.')}/24`));
  } finally {
    await docker(d, ['rm', '-f', 'netowner']);
  }
  const unknown = await docker(d, ['run', '--rm', '--network', 'nosuchnet', 'busybox', 'true']);
  assert.equal(unknown.code, 125);
  assert.match(unknown.stderr, /network nosuchnet not found/);
});

test('published ports survive a daemon restart and are released by the next daemon', async () => {
  const port = 20000 + Math.floor(Math.random() * 20000);
  assert.equal((await docker(d, ['run', '-d', '--name', 'web4', '-p', `127.0.0.1:${port}:80`, 'busybox', ...HTTPD])).code, 0);
  try {
    assert.ok((await getSoon(port)).length > 0);
    const id = (await docker(d, ['inspect', '-f', '{{.Id}}', 'web4'])).stdout.trim();
    await d.stop('SIGKILL');
    assert.ok((await get(port)).length > 0, 'still served while no daemon runs');
    await d.restart();
    assert.equal((await docker(d, ['port', 'web4'])).stdout, `80/tcp -> 127.0.0.1:${port}\n`);
    // The new daemon knows the port is taken.
    const clash = await docker(d, ['run', '--rm', '-p', `127.0.0.1:${port}:80`, 'busybox', 'true']);
    assert.equal(clash.code, 125);
    assert.equal((await docker(d, ['rm', '-f', 'web4'])).code, 0);
    assert.doesNotMatch(await natRules(), new RegExp(id));
    assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes(`${d.execRoot}/netns/`), false);
  } finally {
    await docker(d, ['rm', '-f', 'web4']);
  }
  // Nothing of any container is left: no veth on the bridge, no address lease (the daemon's spare holds its own).
  assert.equal((await docker(d, ['ps', '-q'])).stdout, '');
  assert.deepEqual(await bridgeHeld(d.execRoot, BRIDGE), { leases: [], veths: 0 });
});

test('docker network ls / inspect / rm / create / prune for the predefined networks', async () => {
  const ls = await docker(d, ['network', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Scope}}']);
  assert.equal(ls.code, 0, ls.stderr);
  assert.deepEqual(ls.stdout.trim().split('\n').sort(), ['bridge bridge local', 'host host local', 'none null local']);
  const table = await docker(d, ['network', 'ls']);
  assert.match(table.stdout, /^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE$/m);
  assert.match(table.stdout, /^[0-9a-f]{12}\s+bridge\s+bridge\s+local$/m);
  assert.equal((await docker(d, ['network', 'ls', '-q', '--filter', 'driver=null'])).stdout.trim().length, 12);
  assert.equal((await docker(d, ['run', '-d', '--name', 'member', 'busybox', 'sleep', '100'])).code, 0);
  try {
    const ip = (await docker(d, ['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'member'])).stdout.trim();
    const [net] = JSON.parse((await docker(d, ['network', 'inspect', 'bridge'])).stdout) as { Id: string; IPAM: { Config: { Subnet: string; Gateway: string }[] }; Containers: Record<string, { Name: string; IPv4Address: string }>; Options: Record<string, string> }[];
    assert.deepEqual(net!.IPAM.Config, [{ Subnet: `${NET}.0/24`, Gateway: `${NET}.1` }]);
    assert.equal(net!.Options['com.docker.network.bridge.name'], BRIDGE);
    assert.deepEqual(Object.values(net!.Containers).map((c) => [c.Name, c.IPv4Address]), [['member', `${ip}/24`]]);
    // By ID prefix too, and the container's NetworkID agrees.
    assert.equal((await docker(d, ['network', 'inspect', '-f', '{{.Name}}', net!.Id.slice(0, 6)])).stdout.trim(), 'bridge');
    assert.equal((await docker(d, ['inspect', '-f', '{{.NetworkSettings.Networks.bridge.NetworkID}}', 'member'])).stdout.trim(), net!.Id);
  } finally {
    await docker(d, ['rm', '-f', 'member']);
  }
  const rm = await docker(d, ['network', 'rm', 'bridge']);
  assert.equal(rm.code, 1);
  assert.match(rm.stderr, /bridge is a pre-defined network and cannot be removed/);
  const create = await docker(d, ['network', 'create', 'mynet']);
  // User-defined networks exist now (test/network-user.test.ts covers them): made and removed again.
  assert.equal(create.code, 0, create.stderr);
  assert.equal((await docker(d, ['network', 'rm', 'mynet'])).code, 0);
  assert.equal((await docker(d, ['network', 'prune', '-f'])).code, 0);
  const missing = await docker(d, ['network', 'inspect', 'nosuchnet']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /network nosuchnet not found/);
  // The berth CLI prints what the docker CLI prints.
  for (const args of [['network', 'ls'], ['network', 'ls', '--no-trunc', '--format', '{{.ID}} {{.Name}}'], ['network', 'ls', '-q', '-f', 'name=ho'], ['network', 'inspect', 'bridge', 'none'], ['network', 'rm', 'host'], ['network', 'inspect', 'nosuchnet']]) {
    const [b, k] = await Promise.all([berth(d, args), docker(d, args)]);
    assert.equal(b.stdout, k.stdout, args.join(' '));
    assert.equal(b.stderr, k.stderr, args.join(' '));
    assert.equal(b.code, k.code, args.join(' '));
  }
});

test('--ip-masq writes dockerd\'s one MASQUERADE rule for the subnet (no container is run with it)', async () => {
  const bridge = `bt${randomBytes(3).toString('hex')}`;
  const snap = await snapshotHostNet();
  const { startDaemon } = await import('./helpers/daemon.js');
  const masq = await startDaemon(['--bridge', bridge, '--bip', '10.238.77.1/24', '--ip-masq=true', '--ip-forward=false']);
  try {
    const nat = await natRules();
    assert.match(nat, new RegExp(`^-A POSTROUTING -s 10\\.238\\.77\\.0/24 ! -o ${bridge} -j MASQUERADE$`, 'm'));
    // A restart does not add it twice.
    await masq.stop();
    await masq.restart();
    const again = (await natRules()).split('\n').filter((l) => l.includes('10.238.77.0/24'));
    assert.equal(again.length, 1);
  } finally {
    await masq.cleanup();
    await restoreHostNet(snap, bridge);
  }
});

test('a restarted daemon removes network state that no running container holds', async () => {
  await d.stop('SIGKILL');
  // What a daemon killed half-way through a start leaves: a pinned namespace, a lease, port rules.
  const ghost = 'e'.repeat(64);
  const netnsFile = `${d.execRoot}/netns/${ghost.slice(0, 12)}`;
  await execFileP('sh', ['-c', `mkdir -p ${d.execRoot}/netns && touch ${netnsFile} && unshare --net=${netnsFile} true`]);
  const leases = `${d.execRoot}/ipam/berth-${BRIDGE}`;
  await execFileP('sh', ['-c', `mkdir -p ${leases} && printf '${ghost}\\r\\neth0' > ${leases}/${NET}.250`]);
  const conf = {
    cniVersion: '1.0.0', name: `berth-${BRIDGE}`, type: 'portmap', snat: true,
    runtimeConfig: { portMappings: [{ hostPort: 29999, containerPort: 80, protocol: 'tcp' }] },
    prevResult: { cniVersion: '1.0.0', interfaces: [{ name: 'eth0', sandbox: netnsFile }], ips: [{ address: `${NET}.250/24`, interface: 0 }] },
  };
  await new Promise<void>((resolve, reject) => {
    const p = execFile('/usr/lib/cni/portmap', [], { env: { ...process.env, CNI_COMMAND: 'ADD', CNI_CONTAINERID: ghost, CNI_NETNS: netnsFile, CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' } }, (err) => (err ? reject(err) : resolve()));
    p.stdin!.end(JSON.stringify(conf));
  });
  assert.match(await natRules(), new RegExp(ghost));
  await d.restart();
  assert.doesNotMatch(await natRules(), new RegExp(ghost));
  assert.equal(existsSync(netnsFile), false);
  assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes(netnsFile), false);
  assert.equal(existsSync(`${leases}/${NET}.250`), false);
});

test('malformed port bindings are refused at create with a 400', async () => {
  const { api } = await import('./helpers/http.js');
  for (const PortBindings of [{ 'eighty/tcp': [{ HostPort: '80' }] }, { '80/tcp': [{ HostPort: '99999' }] }, { '80/tcp': [{ HostPort: 'x' }] }]) {
    const r = await api(d.socket, 'POST', '/v1.51/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: { PortBindings } });
    assert.equal(r.status, 400, r.body.toString());
    assert.match(r.json<{ message: string }>().message, /invalid port specification/);
  }
});
