/**
 * Build test helpers: a context directory from a map of files, removed at
 * process exit.
 */
import { promises as fsp, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const made: string[] = [];
process.on('exit', () => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A temp directory holding `files` (path → content; a value `{ link }` makes a symlink, `{ mode }` sets one). */
export async function makeContext(files: Record<string, string | Buffer | { link: string } | { content: string; mode: number }>): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bt-ctx-'));
  made.push(dir);
  for (const [name, v] of Object.entries(files)) {
    const p = path.join(dir, name);
    await fsp.mkdir(path.dirname(p), { recursive: true });
    if (typeof v === 'string' || Buffer.isBuffer(v)) await fsp.writeFile(p, v);
    else if ('link' in v) await fsp.symlink(v.link, p);
    else {
      await fsp.writeFile(p, v.content);
      await fsp.chmod(p, v.mode);
    }
  }
  return dir;
}

/** The "Step n/m : …" and " ---> …" lines of a build's output, for step-by-step assertions. */
export function stepLines(out: string): string[] {
  return out.split('\n').filter((l) => /^Step \d+\/\d+ : | ---> /.test(l));
}
