/**
 * Running host tools (runc, mount, umount, ...). Every failure names the
 * operation and carries the tool's own stderr, which is what a user needs to
 * see.
 */
import { spawn } from 'node:child_process';

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly result: RunResult,
  ) {
    super(`${command}: ${result.stderr.trim() || result.stdout.trim() || `exit status ${result.code}`}`);
    this.name = 'CommandError';
  }
}

/** Runs a command to completion; rejects with CommandError on a non-zero exit unless `allowFailure`. */
export function run(
  cmd: string,
  args: string[],
  opts: { input?: string | Buffer; allowFailure?: boolean; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const result = {
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
        code: code ?? (signal ? 128 : 1),
      };
      if (result.code !== 0 && !opts.allowFailure) reject(new CommandError(`${cmd} ${args[0] ?? ''}`.trim(), result));
      else resolve(result);
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}
