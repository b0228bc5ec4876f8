// Unit tests for buildSpec against a throwaway rootfs holding only
// /etc/passwd and /etc/group; host facts (bounding set, limits, cgroup
// version) are read from this machine the same way the code does.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  buildSpec,
  DEFAULT_CAPABILITIES,
  RLIM_INFINITY,
  SpecError,
  specToJSON,
  type SpecInput,
} from './build.js';
import { capsFromMask, maskFromCaps } from './caps.js';
import { parseProcLimits } from './rlimits.js';
import { parseProfile, setupSeccomp } from './seccomp.js';
import type { LinuxSeccomp, Spec } from './types.js';

const MOBY_PROFILE = '/work/shared/reference/seccomp-default.json';

const hostBounding = capsFromMask(/^CapBnd:\s*(\S+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
const hostLimits = parseProcLimits(readFileSync('/proc/self/limits', 'utf8'));

let rootfs: string;

before(async () => {
  rootfs = await mkdtemp(path.join(os.tmpdir(), 'berth-spec-unit-'));
  await mkdir(path.join(rootfs, 'etc'));
  await writeFile(
    path.join(rootfs, 'etc/passwd'),
    [
      '# comment line must not shadow root',
      'root:x:0:0:root:/root:/bin/sh',
      'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
      'app:x:1000:1000:App:/home/app:/bin/sh',
      'web:x:33:33:www:/var/www:/bin/false',
      '',
    ].join('\n'),
  );
  await writeFile(
    path.join(rootfs, 'etc/group'),
    ['root:x:0:', 'daemon:x:1:', 'wheel:x:10:app,web', 'app:x:1000:', 'staff:x:50:app', 'www-data:x:33:', ''].join(
      '\n',
    ),
  );
});

after(async () => {
  await rm(rootfs, { recursive: true, force: true });
});

function input(over: Partial<SpecInput> = {}): SpecInput {
  return {
    rootfs,
    args: ['/bin/sh', '-c', 'true'],
    env: [],
    cwd: '',
    user: '',
    hostname: 'c0ffee',
    tty: false,
    cgroupsPath: '/berth/test',
    ...over,
  };
}

async function rejectsWith(p: Promise<unknown>, kind: 'invalid' | 'notfound', message: string | RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof SpecError, `expected SpecError, got ${String(err)}`);
    assert.equal(err.kind, kind);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

/** Names some ALLOW rule (with or without argument filters) grants. */
function allowed(seccomp: LinuxSeccomp | undefined): Set<string> {
  assert.ok(seccomp, 'expected a seccomp section');
  const out = new Set<string>();
  for (const r of seccomp.syscalls ?? []) if (r.action === 'SCMP_ACT_ALLOW') r.names.forEach((n) => out.add(n));
  return out;
}

const mobyProfileOpt = (): string => 'seccomp=' + readFileSync(MOBY_PROFILE, 'utf8');
const haveMoby = existsSync(MOBY_PROFILE);

describe('process', () => {
  it('builds Docker defaults: 14 caps in bounding/effective/permitted, nothing else', async () => {
    const s = await buildSpec(input());
    const caps = s.process.capabilities!;
    assert.deepEqual(caps.bounding, [...DEFAULT_CAPABILITIES]);
    assert.deepEqual(caps.effective, [...DEFAULT_CAPABILITIES]);
    assert.deepEqual(caps.permitted, [...DEFAULT_CAPABILITIES]);
    assert.equal(caps.inheritable, undefined);
    assert.equal(caps.ambient, undefined);
    assert.equal(caps.bounding!.length, 14);
    assert.equal(maskFromCaps(caps.bounding!), '00000000a80425fb');
    assert.equal(s.process.noNewPrivileges, false);
    assert.equal(s.process.oomScoreAdj, undefined);
    assert.equal(s.process.rlimits, undefined);
    assert.equal(s.process.terminal, false);
    assert.equal(s.process.cwd, '/');
    assert.deepEqual(s.process.args, ['/bin/sh', '-c', 'true']);
    assert.equal(s.linux.cgroupsPath, '/berth/test');
    assert.equal(s.linux.sysctl, undefined);
    assert.equal(s.annotations, undefined);
    assert.equal(s.hostname, 'c0ffee');
    assert.deepEqual(s.root, { path: rootfs });
  });

  it('adds PATH and HOSTNAME ahead of the container env, TERM only with a tty', async () => {
    let s = await buildSpec(input({ env: ['FOO=bar'] }));
    assert.deepEqual(s.process.env, [
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'HOSTNAME=c0ffee',
      'FOO=bar',
    ]);
    s = await buildSpec(input({ tty: true, env: ['PATH=/opt/bin', 'A=1', 'HOSTNAME', 'A=2'] }));
    // An image PATH replaces the default in place; a bare key unsets; a repeated key keeps the last value.
    assert.deepEqual(s.process.env, ['PATH=/opt/bin', 'TERM=xterm', 'A=2']);
    assert.equal(s.process.terminal, true);
  });

  it('rejects a relative working directory and an empty command', async () => {
    await rejectsWith(buildSpec(input({ cwd: 'app' })), 'invalid', /needs to be an absolute path/);
    await rejectsWith(buildSpec(input({ args: [] })), 'invalid', 'No command specified');
    const s = await buildSpec(input({ cwd: '/srv/app' }));
    assert.equal(s.process.cwd, '/srv/app');
  });

  it('parses security options like dockerd', async () => {
    assert.equal((await buildSpec(input({ securityOpt: ['no-new-privileges'] }))).process.noNewPrivileges, true);
    assert.equal((await buildSpec(input({ securityOpt: ['no-new-privileges:true'] }))).process.noNewPrivileges, true);
    assert.equal((await buildSpec(input({ securityOpt: ['no-new-privileges=false'] }))).process.noNewPrivileges, false);
    await rejectsWith(buildSpec(input({ securityOpt: ['no-new-privileges=maybe'] })), 'invalid', /invalid --security-opt 2/);
    await rejectsWith(buildSpec(input({ securityOpt: ['bogus'] })), 'invalid', 'invalid --security-opt 1: "bogus"');
    await rejectsWith(buildSpec(input({ securityOpt: ['foo=bar'] })), 'invalid', /invalid --security-opt 2/);
  });
});

describe('capabilities', () => {
  it('cap-add / cap-drop accept both spellings and any case', async () => {
    const s = await buildSpec(input({ capAdd: ['net_admin', 'CAP_SYS_PTRACE'], capDrop: ['CHOWN', 'cap_kill'] }));
    const expected = DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_CHOWN' && c !== 'CAP_KILL').concat([
      'CAP_NET_ADMIN',
      'CAP_SYS_PTRACE',
    ]);
    assert.deepEqual(s.process.capabilities!.bounding, expected);
    assert.deepEqual(s.process.capabilities!.effective, expected);
  });

  it('cap-drop ALL keeps only the adds', async () => {
    const s = await buildSpec(input({ capDrop: ['ALL'], capAdd: ['NET_BIND_SERVICE'] }));
    assert.deepEqual(s.process.capabilities!.bounding, ['CAP_NET_BIND_SERVICE']);
    const none = await buildSpec(input({ capDrop: ['all'] }));
    assert.deepEqual(none.process.capabilities!.bounding, []);
  });

  it('cap-add ALL is every host capability minus the drops', async () => {
    const s = await buildSpec(input({ capAdd: ['ALL'], capDrop: ['NET_ADMIN'] }));
    assert.deepEqual(
      s.process.capabilities!.bounding,
      hostBounding.filter((c) => c !== 'CAP_NET_ADMIN'),
    );
  });

  it('rejects unknown capabilities and ones the host cannot grant', async () => {
    await rejectsWith(buildSpec(input({ capAdd: ['FOO'] })), 'invalid', 'unknown capability: "CAP_FOO"');
    await rejectsWith(buildSpec(input({ capDrop: ['BAR'] })), 'invalid', 'unknown capability: "CAP_BAR"');
    if (!hostBounding.includes('CAP_SYS_RESOURCE')) {
      await rejectsWith(
        buildSpec(input({ capAdd: ['SYS_RESOURCE'] })),
        'invalid',
        'capability not supported by your kernel or not available in the current environment: "CAP_SYS_RESOURCE"',
      );
      // Dropping it is harmless, so it is allowed.
      await buildSpec(input({ capDrop: ['SYS_RESOURCE'] }));
    }
  });

  it('privileged gets exactly the host bounding set, no seccomp, no masks, rw /sys', async () => {
    const s = await buildSpec(input({ privileged: true, securityOpt: [mobyProfileOpt()] }));
    const caps = s.process.capabilities!;
    assert.deepEqual(caps.bounding, hostBounding);
    assert.ok(caps.bounding!.every((c) => hostBounding.includes(c)));
    assert.deepEqual(caps.effective, hostBounding);
    assert.equal(s.linux.seccomp, undefined);
    assert.equal(s.linux.maskedPaths, undefined);
    assert.equal(s.linux.readonlyPaths, undefined);
    const sys = s.mounts.find((m) => m.destination === '/sys')!;
    assert.ok(!sys.options!.includes('ro'));
    const cg = s.mounts.find((m) => m.destination === '/sys/fs/cgroup')!;
    assert.ok(!cg.options!.includes('ro'));
    assert.deepEqual(s.linux.resources!.devices, [{ allow: true, access: 'rwm' }]);
    const devNull = s.linux.devices!.find((d) => d.path === '/dev/null');
    assert.deepEqual(devNull && { type: devNull.type, major: devNull.major, minor: devNull.minor }, {
      type: 'c',
      major: 1,
      minor: 3,
    });
    assert.ok(!s.linux.devices!.some((d) => d.path === '/dev/console' || d.path.startsWith('/dev/pts/')));
  });

  it('a non-root user gets only the bounding set, like execve would leave it', async () => {
    const s = await buildSpec(input({ user: 'app' }));
    assert.deepEqual(s.process.capabilities, { bounding: [...DEFAULT_CAPABILITIES] });
  });
});

