/**
 * User-defined networks through the docker CLI v28 and the berth CLI:
 * create/ls/inspect/rm/prune with dockerd's shapes and refusals, run with
 * --network/--ip/--network-alias, two containers fetching each other's HTTP
 * by name and alias (DNS by aardvark-dns), connect/disconnect while running
 * changing what resolves, --internal without a route out, and nothing left
 * on the host afterwards. Every test bridge gets an iptables DROP for
 * anything leaving it towards another interface, so container traffic stays
 * on this machine.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { berth, docker } from './helpers/daemon.js';
import { NetworkTestBed, ok, QUIET_DNS } from './helpers/network.js';

const execFileP = promisify(execFile);
const bed = new NetworkTestBed();
/** --dns for every container: what aardvark forwards goes to a refusing resolver here, never off the machine. */
let Q: string[] = [];
before(async () => {
  Q = await bed.quietDns();
});
const createNet = (args: string[], cli = docker) => bed.createNet(args, cli);
const inspectNet = (name: string) => bed.inspect(name);

const HTTPD = (text: string) => ['sh', '-c', `mkdir -p /www && echo ${text} > /www/index.html && exec httpd -f -p 80 -h /www`];

async function exec(c: string, cmd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return docker(bed.d, ['exec', c, 'sh', '-c', cmd]);
}

/** httpd needs a moment after start, DNS a moment after an update: retry briefly. */
async function fetchSoon(from: string, url: string, tries = 60): Promise<string> {
  let last = '';
  for (let i = 0; i < tries; i++) {
    const r = await exec(from, `timeout 5 wget -q -O- ${url}`);
    if (r.code === 0) return r.stdout.trim();
    last = r.stderr;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`${from} could not fetch ${url}: ${last}`);
}

async function resolves(from: string, name: string): Promise<boolean> {
  // aardvark answers a one-label name it lacks with NXDOMAIN itself, but forwards the same name
  // with the host's search domains appended: only to this container's --dns, the refusing resolver here.
  assert.match(await ok(exec(from, 'cat /etc/resolv.conf')), new RegExp(`^# ExtServers: \\[${QUIET_DNS.replace(/\./g, '\\.')}\\]$`, 'm'));
  const r = await exec(from, `nslookup ${name} 2>&1`);
  return r.code === 0 && /Address.*\d+\.\d+\.\d+\.\d+/.test(r.stdout.split(/Name:/)[1] ?? '');
}

