/**
 * The real docker CLI (v28) against berthd: the commands of the foundation,
 * with the output and exit codes a Docker user sees.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { berth, docker, startDaemon, type TestDaemon } from './helpers/daemon.js';
import { busyboxRootfs } from './helpers/rootfs.js';

let d: TestDaemon;
let imageId = '';

before(async () => {
  d = await startDaemon();
  const { tarXz } = await busyboxRootfs();
  const r = await docker(d, ['import', '-c', 'CMD ["sh"]', tarXz, 'busybox']);
  assert.equal(r.code, 0, r.stderr);
  imageId = r.stdout.trim();
});

after(async () => {
  await d?.cleanup();
});

test('docker version and info talk to berthd', async () => {
  const v = await docker(d, ['version', '--format', '{{.Server.APIVersion}} {{.Server.Os}}']);
  assert.equal(v.code, 0, v.stderr);
  assert.equal(v.stdout.trim(), '1.51 linux');
  const i = await docker(d, ['info', '--format', '{{.Driver}} {{.CgroupDriver}} {{.Images}}']);
  assert.equal(i.code, 0, i.stderr);
  assert.equal(i.stdout.trim(), 'overlay2 cgroupfs 1');
});

test('docker import gives an image ID and docker images lists it', async () => {
  assert.match(imageId, /^sha256:[0-9a-f]{64}$/);
  const r = await docker(d, ['images']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
  assert.match(lines[1]!, new RegExp(`^busybox\\s+latest\\s+${imageId.slice(7, 19)}\\s+.+ago\\s+\\d(\\.\\d+)?MB$`));
  const cmd = await docker(d, ['image', 'inspect', '-f', '{{json .Config.Cmd}} {{.Os}} {{len .RootFS.Layers}}', 'busybox']);
  assert.equal(cmd.stdout.trim(), '["sh"] linux 1');
});

test('docker run --rm prints the output and removes the container', async () => {
  const r = await docker(d, ['run', '--rm', 'busybox', 'echo', 'hello from berth']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'hello from berth\n');
  const ps = await docker(d, ['ps', '-aq']);
  assert.equal(ps.stdout.trim(), '');
});

test('docker run keeps stdout and stderr apart and returns the exit code', async () => {
  const r = await docker(d, ['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.equal(r.code, 3);
  assert.equal(r.stdout, 'out\n');
  assert.equal(r.stderr, 'err\n');
});

test('docker run of an unknown command exits 127 with docker\'s message', async () => {
  const r = await docker(d, ['run', '--rm', 'busybox', 'nosuchcmd']);
  assert.equal(r.code, 127);
  assert.match(r.stderr, /executable file not found in \$PATH/);
  assert.equal((await docker(d, ['ps', '-aq'])).stdout.trim(), '');
});

test('docker run of an unknown image exits 125', async () => {
  const r = await docker(d, ['run', '--rm', 'nosuchimage:1', 'true']);
  assert.equal(r.code, 125);
  assert.match(r.stderr, /Unable to find image 'nosuchimage:1' locally/);
});

test('docker run sees env, workdir, user, hostname and the default caps', async () => {
  const r = await docker(d, [
    'run', '--rm', '-e', 'FOO=bar', '-w', '/tmp', '-u', '65534:65534', '-h', 'myhost', 'busybox',
    'sh', '-c', 'echo $FOO; pwd; id -u; id -g; hostname; grep CapBnd /proc/self/status',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['bar', '/tmp', '65534', '65534', 'myhost', 'CapBnd:\t00000000a80425fb']);
});

test('docker run -d, logs, ps, inspect, wait and rm -f', async () => {
  const run = await docker(d, ['run', '-d', '--name', 'web', 'busybox', 'sh', '-c', 'echo started; echo oops >&2; sleep 30']);
  assert.equal(run.code, 0, run.stderr);
  const id = run.stdout.trim();
  assert.match(id, /^[0-9a-f]{64}$/);

  // Output lands in the log shortly after start.
  let logs = { code: 0, stdout: '', stderr: '' };
  for (let i = 0; i < 50 && !logs.stderr.includes('oops'); i++) {
    logs = await docker(d, ['logs', 'web']);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(logs.stdout, 'started\n');
  assert.equal(logs.stderr, 'oops\n');

  const ps = await docker(d, ['ps']);
  const lines = ps.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
  assert.match(lines[1]!, new RegExp(`^${id.slice(0, 12)}\\s+busybox\\s+"sh -c 'echo started…"\\s+.+ago\\s+Up .+\\s+web$`));

  const insp = await docker(d, ['inspect', '-f', '{{.State.Status}} {{.State.Running}} {{.Name}} {{.Config.Image}} {{.Id}}', 'web']);
  assert.equal(insp.stdout.trim(), `running true /web busybox ${id}`);

  const rm = await docker(d, ['rm', 'web']);
  assert.equal(rm.code, 1);
  assert.match(rm.stderr, /container is running: stop the container before removing or force remove/);

  const rmf = await docker(d, ['rm', '-f', 'web']);
  assert.equal(rmf.code, 0, rmf.stderr);
  assert.equal(rmf.stdout.trim(), 'web');
  const gone = await docker(d, ['inspect', 'web']);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /No such object: web/);
});

test('docker wait and ps -a show the exit code of a finished container', async () => {
  const run = await docker(d, ['run', '-d', '--name', 'quick', 'busybox', 'sh', '-c', 'exit 7']);
  assert.equal(run.code, 0, run.stderr);
  const w = await docker(d, ['wait', 'quick']);
  assert.equal(w.stdout.trim(), '7');
  const ps = await docker(d, ['ps', '-a', '--format', '{{.Names}} {{.Status}}']);
  assert.match(ps.stdout, /^quick Exited \(7\) .+ ago$/m);
  assert.equal((await docker(d, ['rm', 'quick'])).code, 0);
});

test('docker create, start -a and name conflicts', async () => {
  const c = await docker(d, ['create', '--name', 'twice', 'busybox', 'echo', 'from start']);
  assert.equal(c.code, 0, c.stderr);
  const again = await docker(d, ['create', '--name', 'twice', 'busybox', 'true']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /Conflict\. The container name "\/twice" is already in use by container/);
  const s = await docker(d, ['start', '-a', 'twice']);
  assert.equal(s.code, 0, s.stderr);
  assert.equal(s.stdout, 'from start\n');
  assert.equal((await docker(d, ['rm', 'twice'])).code, 0);
});

test('docker tag and rmi untag, then delete the image and its layer', async () => {
  const t = await docker(d, ['tag', 'busybox', 'copy:1']);
  assert.equal(t.code, 0, t.stderr);
  const untag = await docker(d, ['rmi', 'copy:1']);
  assert.equal(untag.code, 0, untag.stderr);
  assert.equal(untag.stdout, 'Untagged: copy:1\n');

  const c = await docker(d, ['create', 'busybox', 'true']);
  const used = await docker(d, ['rmi', 'busybox']);
  assert.equal(used.code, 1);
  assert.match(used.stderr, /conflict: unable to remove repository reference "busybox" \(must force\) - container [0-9a-f]{12} is using its referenced image/);
  assert.equal((await docker(d, ['rm', c.stdout.trim()])).code, 0);

  const { tar } = await busyboxRootfs();
  const imp = await docker(d, ['import', tar, 'scratchcopy:2']);
  assert.equal(imp.code, 0, imp.stderr);
  const rmi = await docker(d, ['rmi', 'scratchcopy:2']);
  assert.equal(rmi.code, 0, rmi.stderr);
  // Same rootfs, same layer: the layer stays because busybox still uses it.
  assert.deepEqual(rmi.stdout.trim().split('\n'), ['Untagged: scratchcopy:2', `Deleted: ${imp.stdout.trim()}`]);
  const missing = await docker(d, ['rmi', 'scratchcopy:2']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /No such image: scratchcopy:2/);
});

test('--entrypoint "" clears the image entrypoint; an unknown network fails at start', async () => {
  const r = await docker(d, ['run', '--rm', '--entrypoint', '', 'busybox', 'echo', 'reset']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'reset\n');
  const net = await docker(d, ['run', '--rm', '--network', 'nosuchnet', 'busybox', 'true']);
  assert.equal(net.code, 125);
  assert.match(net.stderr, /network nosuchnet not found/);
  assert.doesNotMatch(net.stderr, /Unable to find image/);
});

test('docker logs --tail, -t and --details', async () => {
  assert.equal((await docker(d, ['run', '--name', 'lines', 'busybox', 'sh', '-c', 'echo one; echo two; echo three'])).code, 0);
  assert.equal((await docker(d, ['logs', '--tail', '2', 'lines'])).stdout, 'two\nthree\n');
  assert.match((await docker(d, ['logs', '-t', '--tail', '1', 'lines'])).stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z three\n$/);
  assert.equal((await docker(d, ['logs', '--details', '--tail', '1', 'lines'])).stdout, ' three\n');
  assert.equal((await docker(d, ['rm', 'lines'])).code, 0);
});

test('--log-opt labels/env select what logs --details shows; unknown options are refused', async () => {
  const args = ['--log-opt', 'labels=team,none', '--log-opt', 'env=MODE', '--log-opt', 'env-regex=^X_', '--label', 'team=a b', '-e', 'MODE=prod&co', '-e', 'X_ONE=1', '-e', 'OTHER=2'];
  for (const [cli, name] of [[docker, 'det-docker'], [berth, 'det-berth']] as const) {
    const r = await cli(d, ['run', '--name', name, ...args, 'busybox', 'echo', 'line']);
    assert.equal(r.code, 0, r.stderr);
    // dockerd: sorted by key, query-escaped, a space, then the line.
    assert.equal((await cli(d, ['logs', '--details', name])).stdout, 'MODE=prod%26co,X_ONE=1,team=a+b line\n');
    assert.equal((await cli(d, ['logs', name])).stdout, 'line\n');
    const cfg = await docker(d, ['inspect', '-f', '{{json .HostConfig.LogConfig}}', name]);
    assert.deepEqual(JSON.parse(cfg.stdout), { Type: 'json-file', Config: { labels: 'team,none', env: 'MODE', 'env-regex': '^X_' } });
    assert.equal((await docker(d, ['rm', name])).code, 0);
    const bad = await cli(d, ['run', '--rm', '--log-opt', 'nope=1', 'busybox', 'true']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /unknown log opt 'nope' for json-file log driver/);
  }
});
