/**
 * Crash injection: berthd SIGKILLs itself at a seeded random point inside an
 * operation — import, load, commit, build, pull (from a local
 * docker-registry), container create/start/rm, image delete and prune — at
 * one of the named sites where its stores make things durable
 * (src/util/crash.ts). After each restart the store check finds nothing
 * wrong (once the daemon's own start-up repair has run), and every object is
 * either fully there or fully gone: every image listed can be saved, the
 * operation's image can run, every container listed can be inspected and
 * removed.
 *
 * Each seed picks the operation (seed mod 10) and where in it to crash (a
 * random pass among the sites the operation passes, counted on its first
 * run). A failing seed prints itself; BERTH_CRASH_SEEDS=3,17 replays seeds,
 * BERTH_CRASH_RANDOM=N runs N fresh random seeds.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { docker, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';
import { busyboxRootfs } from './helpers/rootfs.js';
import { startRegistry, type TestRegistry } from './helpers/distribution-registry.js';
import type { CheckReport } from '../src/common/api/check.js';

const execFileP = promisify(execFile);

/**
 * The seeds CI runs: each of the ten operations twice. Seeds that found
 * bugs, now fixed: 6 (start killed after runc create: the process lived on
 * unknown to ps), 17 (rm killed between its snapshots and its record: a
 * container without its writable layer).
 */
const FIXED_SEEDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20];

function seeds(): number[] {
  if (process.env.BERTH_CRASH_SEEDS) return process.env.BERTH_CRASH_SEEDS.split(',').map((s) => Number(s.trim()));
  const n = Number(process.env.BERTH_CRASH_RANDOM ?? 0);
  if (n > 0) return Array.from({ length: n }, () => randomBytes(3).readUIntBE(0, 3));
  return FIXED_SEEDS;
}

/** mulberry32: a small seeded PRNG, so a seed replays the same crash point. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Op = 'import' | 'load' | 'commit' | 'build' | 'pull' | 'create' | 'start' | 'rm' | 'rmi' | 'prune';
const OPS: Op[] = ['import', 'load', 'commit', 'build', 'pull', 'create', 'start', 'rm', 'rmi', 'prune'];

let d: TestDaemon;
let reg: TestRegistry;
let work: string;
let control: string;
let busyboxTar: string;
let busyboxDir: string;

before(async () => {
  reg = await startRegistry();
  work = await fsp.mkdtemp('/tmp/bt-crash-');
  control = path.join(work, 'crash-control');
  d = await startDaemonWithBusybox([], { env: { BERTH_CRASH_CONTROL: control } });
  ({ tar: busyboxTar, dir: busyboxDir } = await busyboxRootfs());
});

after(async () => {
  await d?.cleanup();
  await reg?.cleanup();
  if (work) await fsp.rm(work, { recursive: true, force: true });
});

async function ok(args: string[], input?: string): Promise<string> {
  const r = await docker(d, args, input !== undefined ? { input } : {});
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

/**
 * An image with a layer of its own (so that pulling, loading or deleting it
 * moves blobs and snapshots), runnable: busybox's files and a unique one,
 * imported (cheaper than running and committing a container).
 */
async function uniqueImage(tag: string, seed: number): Promise<void> {
  const u = `${seed}-${randomBytes(4).toString('hex')}`;
  const extra = path.join(work, `u-${u}`);
  await fsp.mkdir(extra);
  await fsp.writeFile(path.join(extra, 'seed'), randomBytes(200_000));
  const tar = path.join(work, `u-${u}.tar`);
  await execFileP('tar', ['--numeric-owner', '-cf', tar, '-C', path.join(busyboxDir, 'rootfs'), '.', '-C', extra, '.']);
  await ok(['import', tar, tag]);
  await fsp.rm(extra, { recursive: true, force: true });
  await fsp.rm(tar, { force: true });
}