test('network create, ls, inspect and dockerd\'s refusals', async () => {
  const n = await createNet(['--subnet', '10.239.1.0/24', '--gateway', '10.239.1.254', '--ip-range', '10.239.1.128/25', '--label', 'team=a', 'unet1']);
  assert.equal(n.Driver, 'bridge');
  assert.deepEqual(n.IPAM.Config, [{ Subnet: '10.239.1.0/24', Gateway: '10.239.1.254', IPRange: '10.239.1.128/25' }]);
  assert.deepEqual(n.Labels, { team: 'a' });
  assert.deepEqual(n.Containers, {});
  // The bridge is on the host with the gateway address.
  const addr = await execFileP('ip', ['-4', '-o', 'addr', 'show', 'dev', `br-${n.Id.slice(0, 12)}`]);
  assert.match(addr.stdout, /10\.239\.1\.254\/24/);
  // An automatic subnet comes from dockerd's pools and does not overlap.
  const auto = await createNet(['unet2']);
  assert.match(auto.IPAM.Config[0]!.Subnet, /^(172\.(1[7-9]|2\d|3[01])\.0\.0\/16|192\.168\.\d+\.0\/20)$/);

  const ls = await ok(docker(bed.d, ['network', 'ls', '--format', '{{.Name}} {{.Driver}}', '--filter', 'label=team=a']));
  assert.equal(ls, 'unet1 bridge');
  const custom = await ok(docker(bed.d, ['network', 'ls', '--format', '{{.Name}}', '--filter', 'type=custom']));
  assert.deepEqual(custom.split('\n').sort(), ['unet1', 'unet2']);

  let r = await docker(bed.d, ['network', 'create', 'unet1']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /network with name unet1 already exists/);
  r = await docker(bed.d, ['network', 'create', '--subnet', '10.239.1.0/25', 'overlap']);
  assert.match(r.stderr, /Pool overlaps with other one on this address space/);
  // The docker CLI checks the gateway itself; berth's CLI leaves it to the daemon, which answers as dockerd.
  r = await docker(bed.d, ['network', 'create', '--subnet', '10.239.2.0/24', '--gateway', '10.239.3.1', 'badgw']);
  assert.match(r.stderr, /no matching subnet for gateway 10\.239\.3\.1/);
  r = await berth(bed.d, ['network', 'create', '--subnet', '10.239.2.0/24', '--gateway', '10.239.3.1', 'badgw']);
  assert.match(r.stderr, /invalid gateway 10\.239\.3\.1: parent subnet 10\.239\.2\.0\/24 doesn't contain this address/);
  r = await docker(bed.d, ['network', 'connect', 'nosuchnet', 'x']);
  assert.match(r.stderr, /network nosuchnet not found|No such container/);
  r = await docker(bed.d, ['network', 'inspect', 'nosuchnet']);
  assert.match(r.stderr, /network nosuchnet not found/);
  // Nothing half-made: the refused names do not exist.
  assert.equal((await docker(bed.d, ['network', 'inspect', 'overlap'])).code, 1);

  await ok(docker(bed.d, ['network', 'rm', 'unet2']));
  assert.equal((await docker(bed.d, ['network', 'inspect', 'unet2'])).code, 1);
  const links = await execFileP('ip', ['link', 'show', 'dev', `br-${auto.Id.slice(0, 12)}`]).catch((e: { code: number }) => e);
  assert.notEqual((links as { code: number }).code ?? 0, 0, 'the bridge went with its network');
});

test('run --network --ip --network-alias; name, alias and short ID resolve; HTTP both ways', async () => {
  await createNet(['--subnet', '10.239.4.0/24', 'web']);
  const a = await ok(docker(bed.d, ['run', '-d', ...Q, '--name', 'alpha', '--network', 'web', '--ip', '10.239.4.10', '--network-alias', 'first', 'busybox', ...HTTPD('from-alpha')]));
  await ok(docker(bed.d, ['run', '-d', ...Q, '--name', 'beta', '--network', 'web', '--network-alias', 'second', 'busybox', ...HTTPD('from-beta')]));
  const ci = JSON.parse(await ok(docker(bed.d, ['inspect', 'alpha'])))[0];
  const ep = ci.NetworkSettings.Networks.web;
  assert.equal(ep.IPAddress, '10.239.4.10');
  assert.deepEqual(ep.IPAMConfig, { IPv4Address: '10.239.4.10' });
  assert.deepEqual(ep.Aliases, ['first']);
  assert.ok(ep.DNSNames.includes('alpha') && ep.DNSNames.includes('first') && ep.DNSNames.includes(a.slice(0, 12)));
  assert.equal(ep.Gateway, '10.239.4.1');
  assert.equal(ci.HostConfig.NetworkMode, 'web');

  assert.equal(await fetchSoon('beta', 'http://alpha/'), 'from-alpha');
  assert.equal(await fetchSoon('beta', 'http://first/'), 'from-alpha');
  assert.equal(await fetchSoon('beta', `http://${a.slice(0, 12)}/`), 'from-alpha');
  assert.equal(await fetchSoon('alpha', 'http://beta/'), 'from-beta');
  assert.equal(await fetchSoon('alpha', 'http://second/'), 'from-beta');

  const n = await inspectNet('web');
  assert.deepEqual(Object.values(n.Containers).map((c) => c.Name).sort(), ['alpha', 'beta']);
  assert.equal(n.Containers[a]!.IPv4Address, '10.239.4.10/24');

  // The same IP again is taken; an IP outside the subnet is refused at create.
  let r = await docker(bed.d, ['run', '--rm', ...Q, '--network', 'web', '--ip', '10.239.4.10', 'busybox', 'true']);
  assert.match(r.stderr, /Address already in use/);
  r = await docker(bed.d, ['create', '--network', 'web', '--ip', '10.9.9.9', 'busybox', 'true']);
  assert.match(r.stderr, /no configured subnet contains IP address 10\.9\.9\.9/);
  // Removing a network with endpoints: dockerd's 403.
  r = await docker(bed.d, ['network', 'rm', 'web']);
  assert.match(r.stderr, /has active endpoints/);

  // A rename changes what resolves.
  await ok(docker(bed.d, ['rename', 'alpha', 'gamma']));
  assert.equal(await fetchSoon('beta', 'http://gamma/'), 'from-alpha');
  assert.equal(await resolves('beta', 'alpha'), false);
  // A name with a dot that is no container's is forwarded, and reaches the resolver here.
  assert.equal(await resolves('beta', 'alpha.elsewhere'), false);
  assert.match(await bed.quietLog(), /query\[A\] alpha\.elsewhere from 127\.0\.0\.1/);

  // Stopped containers leave the DNS.
  await ok(docker(bed.d, ['stop', '-t', '0', 'gamma']));
  assert.equal(await resolves('beta', 'gamma'), false);
  await ok(docker(bed.d, ['rm', '-f', 'gamma', 'beta']));
  await ok(docker(bed.d, ['network', 'rm', 'web']));
});

test('connect and disconnect while running change what resolves; berth CLI', async () => {
  await createNet(['--subnet', '10.239.5.0/24', 'front'], berth);
  await createNet(['--subnet', '10.239.6.0/24', 'back'], berth);
  await ok(berth(bed.d, ['run', '-d', ...Q, '--name', 'api', '--network', 'back', 'busybox', ...HTTPD('from-api')]));
  await ok(berth(bed.d, ['run', '-d', ...Q, '--name', 'ui', '--network', 'front', 'busybox', 'sleep', '600']));
  // Different networks: no name.
  assert.equal(await resolves('ui', 'api'), false);
  await ok(berth(bed.d, ['network', 'connect', '--alias', 'backend', 'back', 'ui']));
  assert.equal(await fetchSoon('ui', 'http://api/'), 'from-api');
  assert.equal(await fetchSoon('ui', 'http://backend/'.replace('backend', 'api')), 'from-api');
  const ui = JSON.parse(await ok(docker(bed.d, ['inspect', 'ui'])))[0];
  assert.deepEqual(Object.keys(ui.NetworkSettings.Networks).sort(), ['back', 'front']);
  assert.deepEqual(ui.NetworkSettings.Networks.back.Aliases, ['backend']);
  // api sees ui by its alias on back.
  assert.equal(await resolves('api', 'backend'), true);
  const ifs = await ok(exec('ui', 'ls /sys/class/net | sort | tr "\\n" " "'));
  assert.equal(ifs, 'eth0 eth1 lo');
  let r = await docker(bed.d, ['network', 'connect', 'back', 'ui']);
  assert.match(r.stderr, /endpoint with name ui already exists in network back/);

  await ok(berth(bed.d, ['network', 'disconnect', 'back', 'ui']));
  assert.equal(await resolves('ui', 'api'), false);
  assert.equal(await resolves('api', 'backend'), false);
  assert.equal(await ok(exec('ui', 'ls /sys/class/net | sort | tr "\\n" " "')), 'eth0 lo');
  r = await docker(bed.d, ['network', 'disconnect', 'back', 'ui']);
  assert.match(r.stderr, /is not connected to the network back/);

  // Connect while stopped: wired at the next start.
  await ok(docker(bed.d, ['stop', '-t', '0', 'ui']));
  await ok(docker(bed.d, ['network', 'connect', 'back', 'ui']));
  await ok(docker(bed.d, ['start', 'ui']));
  assert.equal(await fetchSoon('ui', 'http://api/'), 'from-api');
  await ok(docker(bed.d, ['rm', '-f', 'ui', 'api']));
  await ok(berth(bed.d, ['network', 'rm', 'front', 'back']));
});

test('--internal: no route out of the network', async () => {
  const n = await createNet(['--internal', '--subnet', '10.239.7.0/24', 'sealed']);
  assert.equal(n.Internal, true);
  await ok(docker(bed.d, ['run', '-d', ...Q, '--name', 'in1', '--network', 'sealed', 'busybox', ...HTTPD('inside')]));
  await ok(docker(bed.d, ['run', '-d', ...Q, '--name', 'in2', '--network', 'sealed', 'busybox', 'sleep', '600']));
  // Inside the network everything works.
  assert.equal(await fetchSoon('in2', 'http://in1/'), 'inside');
  // No default route: an address outside the subnet (this host's own uplink address) is unreachable.
  const routes = await ok(exec('in2', 'ip route'));
  assert.doesNotMatch(routes, /default/);
  const uplink = (await execFileP('ip', ['-4', '-o', 'route', 'get', '1.1.1.1'])).stdout.match(/src (\S+)/)![1]!;
  const r = await exec('in2', `timeout 5 wget -q -O- http://${uplink}:1/`);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /unreachable|No route/i);
  await ok(docker(bed.d, ['rm', '-f', 'in1', 'in2']));
});

