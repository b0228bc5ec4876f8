/**
 * Test images without internet: a busybox rootfs from Debian's busybox-static,
 * packed as a tarball (optionally xz-compressed), made once per process.
 */
import { promises as fsp, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
let cached: Promise<{ dir: string; tar: string; tarXz: string }> | undefined;

/** Paths to busybox rootfs tarballs (plain and xz); removed at process exit. */
export function busyboxRootfs(): Promise<{ dir: string; tar: string; tarXz: string }> {
  cached ??= (async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bt-rootfs-'));
    const root = path.join(dir, 'rootfs');
    await fsp.mkdir(path.join(root, 'bin'), { recursive: true });
    for (const d of ['etc', 'tmp', 'root', 'proc', 'sys', 'dev', 'home']) await fsp.mkdir(path.join(root, d), { recursive: true });
    await fsp.chmod(path.join(root, 'tmp'), 0o1777);
    await fsp.copyFile('/bin/busybox', path.join(root, 'bin', 'busybox'));
    await fsp.chmod(path.join(root, 'bin', 'busybox'), 0o755);
    const { stdout } = await execFileP('/bin/busybox', ['--list']);
    for (const name of stdout.split('\n').filter((n) => n && n !== 'busybox')) {
      await fsp.symlink('busybox', path.join(root, 'bin', name));
    }
    await fsp.writeFile(path.join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n');
    await fsp.writeFile(path.join(root, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
    const tar = path.join(dir, 'rootfs.tar');
    await execFileP('tar', ['-C', root, '--numeric-owner', '-cf', tar, '.']);
    const tarXz = path.join(dir, 'rootfs.tar.xz');
    await execFileP('sh', ['-c', `xz -1 -T1 -c '${tar}' > '${tarXz}'`]);
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    return { dir, tar, tarXz };
  })();
  return cached;
}