/** Sets up what `op` needs, unarmed; returns the operation as docker arguments and the image it makes or uses. */
async function prepare(op: Op, seed: number): Promise<{ args: string[]; image?: string }> {
  const u = `${seed}-${randomBytes(3).toString('hex')}`;
  switch (op) {
    case 'import':
      return { args: ['import', busyboxTar, `crash-import:${u}`], image: `crash-import:${u}` };
    case 'load': {
      await uniqueImage(`crash-load:${u}`, seed);
      const archive = path.join(work, `load-${u}.tar`);
      await ok(['save', '-o', archive, `crash-load:${u}`]);
      await ok(['rmi', `crash-load:${u}`]);
      return { args: ['load', '-q', '-i', archive], image: `crash-load:${u}` };
    }
    case 'commit':
      await ok(['run', '--name', `cm-${u}`, 'busybox', 'sh', '-c', 'echo changed > /changed; mkdir -p /d; touch /d/a /d/b']);
      return { args: ['commit', `cm-${u}`, `crash-commit:${u}`], image: `crash-commit:${u}` };
    case 'build': {
      const ctx = path.join(work, `ctx-${u}`);
      await fsp.mkdir(ctx);
      await fsp.writeFile(path.join(ctx, 'f'), `file ${u}\n`);
      await fsp.writeFile(path.join(ctx, 'Dockerfile'), `FROM busybox\nRUN echo ${u} > /built\nCOPY f /f\nENV SEED=${seed}\n`);
      return { args: ['build', '-q', '-t', `crash-build:${u}`, ctx], image: `crash-build:${u}` };
    }
    case 'pull': {
      const ref = `${reg.host}/crash/pull:${u}`;
      await uniqueImage(ref, seed);
      await ok(['push', ref]);
      await ok(['rmi', ref]);
      return { args: ['pull', '-q', ref], image: ref };
    }
    case 'create':
      return { args: ['create', '--name', `cc-${u}`, 'busybox', 'sleep', '300'] };
    case 'start':
      await ok(['create', '--name', `cs-${u}`, 'busybox', 'sleep', '300']);
      return { args: ['start', `cs-${u}`] };
    case 'rm':
      await ok(['run', '--name', `cr-${u}`, 'busybox', 'true']);
      return { args: ['rm', `cr-${u}`] };
    case 'rmi':
      await uniqueImage(`crash-rmi:${u}`, seed);
      return { args: ['rmi', `crash-rmi:${u}`] };
    case 'prune': {
      // Two dangling images with layers of their own.
      for (let i = 0; i < 2; i++) {
        await uniqueImage(`crash-prune:${u}-${i}`, seed);
        await ok(['rmi', '--no-prune', `crash-prune:${u}-${i}`]).catch(() => undefined);
      }
      await uniqueImage(`crash-prune:${u}-x`, seed);
      await ok(['tag', 'busybox', `crash-prune:${u}-x`]);
      return { args: ['image', 'prune', '-f'] };
    }
  }
}