test('prune removes unused networks only', async () => {
  await createNet(['--subnet', '10.239.8.0/24', 'used']);
  await createNet(['--subnet', '10.239.9.0/24', 'unused']);
  await ok(docker(bed.d, ['run', '-d', ...Q, '--name', 'user', '--network', 'used', 'busybox', 'sleep', '600']));
  const out = await ok(docker(bed.d, ['network', 'prune', '-f']));
  assert.match(out, /unused/);
  assert.doesNotMatch(out, /\bused\b/);
  await ok(docker(bed.d, ['rm', '-f', 'user']));
  await ok(docker(bed.d, ['network', 'rm', 'used']));
});

test('isolation: a container on one network cannot reach one on another, through the host, though forwarding is on', async () => {
  // Forwarding on, so that only berth's isolation rules stand between the bridges; each test
  // bridge still drops whatever would leave for a non-bridge interface.
  const forward = (await execFileP('cat', ['/proc/sys/net/ipv4/ip_forward'])).stdout.trim();
  await execFileP('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  try {
    const a = await bed.createNet(['--subnet', '10.239.10.0/24', 'iso-a'], docker, true);
    const b = await bed.createNet(['--subnet', '10.239.11.0/24', 'iso-b'], docker, true);
    await ok(docker(bed.d, ['run', '-d', ...Q, '--name', 'on-a', '--network', 'iso-a', 'busybox', 'sleep', '600']));
    await ok(docker(bed.d, ['run', '-d', ...Q, '--name', 'on-b', '--network', 'iso-b', 'busybox', ...HTTPD('from-b')]));
    const ip = await ok(docker(bed.d, ['inspect', '-f', '{{(index .NetworkSettings.Networks "iso-b").IPAddress}}', 'on-b']));
    const brB = `br-${b.Id.slice(0, 12)}`;
    const drops = async () => {
      const out = (await execFileP('iptables', ['-w', '-L', 'BERTH-ISOLATION-STAGE-2', '-v', '-x', '-n'])).stdout;
      const line = out.split('\n').find((l) => l.includes(brB) && l.includes('DROP'));
      assert.ok(line, `no isolation rule for ${brB} in\n${out}`);
      return Number(line.trim().split(/\s+/)[0]);
    };
    // on-a has a route to iso-b's subnet (its default route, via the host), and the host forwards:
    // only the isolation rules stop the connection, and their counter shows it.
    assert.match(await ok(exec('on-a', 'ip route')), /default via 10\.239\.10\.1/);
    const before = await drops();
    const r = await exec('on-a', `timeout 3 wget -q -O- http://${ip}/`);
    assert.notEqual(r.code, 0, 'on-a reached on-b across networks');
    assert.ok((await drops()) > before, 'the isolation rule dropped it');
    // A container on both networks reaches on-b; one joining iso-b reaches it too.
    await ok(docker(bed.d, ['network', 'connect', 'iso-b', 'on-a']));
    assert.equal(await fetchSoon('on-a', `http://${ip}/`), 'from-b');
    await ok(docker(bed.d, ['rm', '-f', 'on-a', 'on-b']));
    // The network's isolation rules go with it.
    await ok(docker(bed.d, ['network', 'rm', 'iso-a', 'iso-b']));
    const left = (await execFileP('iptables-save', ['-t', 'filter'])).stdout;
    for (const n of [a, b]) assert.ok(!left.includes(`berth:${n.Id.slice(0, 12)}`), 'isolation rules are gone');
  } finally {
    await execFileP('sysctl', ['-qw', `net.ipv4.ip_forward=${forward}`]);
  }
});

