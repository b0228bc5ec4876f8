/**
 * Legacy links and per-endpoint settings through the docker CLI v28
 * (issue 12, items 10 and 11): `--link name:alias` on the default bridge
 * (/etc/hosts lines, dockerd's ALIAS_PORT…/ALIAS_NAME/ALIAS_ENV_…
 * variables, a stopped child refusing the start, `docker rm --link`), and
 * `--mac-address`, `--link-local-ip`, `--network-alias`, DriverOpts sysctls
 * taking effect in the container and shown by inspect as dockerd shows them.
 * The daemon runs with its own bridge and no forwarding; user networks get
 * an egress DROP, so nothing leaves the machine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { docker } from './helpers/daemon.js';
import { NetworkTestBed, ok, startResolver } from './helpers/network.js';

const BRIDGE = `bl${randomBytes(3).toString('hex')}`;
const NET = `10.232.${Math.floor(Math.random() * 200) + 20}`;
const bed = new NetworkTestBed(['--bridge', BRIDGE, '--bip', `${NET}.1/24`, '--ip-masq=false', '--ip-forward=false'], BRIDGE);

test('--link name:alias: /etc/hosts, dockerd\'s variables, a stopped child, rm --link', async () => {
  await ok(docker(bed.d, ['run', '-d', '--name', 'db', '--expose', '5432', '--expose', '5433', '-e', 'SECRET=s3', 'busybox', 'sleep', '600']));
  const dbIp = await ok(docker(bed.d, ['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'db']));
  const dbHost = await ok(docker(bed.d, ['inspect', '-f', '{{.Config.Hostname}}', 'db']));
  await ok(docker(bed.d, ['run', '-d', '--name', 'web', '--link', 'db:store', 'busybox', 'sleep', '600']));
  const hosts = await ok(docker(bed.d, ['exec', 'web', 'cat', '/etc/hosts']));
  assert.match(hosts, new RegExp(`^${dbIp.replace(/\./g, '\\.')}\\tstore ${dbHost} db$`, 'm'));
  // The container's process has them (berth's exec sessions do not add them yet).
  const env = (await ok(docker(bed.d, ['exec', 'web', 'sh', '-c', "tr '\\0' '\\n' < /proc/1/environ"]))).split('\n');
  for (const want of [
    `STORE_PORT=tcp://${dbIp}:5432`,
    `STORE_PORT_5432_TCP=tcp://${dbIp}:5432`,
    `STORE_PORT_5432_TCP_ADDR=${dbIp}`,
    'STORE_PORT_5432_TCP_PORT=5432',
    'STORE_PORT_5432_TCP_PROTO=tcp',
    `STORE_PORT_5433_TCP=tcp://${dbIp}:5433`,
    `STORE_PORT_5432_TCP_START=tcp://${dbIp}:5432`,
    'STORE_PORT_5432_TCP_PORT_END=5433',
    'STORE_NAME=/web/store',
    'STORE_ENV_SECRET=s3',
  ]) assert.ok(env.includes(want), `${want} in\n${env.join('\n')}`);
  assert.ok(!env.some((e) => e.startsWith('STORE_ENV_PATH=')));
  assert.equal(await ok(docker(bed.d, ['exec', 'web', 'ping', '-c', '1', '-W', '2', 'store'])).then((o) => /1 packets received/.test(o)), true);
  const links = await ok(docker(bed.d, ['inspect', '-f', '{{json .HostConfig.Links}}', 'web']));
  assert.deepEqual(JSON.parse(links), ['/db:/web/store']);

  // A child that is not running refuses the parent's start.
  await ok(docker(bed.d, ['stop', '-t', '0', 'web', 'db']));
  const r = await docker(bed.d, ['start', 'web']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Cannot link to a non running container: \/db AS \/web\/store/);

  // rm --link removes the link, not a container.
  await ok(docker(bed.d, ['rm', '--link', '/web/store']));
  assert.equal(await ok(docker(bed.d, ['inspect', '-f', '{{json .HostConfig.Links}}', 'web'])), 'null');
  await ok(docker(bed.d, ['start', 'web']));
  assert.doesNotMatch(await ok(docker(bed.d, ['exec', 'web', 'cat', '/etc/hosts'])), /store/);
  const bad = await docker(bed.d, ['rm', '--link', 'web']);
  assert.match(bad.stderr, /cannot remove the default link name of the container/);
  await ok(docker(bed.d, ['rm', '-f', 'web', 'db']));
});

test('--mac-address, --link-local-ip and sysctl DriverOpts on the default bridge and per user network', async () => {
  await ok(docker(bed.d, ['run', '-d', '--name', 'm1', '--mac-address', '02:42:ac:11:00:99', '--link-local-ip', '169.254.10.10', 'busybox', 'sleep', '600']));
  const link = await ok(docker(bed.d, ['exec', 'm1', 'ip', 'addr', 'show', 'eth0']));
  assert.match(link, /link\/ether 02:42:ac:11:00:99/);
  assert.match(link, /inet 169\.254\.10\.10\//);
  const ep = JSON.parse(await ok(docker(bed.d, ['inspect', '-f', '{{json .NetworkSettings.Networks}}', 'm1'])));
  const name = Object.keys(ep)[0]!;
  assert.equal(ep[name].MacAddress, '02:42:ac:11:00:99');
  assert.deepEqual(ep[name].IPAMConfig, { LinkLocalIPs: ['169.254.10.10'] });
  assert.equal(await ok(docker(bed.d, ['inspect', '-f', '{{.NetworkSettings.MacAddress}}', 'm1'])), '02:42:ac:11:00:99');

  await ok(docker(bed.d, ['network', 'create', '--subnet', '10.239.20.0/24', 'macnet']));
  const id = await ok(docker(bed.d, ['network', 'inspect', '-f', '{{.Id}}', 'macnet']));
  await bed.guard(`br-${id.slice(0, 12)}`);
  await ok(docker(bed.d, ['network', 'connect', '--alias', 'm1-alias', '--driver-opt', 'com.docker.network.endpoint.sysctls=net.ipv4.conf.IFNAME.log_martians=1', 'macnet', 'm1']));
  assert.equal(await ok(docker(bed.d, ['exec', 'm1', 'cat', '/proc/sys/net/ipv4/conf/eth1/log_martians'])), '1');
  const n = JSON.parse(await ok(docker(bed.d, ['inspect', '-f', '{{json .NetworkSettings.Networks.macnet}}', 'm1'])));
  assert.deepEqual(n.Aliases, ['m1-alias']);
  assert.deepEqual(n.DriverOpts, { 'com.docker.network.endpoint.sysctls': 'net.ipv4.conf.IFNAME.log_martians=1' });
  assert.ok(n.DNSNames.includes('m1-alias'));

  await ok(docker(bed.d, ['run', '-d', '--name', 'm2', '--network', 'macnet', '--mac-address', '02:42:0a:ef:14:07', 'busybox', 'sleep', '600']));
  assert.match(await ok(docker(bed.d, ['exec', 'm2', 'ip', 'link', 'show', 'eth0'])), /02:42:0a:ef:14:07/);
  const net = JSON.parse(await ok(docker(bed.d, ['network', 'inspect', 'macnet'])))[0];
  const m2 = await ok(docker(bed.d, ['inspect', '-f', '{{.Id}}', 'm2']));
  assert.equal(net.Containers[m2].MacAddress, '02:42:0a:ef:14:07');
  await ok(docker(bed.d, ['rm', '-f', 'm1', 'm2']));
  await ok(docker(bed.d, ['network', 'rm', 'macnet']));
});

test('--link on a user network: a name only the linking container resolves, no legacy variables', async (t) => {
  await bed.createNet(['--subnet', '10.239.50.0/24', 'linknet']);
  // Names aardvark does not know go to --dns: a resolver here that refuses them, so no query leaves the machine.
  const refuser = await startResolver(['127.0.0.154'], {});
  t.after(() => refuser.stop());
  const quiet = ['--dns', '127.0.0.154'];
  await ok(docker(bed.d, ['run', '-d', '--name', 'ldb', '--network', 'linknet', ...quiet, 'busybox', 'sh', '-c', 'mkdir -p /w && echo from-db > /w/index.html && exec httpd -f -p 80 -h /w']));
  await ok(docker(bed.d, ['run', '-d', '--name', 'lapp', '--network', 'linknet', '--link', 'ldb:store', ...quiet, 'busybox', 'sleep', '600']));
  await ok(docker(bed.d, ['run', '-d', '--name', 'lother', '--network', 'linknet', ...quiet, 'busybox', 'sleep', '600']));
  const dbIp = await ok(docker(bed.d, ['inspect', '-f', '{{.NetworkSettings.Networks.linknet.IPAddress}}', 'ldb']));
  let page = { code: 1, stdout: '', stderr: '' };
  for (let i = 0; i < 30 && page.stdout.trim() !== 'from-db'; i++) page = await docker(bed.d, ['exec', 'lapp', 'wget', '-q', '-O-', 'http://store/']);
  assert.equal(page.stdout.trim(), 'from-db', page.stderr);
  assert.match(await ok(docker(bed.d, ['exec', 'lapp', 'ping', '-c', '1', '-W', '2', 'store'])), new RegExp(`PING store \\(${dbIp.replace(/\./g, '\\.')}\\)`));
  // Another container on the network does not have the link's name; the child's own name resolves for both.
  const other = await docker(bed.d, ['exec', 'lother', 'ping', '-c', '1', '-W', '2', 'store']);
  assert.notEqual(other.code, 0);
  assert.match(other.stderr + other.stdout, /bad address/);
  assert.match(await ok(docker(bed.d, ['exec', 'lother', 'ping', '-c', '1', '-W', '2', 'ldb'])), /1 packets received/);
  // Not a legacy link: no variables, HostConfig.Links as given, and the CLI's per-network links shown.
  assert.doesNotMatch(await ok(docker(bed.d, ['exec', 'lapp', 'sh', '-c', "tr '\\0' '\\n' < /proc/1/environ"])), /^STORE_/m);
  assert.deepEqual(JSON.parse(await ok(docker(bed.d, ['inspect', '-f', '{{json .HostConfig.Links}}', 'lapp']))), ['ldb:store']);
  assert.deepEqual(JSON.parse(await ok(docker(bed.d, ['inspect', '-f', '{{json .NetworkSettings.Networks.linknet.Links}}', 'lapp']))), ['ldb:store']);
  // The alias follows the child while the linking container runs on: gone with it, at its new
  // address when it comes back, gone when it is renamed away or disconnected.
  const hostsOf = async () => ok(docker(bed.d, ['exec', 'lapp', 'cat', '/etc/hosts']));
  /** The store line once it is what `want` says (a stop's network teardown may finish just after the API answered). */
  const storeLine = async (want: RegExp | null) => {
    let hosts = '';
    for (let i = 0; i < 50; i++) {
      hosts = await hostsOf();
      const line = /^.*\tstore$/m.exec(hosts)?.[0];
      if (want ? line && want.test(line) : !line) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`/etc/hosts has not ${want ? `a store line ${want}` : 'lost its store line'}:\n${hosts}`);
  };
  await ok(docker(bed.d, ['rm', '-f', 'ldb']));
  await storeLine(null);
  // A missing child does not refuse the linking container's start.
  await ok(docker(bed.d, ['restart', '-t', '0', 'lapp']));
  await ok(docker(bed.d, ['run', '-d', '--name', 'ldb', '--network', 'linknet', '--ip', '10.239.50.77', ...quiet, 'busybox', 'sleep', '600']));
  await storeLine(/^10\.239\.50\.77\t/);
  assert.match(await ok(docker(bed.d, ['exec', 'lapp', 'ping', '-c', '1', '-W', '2', 'store'])), /PING store \(10\.239\.50\.77\)/);
  // Stopped and started again at another address (the one it had is taken meanwhile).
  await ok(docker(bed.d, ['stop', '-t', '0', 'ldb']));
  await storeLine(null);
  await ok(docker(bed.d, ['run', '-d', '--name', 'squatter', '--network', 'linknet', '--ip', '10.239.50.77', ...quiet, 'busybox', 'sleep', '600']));
  await ok(docker(bed.d, ['network', 'disconnect', 'linknet', 'ldb']));
  await ok(docker(bed.d, ['network', 'connect', '--ip', '10.239.50.78', 'linknet', 'ldb']));
  await ok(docker(bed.d, ['start', 'ldb']));
  await storeLine(/^10\.239\.50\.78\t/);
  assert.match(await ok(docker(bed.d, ['exec', 'lapp', 'ping', '-c', '1', '-W', '2', 'store'])), /PING store \(10\.239\.50\.78\)/);
  await ok(docker(bed.d, ['network', 'disconnect', 'linknet', 'ldb']));
  await storeLine(null);
  await ok(docker(bed.d, ['network', 'connect', 'linknet', 'ldb']));
  await storeLine(/^10\.239\.50\.\d+\t/);
  await ok(docker(bed.d, ['rename', 'ldb', 'ldb2']));
  await storeLine(null);
  // The rest of the file is intact: the container's own name and the defaults.
  assert.match(await hostsOf(), /^127\.0\.0\.1\tlocalhost$/m);
  await ok(docker(bed.d, ['rm', '-f', 'ldb2', 'squatter', 'lapp', 'lother']));
  await ok(docker(bed.d, ['network', 'rm', 'linknet']));
});

