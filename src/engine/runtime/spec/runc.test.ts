// Integration test: builds specs for a busybox rootfs, runs them with the
// real runc, and checks from inside the container what the kernel actually
// applied (capability masks, seccomp mode, rlimits, user). Needs root and runc.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readdir, rm, rmdir, symlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildSpec, specToJSON, type SpecInput } from './build.js';
import { parseProcLimits } from './rlimits.js';

const RUNC = '/usr/sbin/runc';
const BUSYBOX = '/bin/busybox';
const CGROUP_PARENT = 'berth-spec-test';
const MOBY_PROFILE = '/work/shared/reference/seccomp-default.json';

const skip =
  process.getuid?.() !== 0
    ? 'needs root'
    : !existsSync(RUNC)
      ? `no ${RUNC}`
      : !existsSync(BUSYBOX)
        ? `no ${BUSYBOX} (busybox-static)`
        : false;

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], timeoutMs = 30_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** "CapEff:\t00000000a80425fb" → { CapEff: "00000000a80425fb", ... } */
function statusFields(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_]+):\s*(.*)$/.exec(line);
    if (m) out[m[1]] = m[2].trim();
  }
  return out;
}

describe('runc runs the built spec', { skip }, () => {
  let work: string;
  let stateRoot: string;

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'berth-spec-runc-'));
    stateRoot = path.join(work, 'state');
    await mkdir(stateRoot);
  });

  after(async () => {
    await rm(work, { recursive: true, force: true });
    // runc delete removes each container's own cgroup; the shared parent is ours to remove.
    // rmdir only succeeds on an empty cgroup, so nothing else can be harmed.
    const roots = await readdir('/sys/fs/cgroup').catch(() => [] as string[]);
    for (const r of ['', ...roots]) {
      await rmdir(path.join('/sys/fs/cgroup', r, CGROUP_PARENT)).catch(() => undefined);
    }
  });

  async function makeBundle(): Promise<string> {
    const bundle = await mkdtemp(path.join(work, 'bundle-'));
    const rootfs = path.join(bundle, 'rootfs');
    await mkdir(path.join(rootfs, 'bin'), { recursive: true });
    await mkdir(path.join(rootfs, 'etc'));
    await copyFile(BUSYBOX, path.join(rootfs, 'bin/busybox'));
    await chmod(path.join(rootfs, 'bin/busybox'), 0o755);
    for (const applet of ['sh', 'cat', 'id', 'grep', 'hostname', 'unshare']) {
      await symlink('busybox', path.join(rootfs, 'bin', applet));
    }
    await writeFile(path.join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/:/bin/sh\n');
    await writeFile(path.join(rootfs, 'etc/group'), 'root:x:0:\nwheel:x:10:app\napp:x:1000:\n');
    return bundle;
  }

  /** Build, write config.json, `runc run`, and always `runc delete -f` + remove the bundle. */
  async function runContainer(over: Partial<SpecInput>, script: string): Promise<RunResult & { cgroup: string }> {
    const bundle = await makeBundle();
    const id = 'berth-spec-' + randomBytes(6).toString('hex');
    const cgroup = `/${CGROUP_PARENT}/${id}`;
    try {
      const spec = await buildSpec({
        rootfs: path.join(bundle, 'rootfs'),
        args: ['/bin/sh', '-c', script],
        env: [],
        cwd: '/',
        user: '',
        hostname: 'c0ffee',
        tty: false,
        cgroupsPath: cgroup,
        ...over,
      });
      await writeFile(path.join(bundle, 'config.json'), specToJSON(spec));
      const res = await run(RUNC, ['--root', stateRoot, 'run', '--bundle', bundle, id]);
      return { ...res, cgroup };
    } finally {
      await run(RUNC, ['--root', stateRoot, 'delete', '-f', id]).catch(() => undefined);
      await rm(bundle, { recursive: true, force: true });
    }
  }

  const SCRIPT = 'id; hostname; cat /proc/self/status; echo LIMITS; cat /proc/self/limits';

  it("default: Docker's 14 caps, seccomp filter on, clamped nofile", async () => {
    const res = await runContainer({ ulimits: [{ Name: 'nofile', Soft: 1048576, Hard: 1048576 }] }, SCRIPT);
    assert.equal(res.code, 0, `runc failed: ${res.stderr}`);
    const [before, limitsText] = res.stdout.split('LIMITS\n');
    const st = statusFields(before);
    assert.match(before, /^uid=0\(root\) gid=0\(root\)/);
    assert.match(before, /^c0ffee$/m);
    assert.equal(st.CapEff, '00000000a80425fb');
    assert.equal(st.CapPrm, '00000000a80425fb');
    assert.equal(st.CapBnd, '00000000a80425fb');
    assert.equal(st.CapInh, '0000000000000000');
    assert.equal(st.CapAmb, '0000000000000000');
    assert.equal(st.Seccomp, '2');
    assert.equal(st.NoNewPrivs, '0');
    const hostHard = parseProcLimits(readFileSync('/proc/self/limits', 'utf8')).get('RLIMIT_NOFILE')!.hard;
    const expected = hostHard < 1048576n ? hostHard : 1048576n;
    const inside = parseProcLimits(limitsText).get('RLIMIT_NOFILE')!;
    assert.deepEqual(inside, { soft: expected, hard: expected });
    // runc delete removed the container's cgroup (checked on a v1 controller or the v2 root).
    const leaf = ['memory', 'pids', ''].map((c) => path.join('/sys/fs/cgroup', c, res.cgroup));
    assert.ok(leaf.every((p) => !existsSync(p)), 'container cgroup left behind');
  });

  it('non-root user with no-new-privileges: groups resolved, caps only in the bounding set', async () => {
    const res = await runContainer({ user: 'app', securityOpt: ['no-new-privileges'] }, SCRIPT);
    assert.equal(res.code, 0, `runc failed: ${res.stderr}`);
    const st = statusFields(res.stdout.split('LIMITS\n')[0]);
    assert.match(res.stdout, /^uid=1000\(app\) gid=1000\(app\) /);
    // The kernel keeps supplementary groups sorted: primary 1000 plus wheel from /etc/group.
    assert.deepEqual(st.Groups.split(/\s+/).filter(Boolean), ['10', '1000']);
    assert.equal(st.CapEff, '0000000000000000');
    assert.equal(st.CapPrm, '0000000000000000');
    assert.equal(st.CapBnd, '00000000a80425fb');
    assert.equal(st.NoNewPrivs, '1');
    assert.equal(st.Seccomp, '2');
  });

  it('resources, read-only rootfs, tmpfs and domain name are accepted and applied', async () => {
    const script = [
      'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max',
      'cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max',
      'cat /proc/sys/kernel/domainname',
      'if echo x > /probe 2>/dev/null; then echo rootfs-writable; else echo rootfs-ro; fi',
      'echo x > /tmp/probe && cat /tmp/probe',
    ].join('; ');
    const res = await runContainer(
      {
        readonlyRootfs: true,
        tmpfs: { '/tmp': 'size=1m' },
        domainname: 'example.org',
        resources: { memory: 64 << 20, nanoCpus: 0.5e9, pidsLimit: 50, cpuShares: 512 },
      },
      script,
    );
    assert.equal(res.code, 0, `runc failed: ${res.stderr}`);
    assert.deepEqual(res.stdout.trim().split('\n'), [String(64 << 20), '50', 'example.org', 'rootfs-ro', 'x']);
  });

  it("seccomp filters by capability: Docker's profile blocks unshare(CLONE_NEWUSER) without CAP_SYS_ADMIN", {
    skip: !existsSync(MOBY_PROFILE) && 'no moby profile',
  }, async () => {
    // Creating a user namespace needs no capability, so only seccomp can refuse it.
    const script = 'if unshare -U true 2>/dev/null; then echo allowed; else echo blocked; fi';
    const profile = 'seccomp=' + readFileSync(MOBY_PROFILE, 'utf8');
    const plain = await runContainer({ securityOpt: [profile] }, script);
    assert.equal(plain.code, 0, `runc failed: ${plain.stderr}`);
    assert.equal(plain.stdout.trim(), 'blocked');
    const admin = await runContainer({ securityOpt: [profile], capAdd: ['SYS_ADMIN'] }, script);
    assert.equal(admin.code, 0, `runc failed: ${admin.stderr}`);
    assert.equal(admin.stdout.trim(), 'allowed');
  });

  it('privileged: every host capability, no seccomp', async () => {
    const res = await runContainer({ privileged: true }, SCRIPT);
    assert.equal(res.code, 0, `runc failed: ${res.stderr}`);
    const st = statusFields(res.stdout.split('LIMITS\n')[0]);
    const hostBnd = statusFields(readFileSync('/proc/self/status', 'utf8')).CapBnd;
    assert.equal(st.CapBnd, hostBnd);
    assert.equal(st.CapEff, hostBnd);
    assert.equal(st.Seccomp, '0');
  });
});