test('--ipv6 --subnet fd…/64: containers get an IPv6 address, shown by inspect, reachable and resolvable (AAAA)', async (t) => {
  if (readFileSync('/proc/sys/net/ipv6/conf/all/disable_ipv6', 'utf8').trim() !== '0') {
    t.skip('the kernel has IPv6 disabled (net.ipv6.conf.all.disable_ipv6=1)');
    return;
  }
  const n = await createNet(['--ipv6', '--subnet', '10.239.12.0/24', '--subnet', 'fd00:b3:1::/64', 'v6net']);
  assert.equal(n.EnableIPv6, true);
  assert.deepEqual(n.IPAM.Config, [
    { Subnet: '10.239.12.0/24', Gateway: '10.239.12.1' },
    { Subnet: 'fd00:b3:1::/64', Gateway: 'fd00:b3:1::1' },
  ]);
  const id = await ok(docker(bed.d, ['run', '-d', ...Q, '--name', 'six1', '--network', 'v6net', '--ip6', 'fd00:b3:1::10', 'busybox', ...HTTPD('over-v6')]));
  await ok(docker(bed.d, ['run', '-d', ...Q, '--name', 'six2', '--network', 'v6net', 'busybox', 'sleep', '600']));
  const ep = JSON.parse(await ok(docker(bed.d, ['inspect', '-f', '{{json .NetworkSettings.Networks.v6net}}', 'six1'])));
  assert.equal(ep.GlobalIPv6Address, 'fd00:b3:1::10');
  assert.equal(ep.GlobalIPv6PrefixLen, 64);
  assert.equal(ep.IPv6Gateway, 'fd00:b3:1::1');
  assert.equal(ep.IPAMConfig.IPv6Address, 'fd00:b3:1::10');
  assert.equal((await inspectNet('v6net')).Containers[id]!.IPv6Address, 'fd00:b3:1::10/64');
  assert.match(await ok(exec('six1', 'ip -6 addr show dev eth0')), /inet6 fd00:b3:1::10\/64/);
  assert.match(await ok(exec('six2', 'ip -6 route')), /default via fd00:b3:1::1/);
  assert.equal(await fetchSoon('six2', 'http://[fd00:b3:1::10]/'), 'over-v6');
  assert.match(await ok(exec('six2', 'nslookup -type=AAAA six1 2>&1')), /fd00:b3:1::10/);
  // An overlapping IPv6 pool and an --ip6 outside the pool: dockerd's refusals.
  let r = await docker(bed.d, ['network', 'create', '--ipv6', '--subnet', 'fd00:b3:1:0:8000::/80', 'v6overlap']);
  assert.match(r.stderr, /Pool overlaps with other one on this address space/);
  r = await docker(bed.d, ['create', '--network', 'v6net', '--ip6', 'fd00:ffff::1', 'busybox', 'true']);
  assert.match(r.stderr, /no configured subnet contains IP address fd00:ffff::1/);
  // dockerd's IPv4 rules in ip6tables too: isolation, forwarding, the IPv6 subnet masqueraded.
  const tag = `berth:${n.Id.slice(0, 12)}`;
  const br = `br-${n.Id.slice(0, 12)}`;
  const v6rules = async (table: string) => (await execFileP('ip6tables-save', ['-t', table])).stdout.split('\n').filter((l) => l.includes(tag));
  const filter6 = (await v6rules('filter')).join('\n');
  assert.match(filter6, new RegExp(`^-A BERTH-ISOLATION-STAGE-1 -i ${br} ! -o ${br} .*-j BERTH-ISOLATION-STAGE-2$`, 'm'));
  assert.match(filter6, new RegExp(`^-A BERTH-ISOLATION-STAGE-2 -o ${br} .*-j DROP$`, 'm'));
  assert.match(filter6, new RegExp(`^-A BERTH-FORWARD -i ${br} .*-j ACCEPT$`, 'm'));
  assert.deepEqual((await v6rules('nat')).map((l) => l.replace(/ -m comment .*? -j/, ' -j')), [`-A POSTROUTING -s fd00:b3:1::/64 ! -o ${br} -j MASQUERADE`]);
  await ok(docker(bed.d, ['rm', '-f', 'six1', 'six2']));
  await ok(docker(bed.d, ['network', 'rm', 'v6net']));
  assert.deepEqual([...(await v6rules('filter')), ...(await v6rules('nat'))], [], 'the ip6tables rules went with the network');
});