test('network connect/disconnect bridge: a further interface on the default bridge, running or stopped; dockerd\'s refusals', async () => {
  await bed.createNet(['--subnet', '10.239.51.0/24', 'firstnet']);
  await ok(docker(bed.d, ['run', '-d', '--name', 'u1', '--network', 'firstnet', 'busybox', 'sleep', '600']));
  await ok(docker(bed.d, ['run', '-d', '--name', 'b1', 'busybox', 'sleep', '600']));
  await ok(docker(bed.d, ['network', 'connect', 'bridge', 'u1']));
  const nets = JSON.parse(await ok(docker(bed.d, ['inspect', '-f', '{{json .NetworkSettings.Networks}}', 'u1'])));
  assert.deepEqual(Object.keys(nets).sort(), ['bridge', 'firstnet']);
  const bridgeIp = nets.bridge.IPAddress as string;
  assert.ok(bridgeIp.startsWith(`${NET}.`), bridgeIp);
  assert.equal(nets.bridge.Gateway, `${NET}.1`);
  assert.match(await ok(docker(bed.d, ['exec', 'u1', 'ip', '-4', 'addr', 'show', 'eth1'])), new RegExp(`inet ${bridgeIp.replace(/\./g, '\\.')}/24`));
  // Its first network keeps the default route.
  assert.match(await ok(docker(bed.d, ['exec', 'u1', 'ip', 'route'])), /^default via 10\.239\.51\.1 dev eth0/m);
  // A container on the default bridge reaches it there; the bridge network lists it.
  assert.match(await ok(docker(bed.d, ['exec', 'b1', 'ping', '-c', '1', '-W', '2', bridgeIp])), /1 packets received/);
  const u1 = await ok(docker(bed.d, ['inspect', '-f', '{{.Id}}', 'u1']));
  const members = JSON.parse(await ok(docker(bed.d, ['network', 'inspect', '-f', '{{json .Containers}}', 'bridge'])));
  assert.equal(members[u1].IPv4Address, `${bridgeIp}/24`);

  let r = await docker(bed.d, ['network', 'connect', 'bridge', 'u1']);
  assert.match(r.stderr, /endpoint with name u1 already exists in network bridge/);
  r = await docker(bed.d, ['network', 'connect', '--alias', 'x', 'bridge', 'b1']);
  assert.match(r.stderr, /network-scoped alias is supported only for containers in user defined networks/);

  await ok(docker(bed.d, ['network', 'disconnect', 'bridge', 'u1']));
  assert.equal(await ok(docker(bed.d, ['exec', 'u1', 'sh', '-c', 'ls /sys/class/net | sort | tr "\\n" " "'])), 'eth0 lo');
  assert.equal(JSON.parse(await ok(docker(bed.d, ['network', 'inspect', '-f', '{{json .Containers}}', 'bridge'])))[u1], undefined);
  r = await docker(bed.d, ['network', 'disconnect', 'bridge', 'u1']);
  assert.match(r.stderr, /is not connected to the network bridge/);

  // Stopped: wired at the next start.
  await ok(docker(bed.d, ['create', '--name', 'u2', '--network', 'firstnet', 'busybox', 'sleep', '600']));
  await ok(docker(bed.d, ['network', 'connect', 'bridge', 'u2']));
  await ok(docker(bed.d, ['start', 'u2']));
  const ip2 = await ok(docker(bed.d, ['inspect', '-f', '{{.NetworkSettings.Networks.bridge.IPAddress}}', 'u2']));
  assert.match(await ok(docker(bed.d, ['exec', 'u2', 'ip', '-4', 'addr', 'show', 'eth1'])), new RegExp(`inet ${ip2.replace(/\./g, '\\.')}/`));
  await ok(docker(bed.d, ['rm', '-f', 'u1', 'u2', 'b1']));
  await ok(docker(bed.d, ['network', 'rm', 'firstnet']));
});