/** Arms the daemon's crash point (0: count only) and waits until it has read the control file. */
async function arm(n: number): Promise<void> {
  await fsp.writeFile(control, `${n}\n`);
  await fsp.rm(`${control}.trace`, { force: true });
  d.proc.kill('SIGUSR2');
  for (let i = 0; i < 200; i++) {
    if ((await fsp.readFile(`${control}.trace`, 'utf8').catch(() => '')).startsWith(`armed ${n}`)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('the daemon did not arm its crash point');
}

async function trace(): Promise<string[]> {
  return (await fsp.readFile(`${control}.trace`, 'utf8').catch(() => '')).split('\n').filter((l) => /^\d+ /.test(l));
}

function apiCheck(): Promise<CheckReport> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: d.socket, path: '/berth/system/check', method: 'POST' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(Buffer.concat(chunks).toString())) : reject(new Error(Buffer.concat(chunks).toString()))));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The promises: the check is clean, every image is whole, every container can go. */
async function verify(image: string | undefined): Promise<string[]> {
  const problems: string[] = [];
  const report = await apiCheck();
  for (const f of report.Findings) problems.push(`check: ${f.Kind} ${f.Subject}: ${f.Message}`);
  const images = (await docker(d, ['images', '-q', '--no-trunc'])).stdout.split('\n').filter(Boolean);
  if (images.length) {
    const r = await docker(d, ['save', '-o', path.join(work, 'all.tar'), ...new Set(images)]);
    if (r.code !== 0) problems.push(`save of every image listed failed: ${r.stderr.trim()}`);
    await fsp.rm(path.join(work, 'all.tar'), { force: true });
  }
  if (image && (await docker(d, ['image', 'inspect', image])).code === 0) {
    const r = await docker(d, ['run', '--rm', image, 'true']);
    if (r.code !== 0) problems.push(`run of ${image} failed: ${r.stderr.trim()}`);
  }
  // No process lives on that the records do not know as running.
  const running = new Set((await docker(d, ['ps', '-q', '--no-trunc'])).stdout.split('\n').filter(Boolean));
  const runc = await execFileP('runc', ['--root', path.join(d.execRoot, 'runc'), 'list', '-q']).catch(() => ({ stdout: '' }));
  for (const id of runc.stdout.split('\n').filter(Boolean)) if (!running.has(id)) problems.push(`runc still has container ${id}, which is not running`);
  for (const id of (await docker(d, ['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean)) {
    const i = await docker(d, ['inspect', id]);
    if (i.code !== 0) problems.push(`inspect of container ${id} failed: ${i.stderr.trim()}`);
    const r = await docker(d, ['rm', '-f', id]);
    if (r.code !== 0) problems.push(`rm -f of container ${id} failed: ${r.stderr.trim()}`);
  }
  return problems;
}

const exited = (): Promise<void> => new Promise((r) => (d.proc.exitCode !== null || d.proc.signalCode !== null ? r() : d.proc.once('exit', () => r())));

test(`SIGKILL at seeded points inside every kind of operation leaves every store consistent`, async () => {
  const passes = new Map<Op, number>();
  const failures: string[] = [];
  let crashes = 0;
  for (const seed of seeds()) {
    const op = OPS[seed % OPS.length]!;
    const random = rng(seed);
    if (!passes.has(op)) {
      // First run of this kind: count its sites (and check after a clean run too).
      const { args } = await prepare(op, seed);
      await arm(0);
      await ok(args);
      passes.set(op, (await trace()).length);
      await arm(-1);
      const clean = await apiCheck();
      if (clean.Findings.length) failures.push(`${op} without a crash: ${JSON.stringify(clean.Findings)}`);
    }
    const total = passes.get(op)!;
    const n = 1 + Math.floor(random() * total);
    const { args, image } = await prepare(op, seed);
    await arm(n);
    const run = await docker(d, args);
    const passed = await trace();
    const crashed = passed.length >= n;
    const site = passed[n - 1]?.replace(/^\d+ /, '') ?? '(none)';
    let repaired = '';
    if (crashed) {
      crashes++;
      await exited();
      await d.restart();
      // What the daemon's start-up check repaired (legitimately interrupted work).
      const startup = (await d.log()).split('starting berthd').pop()!.split('\n').filter((l) => l.includes('start-up check'));
      repaired = startup.map((l) => /start-up check: (\S+)/.exec(l)?.[1]).join(' ');
    } else {
      assert.equal(run.code, 0, `seed ${seed}: ${op} failed without a crash: ${run.stderr}`);
      await arm(-1);
    }
    const problems = await verify(image);
    const what = `seed ${seed}: ${op}, crash at pass ${n} of ${total} (${crashed ? site : 'not reached'})${repaired ? `; start-up repaired: ${repaired}` : ''}`;
    process.stdout.write(`# ${what}${problems.length ? ' FAILED' : ''}\n`);
    if (problems.length) failures.push(`${what}:\n  ${problems.join('\n  ')}\n  replay: BERTH_CRASH_SEEDS=${seed}`);
  }
  assert.deepEqual(failures, [], failures.join('\n'));
  assert.ok(crashes >= Math.min(20, seeds().length - 4), `only ${crashes} crashes happened`);
});
