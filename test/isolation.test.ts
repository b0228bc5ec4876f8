/**
 * Isolation as tests (issue 13): what a process in a default container
 * cannot do to the host — mount, reach processes outside (ptrace access),
 * write kernel settings (/proc/sys, /proc/sysrq-trigger, /sys), load a
 * kernel module, read kernel memory (/proc/kcore) — and how --privileged,
 * no-new-privileges and a custom seccomp profile change that, as in dockerd.
 *
 * Each check has its contrast: the same command succeeding (or failing for
 * another reason) where the protection is lifted, so a check that fails for
 * an unrelated reason (a missing applet, say) cannot pass for isolation.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { docker, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';

let d: TestDaemon;

before(async () => {
  d = await startDaemonWithBusybox();
});

after(async () => {
  await d?.cleanup();
});

/** Runs `script` in a fresh container; its stdout+stderr and exit code. */
async function sh(args: string[], script: string): Promise<{ out: string; code: number }> {
  const r = await docker(d, ['run', '--rm', ...args, 'busybox', 'sh', '-c', `{ ${script}
} 2>&1`]);
  return { out: r.stdout.trim(), code: r.code };
}

test('default container: mount is refused (no CAP_SYS_ADMIN; seccomp); --privileged mounts', async () => {
  const r = await sh([], 'mkdir -p /mnt/t && mount -t tmpfs none /mnt/t; echo rc=$?');
  assert.match(r.out, /mount: permission denied/);
  assert.match(r.out, /rc=[1-9]/);
  // Neither may a new user namespace grant it (unshare is seccomp-filtered without CAP_SYS_ADMIN).
  assert.match((await sh([], 'unshare -U -m true; echo rc=$?')).out, /Operation not permitted[\s\S]*rc=[1-9]/);
  assert.equal((await sh(['--privileged'], 'mkdir -p /mnt/t && mount -t tmpfs none /mnt/t && grep " /mnt/t " /proc/mounts | cut -d" " -f3')).out, 'tmpfs');
});

test('default container: processes outside are out of reach (own PID namespace; ptrace access denied even when they are visible)', async () => {
  // Own PID namespace: the shell is PID 1 and berthd's process is nowhere.
  const own = await sh([], 'echo $$; ls /proc | grep -c "^[0-9]"');
  assert.equal(own.out.split('\n')[0], '1');
  assert.ok(Number(own.out.split('\n')[1]) < 5, own.out);
  // Sharing the host's PID namespace, a host process (a sleep this test starts, as root) is visible, but
  // every ptrace access check (ptrace_may_access: /proc/<pid>/environ, /root, /mem) fails without CAP_SYS_PTRACE.
  const outside = spawn('sleep', ['60'], { stdio: 'ignore' });
  try {
    const pid = outside.pid!;
    const probe = `test -d /proc/${pid} && echo visible; cat /proc/${pid}/environ >/dev/null; echo rc=$?; ls /proc/${pid}/root/ >/dev/null; echo rc=$?; head -c1 /proc/${pid}/mem >/dev/null; echo rc=$?`;
    const host = await sh(['--pid', 'host'], probe);
    assert.match(host.out, /^visible/);
    assert.match(host.out, /Permission denied/);
    assert.deepEqual(host.out.match(/rc=\d+/g), ['rc=1', 'rc=1', 'rc=1'], host.out);
    // The contrast: with CAP_SYS_PTRACE the same access succeeds (so the denial above was the isolation).
    const traced = await sh(['--pid', 'host', '--cap-add', 'SYS_PTRACE'], `ls /proc/${pid}/root/ >/dev/null; echo rc=$?`);
    assert.equal(traced.out, 'rc=0');
  } finally {
    outside.kill();
  }
});

/** Whether the host's kernel has this file at all (a kernel without SysRq or /proc/kcore has nothing to protect there). */
const hostHas = (p: string) => fsp.access(p).then(() => true, () => false);

test('default container: /proc/sys, /proc/sysrq-trigger and /sys are read-only; --privileged has them writable', async () => {
  const sysrq = await hostHas('/proc/sysrq-trigger');
  const r = await sh([], 'echo x > /proc/sys/kernel/domainname; echo rc=$?; mkdir /sys/fs/berth-test; echo rc=$?; echo 1 > /sys/kernel/profiling; echo rc=$?');
  assert.equal((r.out.match(/Read-only file system/g) ?? []).length, 3, r.out);
  assert.deepEqual(r.out.match(/rc=\d+/g), ['rc=1', 'rc=1', 'rc=1']);
  // How they are mounted: /proc/sys and /proc/sysrq-trigger read-only binds, /sys read-only sysfs.
  const mounts = (await sh([], 'cat /proc/mounts')).out.split('\n');
  for (const p of ['/proc/sys', ...(sysrq ? ['/proc/sysrq-trigger'] : []), '/sys']) {
    const line = mounts.find((l) => l.split(' ')[1] === p);
    assert.ok(line, `${p} is a mount point`);
    assert.match(line.split(' ')[3]!, /^ro,/, `${p}: ${line}`);
  }
  if (sysrq) assert.match((await sh([], 'echo h > /proc/sysrq-trigger; echo rc=$?')).out, /Read-only file system\nrc=1/);
  const priv = (await sh(['--privileged'], 'cat /proc/mounts')).out.split('\n');
  assert.match(priv.find((l) => l.split(' ')[1] === '/sys')!.split(' ')[3]!, /^rw,/);
  assert.equal(priv.find((l) => l.split(' ')[1] === '/proc/sys'), undefined, '--privileged: /proc/sys is not remounted read-only');
  assert.equal((await sh(['--privileged'], 'mkdir /sys/fs/cgroup/berth-isolation-test && rmdir /sys/fs/cgroup/berth-isolation-test && echo ok')).out.split('\n').at(-1), 'ok');
});