describe('user', () => {
  const user = async (u: string) => (await buildSpec(input({ user: u }))).process.user;

  it('defaults to root with its groups', async () => {
    assert.deepEqual(await user(''), { uid: 0, gid: 0, additionalGids: [0] });
  });

  it('resolves a name with its supplementary groups', async () => {
    assert.deepEqual(await user('app'), { uid: 1000, gid: 1000, additionalGids: [1000, 10, 50] });
  });

  it('resolves a uid in passwd like its name, and allows one that is not', async () => {
    assert.deepEqual(await user('1000'), { uid: 1000, gid: 1000, additionalGids: [1000, 10, 50] });
    assert.deepEqual(await user('4242'), { uid: 4242, gid: 0, additionalGids: [0] });
  });

  it('takes an explicit group, by number or name, without supplementary groups', async () => {
    assert.deepEqual(await user('1000:33'), { uid: 1000, gid: 33, additionalGids: [33] });
    assert.deepEqual(await user('4242:4343'), { uid: 4242, gid: 4343, additionalGids: [4343] });
    assert.deepEqual(await user('app:staff'), { uid: 1000, gid: 50, additionalGids: [50] });
    assert.deepEqual(await user('web:www-data'), { uid: 33, gid: 33, additionalGids: [33] });
  });

  it("fails with Docker's messages for unknown names", async () => {
    await rejectsWith(user('foo'), 'notfound', 'unable to find user foo: no matching entries in passwd file');
    await rejectsWith(user('app:nogroup'), 'notfound', 'unable to find group nogroup: no matching entries in group file');
    await rejectsWith(user('-5'), 'invalid', 'uids and gids must be in range 0-2147483647');
  });

  it('works without /etc/passwd for numeric users only', async () => {
    const bare = await mkdtemp(path.join(os.tmpdir(), 'berth-spec-bare-'));
    try {
      const s = await buildSpec(input({ rootfs: bare, user: '123:456' }));
      assert.deepEqual(s.process.user, { uid: 123, gid: 456, additionalGids: [456] });
      await rejectsWith(buildSpec(input({ rootfs: bare, user: 'app' })), 'notfound', /unable to find user app/);
    } finally {
      await rm(bare, { recursive: true, force: true });
    }
  });

  it('follows an absolute /etc/passwd symlink inside the rootfs, not on the host', async () => {
    const r = await mkdtemp(path.join(os.tmpdir(), 'berth-spec-link-'));
    try {
      await mkdir(path.join(r, 'etc'));
      await mkdir(path.join(r, 'usr/lib'), { recursive: true });
      await writeFile(path.join(r, 'usr/lib/passwd'), 'svc:x:777:778::/:/bin/sh\n');
      await symlink('/usr/lib/passwd', path.join(r, 'etc/passwd'));
      const s = await buildSpec(input({ rootfs: r, user: 'svc' }));
      assert.deepEqual(s.process.user, { uid: 777, gid: 778, additionalGids: [778] });
      // A link climbing out of the rootfs towards a host file must stay inside the rootfs.
      const hostDir = await mkdtemp(path.join(os.tmpdir(), 'berth-spec-hostpw-'));
      try {
        await writeFile(path.join(hostDir, 'passwd'), 'evil:x:5:5::/:/bin/sh\n');
        await rm(path.join(r, 'etc/passwd'));
        await symlink('../../../../../../..' + path.join(hostDir, 'passwd'), path.join(r, 'etc/passwd'));
        await rejectsWith(buildSpec(input({ rootfs: r, user: 'evil' })), 'notfound', /unable to find user evil/);
      } finally {
        await rm(hostDir, { recursive: true, force: true });
      }
    } finally {
      await rm(r, { recursive: true, force: true });
    }
  });
});

