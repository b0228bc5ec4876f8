/**
 * Test harness: starts a real berthd on a temporary socket, data root and
 * exec root, and tears everything down afterwards — containers, mounts,
 * conmon processes and runc state — even when the test failed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fsp, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const execFileP = promisify(execFile);

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const BERTHD = path.join(ROOT, 'dist', 'src', 'daemon', 'main.js');
export const BERTH = path.join(ROOT, 'dist', 'bin', 'berth.js');
export const DOCKER = '/usr/local/bin/docker';

export interface TestDaemon {
  dir: string;
  socket: string;
  host: string;
  dataRoot: string;
  execRoot: string;
  pidfile: string;
  proc: ChildProcess;
  log(): Promise<string>;
  /** Stops berthd with a signal (default SIGTERM) and waits for it; containers keep running. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts berthd again on the same roots. */
  restart(): Promise<void>;
  /** Removes every container (killing conmon/runc), unmounts and deletes the temp dirs. */
  cleanup(): Promise<void>;
}

function ping(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request({ socketPath: socket, path: '/_ping', method: 'GET' }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

export async function startDaemon(extraArgs: string[] = [], o: { env?: Record<string, string> } = {}): Promise<TestDaemon> {
  // Short paths: conmon's attach socket path must fit in 108 bytes.
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bt-'));
  // mkdtemp makes it 0700; a --userns-remap daemon needs its remapped root to pass through (dockerd checks the same).
  await fsp.chmod(dir, 0o711);
  const socket = path.join(dir, 'b.sock');
  const dataRoot = path.join(dir, 'data');
  const execRoot = path.join(dir, 'run');
  const pidfile = path.join(dir, 'berthd.pid');
  const logFile = path.join(dir, 'berthd.log');
  // No default bridge unless a test asks for one (network tests bring their own bridge name and subnet).
  const network = extraArgs.some((a) => a === '--bridge' || a === '-b' || a.startsWith('--bridge=')) ? [] : ['--bridge', 'none'];
  const args = ['-H', `unix://${socket}`, '--data-root', dataRoot, '--exec-root', execRoot, '-p', pidfile, '-D', '--config-file', path.join(dir, 'none.json'), ...network, ...extraArgs];
  const d: TestDaemon = {
    dir, socket, host: `unix://${socket}`, dataRoot, execRoot, pidfile,
    proc: undefined as unknown as ChildProcess,
    log: () => fsp.readFile(logFile, 'utf8').catch(() => ''),
    async stop(signal = 'SIGTERM') {
      const p = d.proc;
      if (p.exitCode !== null || p.signalCode !== null) return;
      const exited = new Promise((r) => p.once('exit', r));
      p.kill(signal);
      await exited;
    },
    async restart() {
      await launch();
    },
    async cleanup() {
      await d.stop('SIGTERM').catch(() => undefined);
      await cleanupRoots(dataRoot, execRoot);
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
  const launch = async () => {
    const out = await fsp.open(logFile, 'a');
    // The V8 flags of berthd's shebang (src/daemon/main.ts): a larger young generation keeps commit's first run as fast as the next.
    d.proc = spawn(process.execPath, ['--max-semi-space-size=32', BERTHD, ...args], { stdio: ['ignore', out.fd, out.fd], ...(o.env ? { env: { ...process.env, ...o.env } } : {}) });
    await out.close();
    for (let i = 0; i < 200; i++) {
      if (d.proc.exitCode !== null) throw new Error(`berthd exited early:\n${await d.log()}`);
      if (await ping(socket)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`berthd did not answer /_ping:\n${await d.log()}`);
  };
  await fsp.writeFile(path.join(dir, 'none.json'), '{}');
  try {
    await launch();
  } catch (err) {
    await d.cleanup();
    throw err;
  }
  return d;
}

/** Kills whatever a daemon left under its roots: conmon processes, runc containers, mounts. */
export async function cleanupRoots(dataRoot: string, execRoot: string): Promise<void> {
  const runcRoot = path.join(execRoot, 'runc');
  if (existsSync(runcRoot)) {
    const list = await execFileP('runc', ['--root', runcRoot, 'list', '-q']).catch(() => ({ stdout: '' }));
    for (const id of list.stdout.split('\n').filter(Boolean)) {
      await execFileP('runc', ['--root', runcRoot, 'kill', '--all', id, 'KILL']).catch(() => undefined);
      await execFileP('runc', ['--root', runcRoot, 'delete', '--force', id]).catch(() => undefined);
    }
  }
  // conmon processes of this exec root.
  const bundles = path.join(execRoot, 'containers');
  for (const id of await fsp.readdir(bundles).catch(() => [] as string[])) {
    const pid = Number((await fsp.readFile(path.join(bundles, id, 'conmon.pid'), 'utf8').catch(() => '')).trim());
    if (pid > 0) {
      const cmdline = await fsp.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (cmdline.includes('conmon') && cmdline.includes(execRoot)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  }
  const mounts = (await fsp.readFile('/proc/self/mountinfo', 'utf8'))
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => !!m && (m.startsWith(dataRoot) || m.startsWith(execRoot)))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await execFileP('umount', ['-l', m]).catch(() => undefined);
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command with DOCKER_HOST / BERTH_HOST pointing at the daemon. */
export function runCli(cmd: string, args: string[], d: { host: string }, opts: { input?: string | Buffer; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: { ...process.env, DOCKER_HOST: d.host, BERTH_HOST: d.host, DOCKER_CONFIG: path.join(os.tmpdir(), 'bt-docker-config'), ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
    child.stdin.end(opts.input ?? '');
  });
}

export const docker = (d: { host: string }, args: string[], opts?: Parameters<typeof runCli>[3]) => runCli(DOCKER, args, d, opts);
// "--": Node 20 otherwise takes a `--env-file` meant for berth (run/exec) as its own option.
export const berth = (d: { host: string }, args: string[], opts?: Parameters<typeof runCli>[3]) => runCli(process.execPath, ['--', BERTH, ...args], d, opts);

/** A daemon with the busybox test image imported as `busybox` (the usual starting point of a test file). */
export async function startDaemonWithBusybox(extraArgs: string[] = [], o: { env?: Record<string, string> } = {}): Promise<TestDaemon> {
  const d = await startDaemon(extraArgs, o);
  const { busyboxRootfs } = await import('./rootfs.js');
  const { tar } = await busyboxRootfs();
  const r = await docker(d, ['import', tar, 'busybox']);
  if (r.code !== 0) {
    await d.cleanup();
    throw new Error(`importing busybox failed: ${r.stderr}`);
  }
  return d;
}
