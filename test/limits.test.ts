/**
 * Resource limits and observing them: memory (OOM kill → 137, OOMKilled),
 * pids limit, docker top, docker stats.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { docker, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';

let d: TestDaemon;

before(async () => {
  d = await startDaemonWithBusybox();
});

after(async () => {
  await d?.cleanup();
});

test('a process over its memory limit is OOM-killed: exit 137, OOMKilled true', async () => {
  const r = await docker(d, ['run', '--name', 'hog', '-m', '16m', '--memory-swap', '16m', 'busybox', 'tail', '/dev/zero']);
  assert.equal(r.code, 137);
  assert.equal((await docker(d, ['inspect', '-f', '{{.State.ExitCode}} {{.State.OOMKilled}} {{.HostConfig.Memory}}', 'hog'])).stdout.trim(), '137 true 16777216');
  assert.equal((await docker(d, ['rm', 'hog'])).code, 0);
});

test('a fork bomb stops at the pids limit', async () => {
  const max = await docker(d, ['run', '--rm', '--pids-limit', '10', 'busybox', 'sh', '-c', 'read m < /sys/fs/cgroup/pids/pids.max; echo $m']);
  assert.equal(max.stdout.trim(), '10');
  // busybox sh gives up (exit 2) at the first fork the kernel refuses.
  const bomb = await docker(d, ['run', '--rm', '--pids-limit', '10', 'busybox', 'sh', '-c', 'i=0; while [ $i -lt 30 ]; do sleep 5 & i=$((i+1)); done; echo all-started']);
  assert.equal(bomb.code, 2);
  assert.doesNotMatch(bomb.stdout, /all-started/);
  assert.match(bomb.stderr, /can't fork: Resource temporarily unavailable/);
});

test('docker top lists the container\'s processes with ps options', async () => {
  assert.equal((await docker(d, ['run', '-d', '--name', 'watched', '-m', '64m', 'busybox', 'sleep', '60'])).code, 0);
  const t = await docker(d, ['top', 'watched']);
  assert.equal(t.code, 0, t.stderr);
  const lines = t.stdout.trim().split('\n');
  assert.match(lines[0]!, /^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
  assert.equal(lines.length, 2);
  assert.match(lines[1]!, /sleep 60$/);
  const aux = await docker(d, ['top', 'watched', 'aux']);
  assert.match(aux.stdout.split('\n')[0]!, /^USER\s+PID\s+%CPU\s+%MEM/);
});

test('docker stats --no-stream shows memory usage against the limit and PIDs', async () => {
  const s = await docker(d, ['stats', '--no-stream', '--format', '{{.Name}}|{{.MemUsage}}|{{.PIDs}}|{{.CPUPerc}}', 'watched']);
  assert.equal(s.code, 0, s.stderr);
  const [name, mem, pids, cpu] = s.stdout.trim().split('|');
  assert.equal(name, 'watched');
  assert.match(mem!, /^\d+(\.\d+)?(B|KiB|MiB) \/ 64MiB$/);
  assert.equal(pids, '1');
  assert.match(cpu!, /^\d+\.\d\d%$/);
  assert.equal((await docker(d, ['rm', '-f', 'watched'])).code, 0);
});

test('docker update changes a running container\'s memory and pids limits', async () => {
  assert.equal((await docker(d, ['run', '-d', '--name', 'grow', '-m', '32m', 'busybox', 'sleep', '60'])).code, 0);
  const u = await docker(d, ['update', '-m', '64m', '--memory-swap', '128m', '--pids-limit', '50', 'grow']);
  assert.equal(u.code, 0, u.stderr);
  assert.equal(u.stdout.trim(), 'grow');
  const inside = await docker(d, ['exec', 'grow', 'sh', '-c', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max']);
  assert.equal(inside.stdout.trim(), '67108864\n50');
  assert.equal((await docker(d, ['inspect', '-f', '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}', 'grow'])).stdout.trim(), '67108864 50');
  assert.equal((await docker(d, ['rm', '-f', 'grow'])).code, 0);
});

test('bad limits and stop signals are refused at create and update, with dockerd\'s messages', async () => {
  const before = (await docker(d, ['ps', '-aq'])).stdout;
  const cases: [string[], RegExp][] = [
    [['-m', '100k'], /Minimum memory limit allowed is 6MB/],
    [['-m', '20m', '--memory-swap', '10m'], /Minimum memoryswap limit should be larger than memory limit, see usage/],
    [['--cpuset-cpus', '64'], /Requested CPUs are not available - requested 64, available: \d/],
    [['--cpuset-cpus', '1-x'], /Invalid value 1-x for cpuset cpus: invalid format: 1-x/],
    [['--cpus', '4096'], /Range of CPUs is from 0\.01 to \d+\.00, as there are only \d+ CPUs available/],
    [['--stop-signal', 'SIGFOO'], /Invalid signal: SIGFOO/],
  ];
  for (const [flags, message] of cases) {
    const r = await docker(d, ['create', ...flags, 'busybox', 'true']);
    // docker create reports a daemon error with status 1 (run would say 125).
    assert.equal(r.code, 1, `${flags.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  // Nothing was created on the way.
  assert.equal((await docker(d, ['ps', '-aq'])).stdout, before);
  assert.equal((await docker(d, ['create', '--name', 'upd', 'busybox', 'true'])).code, 0);
  const u = await docker(d, ['update', '--cpuset-cpus', '64', 'upd']);
  assert.equal(u.code, 1);
  assert.match(u.stderr, /Requested CPUs are not available/);
  assert.equal((await docker(d, ['inspect', '-f', '{{.HostConfig.CpusetCpus}}', 'upd'])).stdout.trim(), '');
  assert.equal((await docker(d, ['rm', 'upd'])).code, 0);
});