describe('seccomp', () => {
  it('uses the default profile file filtered to x86_64 and the default caps', async () => {
    const s = await buildSpec(input());
    const sc = s.linux.seccomp!;
    assert.equal(sc.defaultAction, 'SCMP_ACT_ERRNO');
    if (process.arch === 'x64') assert.deepEqual(sc.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    const ok = allowed(sc);
    assert.ok(ok.has('read') && ok.has('execve'));
    assert.ok(!ok.has('bpf'), 'bpf needs CAP_SYS_ADMIN');
    assert.ok(!ok.has('init_module'), 'init_module needs CAP_SYS_MODULE');
    if (process.arch === 'x64') {
      assert.ok(ok.has('arch_prctl'));
      assert.ok(!ok.has('s390_runtime_instr'));
    }
    // Only OCI fields survive (no "comment", "includes", containers' "errno").
    for (const r of sc.syscalls!) assert.deepEqual(Object.keys(r).filter((k) => !['names', 'action', 'errnoRet', 'args'].includes(k)), []);
  });

  it('enables rules whose capability the container has', async () => {
    const ok = allowed((await buildSpec(input({ capAdd: ['SYS_ADMIN'] }))).linux.seccomp);
    assert.ok(ok.has('bpf'));
  });

  it("the default file gets Docker's CAP_SYS_ADMIN gate: no namespaces or mounts without it, EPERM by default", async () => {
    const sc = (await buildSpec(input())).linux.seccomp!;
    assert.equal(sc.defaultErrnoRet, 1);
    const ok = allowed(sc);
    for (const n of ['unshare', 'setns', 'mount', 'umount2', 'clone3', 'sethostname']) assert.ok(!ok.has(n), `${n} without CAP_SYS_ADMIN`);
    // clone stays for fork and threads: allowed only with no namespace flag in its first argument.
    const clone = sc.syscalls!.filter((r) => r.names.includes('clone') && r.action === 'SCMP_ACT_ALLOW');
    assert.deepEqual(clone.map((r) => r.args), [[{ index: 0, value: 0x7e020000, op: 'SCMP_CMP_MASKED_EQ' }]]);
    assert.deepEqual(sc.syscalls!.find((r) => r.names.includes('clone3'))?.errnoRet, 38);
    const admin = allowed((await buildSpec(input({ capAdd: ['SYS_ADMIN'] }))).linux.seccomp);
    for (const n of ['unshare', 'setns', 'mount', 'umount2', 'clone', 'clone3']) assert.ok(admin.has(n), `${n} with CAP_SYS_ADMIN`);
  });

  it("Docker's own profile (seccomp=<json>): mount only with CAP_SYS_ADMIN", { skip: !haveMoby && 'no moby profile' }, async () => {
    const dflt = (await buildSpec(input({ securityOpt: [mobyProfileOpt()] }))).linux.seccomp!;
    assert.equal(dflt.defaultErrnoRet, 1);
    let ok = allowed(dflt);
    for (const n of ['mount', 'bpf', 'umount2', 'unshare', 'setns', 'reboot']) assert.ok(!ok.has(n), n);
    assert.ok(ok.has('ptrace'), 'ptrace allowed from kernel 4.8');
    const clone3 = dflt.syscalls!.find((r) => r.names.includes('clone3'));
    assert.deepEqual(clone3, { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 });
    const clone = dflt.syscalls!.find((r) => r.names.length === 1 && r.names[0] === 'clone');
    assert.equal(clone?.args?.[0].op, 'SCMP_CMP_MASKED_EQ');

    const admin = (await buildSpec(input({ securityOpt: [mobyProfileOpt()], capAdd: ['SYS_ADMIN'] }))).linux.seccomp!;
    ok = allowed(admin);
    for (const n of ['mount', 'bpf', 'umount2', 'unshare', 'setns', 'clone3']) assert.ok(ok.has(n), n);
    assert.ok(!admin.syscalls!.some((r) => r.action === 'SCMP_ACT_ERRNO' && r.names.includes('clone3')));
  });

  it('filters rules by arch and kernel version', { skip: !haveMoby && 'no moby profile' }, () => {
    const profile = parseProfile(readFileSync(MOBY_PROFILE, 'utf8'));
    const caps = [...DEFAULT_CAPABILITIES];
    const old = setupSeccomp(profile, { capabilities: caps, arch: 'amd64', kernelRelease: '4.4.0-generic' })!;
    assert.ok(!allowed(old).has('ptrace'), 'ptrace needs kernel >= 4.8');
    assert.ok(allowed(setupSeccomp(profile, { capabilities: caps, arch: 'amd64', kernelRelease: '4.8.0' })).has('ptrace'));
    const s390 = setupSeccomp(profile, { capabilities: caps, arch: 's390x', kernelRelease: '6.1' })!;
    assert.deepEqual(s390.architectures, ['SCMP_ARCH_S390X', 'SCMP_ARCH_S390']);
    assert.ok(allowed(s390).has('s390_runtime_instr'));
    assert.ok(!allowed(s390).has('arch_prctl'));
    // The s390 clone rule (argument 1) replaces the generic one (argument 0).
    const clone = s390.syscalls!.filter((r) => r.names.length === 1 && r.names[0] === 'clone');
    assert.deepEqual(clone.map((r) => r.args![0].index), [1]);
  });

  it('seccomp=unconfined turns it off; a bad profile is rejected', async () => {
    assert.equal((await buildSpec(input({ securityOpt: ['seccomp=unconfined'] }))).linux.seccomp, undefined);
    assert.ok((await buildSpec(input({ securityOpt: ['seccomp=builtin'] }))).linux.seccomp);
    await rejectsWith(buildSpec(input({ securityOpt: ['seccomp={nope'] })), 'invalid', /^Decoding seccomp profile failed/);
  });
});

describe('rlimits', () => {
  it('clamps to the daemon hard limit and keeps soft <= hard', async () => {
    const host = hostLimits.get('RLIMIT_NOFILE')!;
    const s = await buildSpec(
      input({
        ulimits: [
          { Name: 'nofile', Soft: 1024, Hard: 4_000_000_000 },
          { Name: 'nproc', Soft: 10, Hard: 20 },
        ],
      }),
    );
    const nofile = s.process.rlimits!.find((r) => r.type === 'RLIMIT_NOFILE')!;
    const expectedHard = host.hard < 4_000_000_000n ? Number(host.hard) : 4_000_000_000;
    assert.equal(nofile.hard, expectedHard);
    assert.equal(nofile.soft, Math.min(1024, expectedHard));
    assert.deepEqual(
      s.process.rlimits!.find((r) => r.type === 'RLIMIT_NPROC'),
      { type: 'RLIMIT_NPROC', soft: 10, hard: 20 },
    );
    // Soft above the clamped hard comes down with it.
    const big = await buildSpec(input({ ulimits: [{ Name: 'nofile', Soft: 3_000_000_000, Hard: 4_000_000_000 }] }));
    const r = big.process.rlimits![0];
    assert.ok(BigInt(r.soft) <= BigInt(r.hard) && BigInt(r.hard) <= host.hard);
  });

  it('writes unlimited as 2^64-1 where the host allows it', async () => {
    const s = await buildSpec(input({ ulimits: [{ Name: 'core', Soft: -1, Hard: -1 }] }));
    const core = s.process.rlimits![0];
    if (hostLimits.get('RLIMIT_CORE')!.hard === RLIM_INFINITY) {
      assert.equal(core.hard, RLIM_INFINITY);
      assert.match(specToJSON(s), /"soft":18446744073709551615,"hard":18446744073709551615/);
    }
    assert.doesNotThrow(() => JSON.parse(specToJSON(s)));
  });

  it('rejects unknown names and soft > hard', async () => {
    await rejectsWith(buildSpec(input({ ulimits: [{ Name: 'as', Soft: 1, Hard: 1 }] })), 'invalid', 'invalid ulimit type: as');
    await rejectsWith(
      buildSpec(input({ ulimits: [{ Name: 'nofile', Soft: 2, Hard: 1 }] })),
      'invalid',
      'ulimit soft limit must be less than or equal to hard limit: 2 > 1',
    );
  });
});

describe('mounts and paths', () => {
  it("has Docker's default mounts, masked and read-only paths", async () => {
    const s = await buildSpec(input());
    assert.deepEqual(
      s.mounts.map((m) => `${m.destination}:${m.type}`),
      ['/proc:proc', '/dev:tmpfs', '/dev/pts:devpts', '/sys:sysfs', '/sys/fs/cgroup:cgroup', '/dev/mqueue:mqueue', '/dev/shm:tmpfs'],
    );
    assert.deepEqual(s.mounts.find((m) => m.destination === '/dev/shm')!.options, [
      'nosuid',
      'noexec',
      'nodev',
      'mode=1777',
      'size=67108864',
    ]);
    assert.ok(s.mounts.find((m) => m.destination === '/sys')!.options!.includes('ro'));
    for (const p of ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/proc/sched_debug', '/sys/firmware', '/proc/acpi']) {
      assert.ok(s.linux.maskedPaths!.includes(p), p);
    }
    assert.deepEqual(s.linux.readonlyPaths, ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);
  });

  it('adds caller and tmpfs mounts, parents first, overriding defaults', async () => {
    const s = await buildSpec(
      input({
        shmSize: 1 << 20,
        mounts: [
          { source: '/srv/data/sub', destination: '/data/sub', options: ['rbind', 'ro'] },
          { source: '/var/lib/berth/c/hosts', destination: '/etc/hosts' },
          { source: '/srv/data', destination: '/data' },
        ],
        tmpfs: { '/run': 'rw,exec,size=64m', '/sys/fs/cgroup': '' },
      }),
    );
    const dests = s.mounts.map((m) => m.destination);
    assert.deepEqual(dests, ['/proc', '/dev', '/dev/pts', '/sys', '/dev/mqueue', '/dev/shm', '/data', '/run', '/data/sub', '/etc/hosts', '/sys/fs/cgroup']);
    assert.deepEqual(s.mounts.find((m) => m.destination === '/etc/hosts'), {
      destination: '/etc/hosts',
      type: 'bind',
      source: '/var/lib/berth/c/hosts',
      options: ['rbind', 'rprivate'],
    });
    assert.deepEqual(s.mounts.find((m) => m.destination === '/run'), {
      destination: '/run',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'nodev', 'rprivate', 'rw', 'exec', 'size=64m'],
    });
    assert.ok(s.mounts.find((m) => m.destination === '/dev/shm')!.options!.includes('size=1048576'));
    await rejectsWith(buildSpec(input({ tmpfs: { '/x': 'bogus=1' } })), 'invalid', 'invalid tmpfs option "bogus=1"');
    await rejectsWith(
      buildSpec(input({ mounts: [{ source: '/a', destination: '/x' }], tmpfs: { '/x': '' } })),
      'invalid',
      'Duplicate mount point: /x',
    );
  });

  it('a caller /dev drops every default under /dev', async () => {
    const s = await buildSpec(input({ mounts: [{ source: '/dev', destination: '/dev' }] }));
    assert.deepEqual(
      s.mounts.map((m) => m.destination),
      ['/proc', '/sys', '/sys/fs/cgroup', '/dev'],
    );
  });

  it('read-only rootfs sets root.readonly and read-only network files', async () => {
    const s = await buildSpec(input({ readonlyRootfs: true, mounts: [{ source: '/x/hosts', destination: '/etc/hosts' }] }));
    assert.deepEqual(s.root, { path: rootfs, readonly: true });
    assert.deepEqual(s.mounts.find((m) => m.destination === '/etc/hosts')!.options, ['rbind', 'ro', 'rprivate']);
    assert.ok(!s.mounts.find((m) => m.destination === '/dev/shm')!.options!.includes('ro'));
  });
});

