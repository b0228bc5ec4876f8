/**
 * @module engine/layer/special
 * Batched helpers for the two filesystem operations Node has no API for:
 * creating device nodes and FIFOs (mknod) and setting extended attributes
 * (setxattr). Both run external tools, but once per layer rather than once
 * per file. Spawning is the expensive part, so each batch is one script.
 *
 * Runtime requirements (the project's install script must provide them):
 * - `mknod` from coreutils (always present on Debian);
 * - `setfattr` from Debian's `attr` package (`apt-get install -y attr`). It is
 *   only run when a layer actually has xattrs or opaque directories.
 *
 * All paths here are "byte strings" (latin1, one char per byte; see
 * tar-reader.ts) and are written to the tools' stdin as raw bytes.
 */

import { spawn } from 'node:child_process';

export interface MknodSpec {
  /** Absolute path (byte string). Its parent chain is known to be free of symlinks. */
  path: string;
  type: 'c' | 'b' | 'p';
  major: number;
  minor: number;
}

export interface XattrSpec {
  /** Absolute path (byte string). */
  path: string;
  /** Attribute name (byte string), e.g. `trusted.overlay.opaque`. */
  name: string;
  value: Buffer;
}

/** Above this many nodes, the mknod script is split across a few shells running in parallel. */
const MKNOD_PARALLEL_THRESHOLD = 64;
const MKNOD_MAX_SHELLS = 4;

function toolMissing(tool: string, pkg: string): Error {
  return new Error(`${tool} not found: install the Debian package '${pkg}'`);
}

/** Runs a command with `input` on stdin. Resolves with stderr and exit code; rejects only if it cannot be spawned. */
function run(cmd: string, args: string[], input: Buffer): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 64 * 1024) stderr += d;
    });
    // EPIPE if the tool exits early; its exit status and stderr tell the real story.
    child.stdin.on('error', () => {});
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
    child.stdin.end(input);
  });
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Creates device nodes / FIFOs with mode 0. The caller then chowns, chmods
 * and sets times, in that order, because chown clears setuid bits. `mknod -m`
 * refuses special bits anyway.
 */
export async function mknodBatch(specs: readonly MknodSpec[]): Promise<void> {
  if (specs.length === 0) return;
  const lines = specs.map((s) => {
    const dev = s.type === 'p' ? '' : ` ${s.major} ${s.minor}`;
    return `mknod -m 0 -- ${shellQuote(s.path)} ${s.type}${dev}\n`;
  });
  // coreutils mknod takes one name per call, so a shell script is the cheapest
  // batch. Large batches are split so the fork/exec cost runs on several cores.
  const shells =
    lines.length < MKNOD_PARALLEL_THRESHOLD ? 1 : Math.min(MKNOD_MAX_SHELLS, Math.ceil(lines.length / MKNOD_PARALLEL_THRESHOLD));
  const per = Math.ceil(lines.length / shells);
  const runs: Promise<{ code: number | null; stderr: string }>[] = [];
  for (let i = 0; i < lines.length; i += per) {
    const script = 'set -e\n' + lines.slice(i, i + per).join('');
    runs.push(run('/bin/sh', ['-s'], Buffer.from(script, 'latin1')));
  }
  const results = await Promise.all(runs);
  for (const r of results) {
    if (r.code !== 0) throw new Error(`mknod failed: ${r.stderr.trim() || `exit code ${r.code}`}`);
  }
}

/** Escapes bytes the way getfattr does, so setfattr's --restore parser undoes it (`\ooo` octal). */
function attrQuote(s: string, extra: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x5c || extra.includes(s[i]!)) {
      out += '\\' + c.toString(8).padStart(3, '0');
    } else {
      out += s[i];
    }
  }
  return out;
}

/**
 * Sets extended attributes with a single `setfattr -h --restore=-` run. `-h`
 * makes it lsetxattr, like Docker, so a symlink's own xattrs are set and its
 * target is never touched. EPERM is ignored, as in Docker (moby
 * pkg/archive: xattr errors with EPERM are only logged). Any other failure
 * is an error.
 */
export async function setXattrs(specs: readonly XattrSpec[]): Promise<void> {
  if (specs.length === 0) return;
  let dump = '';
  let last: string | null = null;
  for (const s of specs) {
    if (s.path !== last) {
      if (last !== null) dump += '\n';
      dump += `# file: ${attrQuote(s.path, '')}\n`;
      last = s.path;
    }
    dump += `${attrQuote(s.name, '=')}=0x${s.value.toString('hex')}\n`;
  }
  dump += '\n';
  let r: { code: number | null; stderr: string };
  try {
    r = await run('setfattr', ['-h', '--restore=-'], Buffer.from(dump, 'latin1'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw toolMissing('setfattr', 'attr');
    throw e;
  }
  if (r.code === 0) return;
  const errors = r.stderr
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.endsWith('Operation not permitted'));
  if (errors.length > 0 || r.stderr.trim() === '') {
    throw new Error(`setting xattrs failed: ${errors.join('; ') || `setfattr exit code ${r.code}`}`);
  }
}
