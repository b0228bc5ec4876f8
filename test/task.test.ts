/**
 * Tasks without a daemon: the runtime and the task runner alone, as root, on
 * a busybox root filesystem — given as overlay mounts (what a build step gets
 * from the snapshotter) and as a mounted directory. Checks output, exit code,
 * stdin, kill, and that nothing of a run is left: no runc state, no bundle,
 * no conmon, no mount, no socket directory.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { promisify } from 'node:util';
import { ConmonRuntime } from '../src/engine/runtime/conmon.js';
import { TaskRunner, type Task } from '../src/engine/runtime/task.js';
import { buildSpec } from '../src/engine/runtime/spec/build.js';
import type { Mount } from '../src/engine/snapshot/snapshotter.js';
import { busyboxRootfs } from './helpers/rootfs.js';

const execFileP = promisify(execFile);

let dir: string;
let runtime: ConmonRuntime;
let tasks: TaskRunner;
let lower: string;

before(async () => {
  // Short paths: conmon's attach socket path must fit in 108 bytes.
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bt-task-'));
  runtime = new ConmonRuntime({ execRoot: path.join(dir, 'run') });
  await runtime.init();
  tasks = new TaskRunner(runtime, path.join(dir, 'run', 'tasks'));
  await tasks.init();
  lower = path.join((await busyboxRootfs()).dir, 'rootfs');
});

after(async () => {
  // Whatever a failed test left: tasks' runc state, mounts, then the temp dir.
  const runcRoot = path.join(dir, 'run', 'runc');
  for (const id of await fsp.readdir(runcRoot).catch(() => [] as string[])) {
    await execFileP('runc', [`--root=${runcRoot}`, 'delete', '--force', id]).catch(() => undefined);
  }
  const mounts = (await fsp.readFile('/proc/self/mountinfo', 'utf8')).split('\n').map((l) => l.split(' ')[4] ?? '');
  for (const m of mounts.filter((m) => m.startsWith(dir)).reverse()) await execFileP('umount', ['-l', m]).catch(() => undefined);
  await fsp.rm(dir, { recursive: true, force: true });
  await fsp.rmdir('/sys/fs/cgroup/berth-test').catch(() => undefined);
});

/** An overlay over the busybox rootfs, as mounts (the shape the snapshotter's prepare() returns). */
async function overlayMounts(name: string): Promise<Mount[]> {
  const upper = path.join(dir, name, 'upper');
  const work = path.join(dir, name, 'work');
  await fsp.mkdir(upper, { recursive: true });
  await fsp.mkdir(work, { recursive: true });
  return [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${lower}`, `upperdir=${upper}`, `workdir=${work}`] }];
}

async function spec(id: string, args: string[], readonlyRootfs = false) {
  return buildSpec({
    // Where the user is looked up; the task runner puts the task's rootfs in root.path.
    rootfs: lower,
    readonlyRootfs,
    args,
    env: ['PATH=/bin'],
    cwd: '/',
    user: '',
    hostname: 'task',
    tty: false,
    cgroupsPath: `/berth-test/${id}`,
  });
}

function collect(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (d: Buffer) => chunks.push(d));
  return { stream, text: () => Buffer.concat(chunks).toString() };
}

/** Nothing of the task is left: runc does not know it, no bundle, conmon gone, nothing mounted, no socket dir. */
async function assertGone(t: Task): Promise<void> {
  const runcRoot = path.join(dir, 'run', 'runc');
  const { stdout } = await execFileP('runc', [`--root=${runcRoot}`, 'list', '-q']);
  assert.ok(!stdout.split('\n').includes(t.id), `runc still lists ${t.id}`);
  assert.ok(!existsSync(path.join(runcRoot, t.id)), 'runc state directory left');
  assert.ok(!existsSync(path.join(tasks.taskRoot, t.id)), 'bundle left');
  assert.ok(t.monitorPid > 0, 'conmon PID known');
  assert.throws(() => process.kill(t.monitorPid, 0), /ESRCH/, 'conmon still alive');
  const mountinfo = await fsp.readFile('/proc/self/mountinfo', 'utf8');
  assert.ok(!mountinfo.includes(path.join(tasks.taskRoot, t.id)), 'rootfs still mounted');
  assert.deepEqual(await fsp.readdir(path.join(dir, 'run', 's')), [], 'attach socket directory left');
  assert.ok(!existsSync(`/sys/fs/cgroup/berth-test/${t.id}`), 'cgroup left');
}

test('a task on overlay mounts: output, exit code, and nothing left', async () => {
  const out = collect();
  const err = collect();
  const t = await tasks.run({
    id: 'task-one',
    rootfs: await overlayMounts('one'),
    spec: await spec('task-one', ['sh', '-c', 'echo hi; echo oops >&2; echo made > /made; exit 3']),
    stdout: out.stream,
    stderr: err.stream,
  });
  assert.ok(t.pid > 0);
  const { exitCode } = await t.wait();
  assert.equal(exitCode, 3);
  assert.equal(out.text(), 'hi\n');
  assert.equal(err.text(), 'oops\n');
  // The write landed in the upper directory, which is the caller's to keep (a build step commits it).
  assert.equal(await fsp.readFile(path.join(dir, 'one', 'upper', 'made'), 'utf8'), 'made\n');
  await assertGone(t);
});

test('a task on a mounted directory, with stdin', async () => {
  const out = collect();
  const t = await tasks.run({
    id: 'task-two',
    rootfs: lower,
    spec: await spec('task-two', ['sh', '-c', 'read a; read b; echo "$b $a"'], true),
    stdout: out.stream,
    stdin: Readable.from([Buffer.from('one\ntwo\n')]),
  });
  assert.equal((await t.wait()).exitCode, 0);
  assert.equal(out.text(), 'two one\n');
  await assertGone(t);
});

test('kill ends a task; the ID is free again afterwards', async () => {
  const t = await tasks.run({ id: 'task-three', rootfs: await overlayMounts('three'), spec: await spec('task-three', ['sleep', '60']) });
  await t.kill();
  assert.equal((await t.wait()).exitCode, 137);
  await assertGone(t);
  await t.kill(); // a no-op once ended
  const again = await tasks.run({ id: 'task-three', rootfs: await overlayMounts('three-b'), spec: await spec('task-three', ['true']) });
  assert.equal((await again.wait()).exitCode, 0);
  await assertGone(again);
});

test('a command that cannot run fails run() and leaves nothing', async () => {
  await assert.rejects(
    tasks.run({ id: 'task-four', rootfs: await overlayMounts('four'), spec: await spec('task-four', ['/no/such/binary']) }),
    /no such file or directory|not found/,
  );
  assert.ok(!existsSync(path.join(tasks.taskRoot, 'task-four')), 'bundle left');
  assert.ok(!existsSync(path.join(dir, 'run', 'runc', 'task-four')), 'runc state left');
});