describe('namespaces', () => {
  const types = (s: Spec) => s.linux.namespaces.map((n) => (n.path ? `${n.type}=${n.path}` : n.type));
  const cgroup2 = (() => {
    try {
      return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => / \/sys\/fs\/cgroup .* - cgroup2 /.test(l));
    } catch {
      return false;
    }
  })();

  it('creates mount, network, uts, pid, ipc (+cgroup on v2 only)', async () => {
    const s = await buildSpec(input());
    assert.deepEqual(types(s), ['mount', 'network', 'uts', 'pid', 'ipc', ...(cgroup2 ? ['cgroup'] : [])]);
  });

  it('joins a network namespace and shares host ones on request', async () => {
    const s = await buildSpec(
      input({ namespaces: { network: '/run/netns/x', pid: 'host', ipc: 'host', uts: 'host' } }),
    );
    assert.deepEqual(types(s), ['mount', 'network=/run/netns/x', ...(cgroup2 ? ['cgroup'] : [])]);
    assert.equal(s.hostname, undefined);
    assert.deepEqual(s.mounts.find((m) => m.destination === '/dev/shm'), {
      destination: '/dev/shm',
      type: 'bind',
      source: '/dev/shm',
      options: ['rbind', 'rprivate'],
    });
  });

  it('sets the NIS domain name through the kernel.domainname sysctl', async () => {
    const s = await buildSpec(input({ domainname: 'example.org' }));
    assert.deepEqual(s.linux.sysctl, { 'kernel.domainname': 'example.org' });
  });
});