test('default container: loading a kernel module is refused (EPERM) before the kernel is asked; --privileged reaches the kernel', async () => {
  // Not a module: a kernel with modules would say "Invalid module format", one without "not supported".
  const script = 'head -c 4096 /dev/zero > /tmp/x.ko; insmod /tmp/x.ko; echo rc=$?';
  const r = await sh([], script);
  assert.match(r.out, /Operation not permitted/);
  assert.match(r.out, /rc=[1-9]/);
  const priv = await sh(['--privileged'], script);
  assert.doesNotMatch(priv.out, /Operation not permitted/);
  assert.match(priv.out, /Invalid module format|Exec format error|Invalid argument|Bad address|not support/);
});

test('default container: /proc/kcore and other kernel views are masked; --privileged unmasks them', async () => {
  const kcore = await hostHas('/proc/kcore');
  // Masked: /dev/null bound over files (reads end at once), an empty read-only tmpfs over directories.
  const r = await sh([], 'wc -c < /proc/keys; wc -c < /proc/timer_list; ls /proc/acpi | wc -l; ls /sys/firmware | wc -l');
  assert.deepEqual(r.out.split('\n').map(Number), [0, 0, 0, 0]);
  if (kcore) {
    assert.equal((await sh([], 'wc -c < /proc/kcore')).out, '0');
    assert.equal((await sh([], 'grep -c " /proc/kcore " /proc/mounts')).out, '1');
    // Unmasked with --privileged: the kernel's file again (reading it needs CAP_SYS_RAWIO, which privileged has).
    assert.equal((await sh(['--privileged'], 'head -c 4 /proc/kcore | wc -c')).out, '4');
  } else {
    // This kernel has no /proc/kcore: there is nothing to read in the container either.
    assert.match((await sh([], 'cat /proc/kcore; echo rc=$?')).out, /rc=1$/);
  }
  assert.notEqual((await sh(['--privileged'], 'wc -c < /proc/timer_list')).out, '0');
});

test('--privileged behaves as dockerd\'s: every capability the host has, no seccomp, no masks, the host\'s devices', async () => {
  const hostBnd = (await fsp.readFile('/proc/self/status', 'utf8')).match(/^CapBnd:\s+(\w+)$/m)![1];
  const r = await sh(['--privileged'], 'grep -E "^(CapEff|CapBnd|Seccomp|NoNewPrivs):" /proc/self/status | cut -f2; ls /dev | grep -c "^loop"');
  const [eff, bnd, seccomp, nnp, loops] = r.out.split('\n');
  assert.equal(eff, hostBnd);
  assert.equal(bnd, hostBnd);
  assert.equal(seccomp, '0');
  assert.equal(nnp, '0');
  const hostLoops = (await fsp.readdir('/dev')).filter((n) => n.startsWith('loop')).length;
  assert.equal(Number(loops), hostLoops);
  // A default container has none of the host's devices, only the standard set.
  assert.equal((await sh([], 'ls /dev | grep -c "^loop"')).out, '0');
});

test('--security-opt no-new-privileges: NoNewPrivs 1 for the process and its execs', async () => {
  assert.equal((await sh([], 'grep NoNewPrivs /proc/self/status | cut -f2')).out, '0');
  const id = (await docker(d, ['run', '-d', '--security-opt', 'no-new-privileges', 'busybox', 'sleep', '30'])).stdout.trim();
  try {
    assert.equal((await docker(d, ['exec', id, 'sh', '-c', 'grep NoNewPrivs /proc/1/status /proc/self/status | cut -f2'])).stdout, '1\n1\n');
  } finally {
    await docker(d, ['rm', '-f', id]);
  }
  assert.equal((await sh(['--security-opt', 'no-new-privileges:false'], 'grep NoNewPrivs /proc/self/status | cut -f2')).out, '0');
});

test('--security-opt seccomp=<file>: a custom profile takes effect (mkdir denied with EPERM), unconfined turns filtering off', async () => {
  const profile = {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
  };
  const file = path.join(d.dir, 'no-mkdir.json');
  await fsp.writeFile(file, JSON.stringify(profile));
  const r = await sh(['--security-opt', `seccomp=${file}`], 'mkdir /tmp/x; echo rc=$?; touch /tmp/y && echo touched; grep Seccomp: /proc/self/status | cut -f2');
  assert.match(r.out, /mkdir: can't create directory '\/tmp\/x': Operation not permitted/);
  assert.match(r.out, /rc=1\ntouched\n2$/);
  // The contrast: the default profile lets mkdir through.
  assert.equal((await sh([], 'mkdir /tmp/x && echo made')).out, 'made');
  assert.equal((await sh(['--security-opt', 'seccomp=unconfined'], 'grep Seccomp: /proc/self/status | cut -f2')).out, '0');
  // A profile that is not JSON is refused before anything runs.
  await fsp.writeFile(file, '{nope');
  const bad = await docker(d, ['run', '--rm', '--security-opt', `seccomp=${file}`, 'busybox', 'true']);
  assert.notEqual(bad.code, 0);
});