test('--internal --ipv6: nothing crosses to another network over IPv6 either, even with a route and forwarding', async (t) => {
  if (readFileSync('/proc/sys/net/ipv6/conf/all/disable_ipv6', 'utf8').trim() !== '0') {
    t.skip('the kernel has IPv6 disabled (net.ipv6.conf.all.disable_ipv6=1)');
    return;
  }
  const forward = readFileSync('/proc/sys/net/ipv6/conf/all/forwarding', 'utf8').trim();
  await execFileP('sysctl', ['-qw', 'net.ipv6.conf.all.forwarding=1']);
  try {
    const sealed = await bed.createNet(['--internal', '--ipv6', '--subnet', '10.239.13.0/24', '--subnet', 'fd00:b3:2::/64', 'sealed6'], docker, true);
    const open = await bed.createNet(['--ipv6', '--subnet', '10.239.14.0/24', '--subnet', 'fd00:b3:3::/64', 'open6'], docker, true);
    const tag = `berth:${sealed.Id.slice(0, 12)}`;
    const br = `br-${sealed.Id.slice(0, 12)}`;
    const saved = async (table: string) => (await execFileP('ip6tables-save', ['-t', table])).stdout.split('\n').filter((l) => l.includes(tag));
    // Internal: DROP both ways across its bridge, no masquerading.
    const f = (await saved('filter')).join('\n');
    assert.match(f, new RegExp(`^-A BERTH-FORWARD -i ${br} ! -o ${br} .*-j DROP$`, 'm'));
    assert.match(f, new RegExp(`^-A BERTH-FORWARD ! -i ${br} -o ${br} .*-j DROP$`, 'm'));
    assert.deepEqual(await saved('nat'), []);
    await ok(docker(bed.d, ['run', '-d', ...Q, '--name', 'in6', '--network', 'sealed6', '--ip6', 'fd00:b3:2::10', 'busybox', 'sleep', '600']));
    await ok(docker(bed.d, ['run', '-d', ...Q, '--name', 'out6', '--network', 'open6', '--ip6', 'fd00:b3:3::10', 'busybox', ...HTTPD('open')]));
    // The internal container gets a route to the other network through its gateway (as a
    // misconfigured or hostile container could), so that only the host's ip6tables rules stand in the way.
    const pid = await ok(docker(bed.d, ['inspect', '-f', '{{.State.Pid}}', 'in6']));
    await execFileP('nsenter', ['-n', '-t', pid, 'ip', '-6', 'route', 'add', 'fd00:b3:3::/64', 'via', 'fd00:b3:2::1']);
    const drops = async () => {
      const out = (await execFileP('ip6tables', ['-w', '-L', '-v', '-x', '-n'])).stdout;
      // The isolation DROP is the destination network's rule; the internal network's own DROPs come after it.
      const tags = [tag, `berth:${open.Id.slice(0, 12)}`];
      return out.split('\n').filter((l) => tags.some((x) => l.includes(x)) && /\bDROP\b/.test(l)).reduce((sum, l) => sum + Number(l.trim().split(/\s+/)[0]), 0);
    };
    const before = await drops();
    const r = await exec('in6', 'timeout 3 wget -q -O- http://[fd00:b3:3::10]/');
    assert.notEqual(r.code, 0, 'the internal network reached another one over IPv6');
    assert.ok((await drops()) > before, 'an ip6tables rule of the internal network dropped it');
    // The other way: out6 has a default route via its gateway; the host drops it on the way into sealed6.
    assert.notEqual((await exec('out6', 'ping -c 1 -W 2 fd00:b3:2::10')).code, 0);
    await ok(docker(bed.d, ['rm', '-f', 'in6', 'out6']));
    await ok(docker(bed.d, ['network', 'rm', 'sealed6', 'open6']));
    assert.deepEqual(await saved('filter'), []);
  } finally {
    await execFileP('sysctl', ['-qw', `net.ipv6.conf.all.forwarding=${forward}`]);
  }
});