describe('resources', () => {
  it('maps memory, cpu and pids like dockerd', async () => {
    const s = await buildSpec(
      input({
        resources: { memory: 64 << 20, cpuShares: 512, nanoCpus: 1.5e9, cpusetCpus: '0', pidsLimit: 100, oomKillDisable: true },
      }),
    );
    const r = s.linux.resources!;
    assert.equal(r.memory!.limit, 64 << 20);
    if (r.memory!.swap !== undefined) assert.equal(r.memory!.swap, 128 << 20); // twice the memory by default
    assert.deepEqual(r.cpu, { shares: 512, cpus: '0', period: 100000, quota: 150000 });
    assert.deepEqual(r.pids, { limit: 100 });
    assert.equal(r.devices![0].allow, false);
    const unlimited = await buildSpec(input({ resources: { pidsLimit: 0, cpuQuota: 50000, cpuPeriod: 100000 } }));
    assert.deepEqual(unlimited.linux.resources!.pids, { limit: -1 });
    assert.deepEqual(unlimited.linux.resources!.cpu, { period: 100000, quota: 50000 });
  });

  it('rejects what dockerd rejects', async () => {
    await rejectsWith(buildSpec(input({ resources: { memory: 1024 } })), 'invalid', 'Minimum memory limit allowed is 6MB');
    await rejectsWith(
      buildSpec(input({ resources: { nanoCpus: 1e9, cpuQuota: 1000 } })),
      'invalid',
      'Conflicting options: Nano CPUs and CPU Quota cannot both be set',
    );
    await rejectsWith(buildSpec(input({ resources: { nanoCpus: 1e15 } })), 'invalid', /^Range of CPUs is from 0.01 to/);
    await rejectsWith(
      buildSpec(input({ resources: { memory: 64 << 20, memorySwap: 32 << 20 } })),
      'invalid',
      /Minimum memoryswap limit/,
    );
  });
});

describe('specToJSON', () => {
  it('does not confuse strings that look like bigints', async () => {
    const s = await buildSpec(input({ env: ['X=__bigint_1__5'] }));
    assert.deepEqual(JSON.parse(specToJSON(s)).process.env.at(-1), 'X=__bigint_1__5');
  });
});
