/**
 * `cp` (also `berth container cp`): files and directories between a
 * container and the host through the archive endpoints, with docker v28's
 * path rules (see ../cparchive.ts), its messages, `-` for a tar on
 * stdin/stdout, and "Successfully copied <size> to <dest>" on stderr when
 * stdout is a terminal.
 */
import { once } from 'node:events';
import { statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { getContainerArchive, hasModeBit, MODE_DEVICE, MODE_DIR, MODE_IRREGULAR, MODE_SYMLINK, putContainerArchive, statContainerPath } from '../../client/archive.js';
import type { PathStat } from '../../common/api/index.js';
import { imageSize } from '../../common/units.js';
import type { Cli } from '../cli.js';
import { defineCommand, defineGroup } from '../command.js';
import { StatusError } from '../errors.js';
import {
  ByteCounter,
  copyInfoDestinationPath,
  copyInfoSourcePath,
  getRebaseName,
  goClean,
  goDir,
  goJoin,
  pathError,
  prepareArchiveCopy,
  resolveLocalPath,
  splitPathDirEntry,
  tarResource,
  untar,
  type CopyInfo,
  type Rebase,
} from '../cparchive.js';

interface CpFlags {
  archive?: boolean;
  followLink?: boolean;
  quiet?: boolean;
}

interface CpConfig {
  container: string;
  srcPath: string;
  dstPath: string;
  followLink: boolean;
  copyUIDGID: boolean;
  quiet: boolean;
}

/**
 * splitCpArg: "CONTAINER:PATH", unless the argument is an absolute path or
 * starts with "." (so "./file:name" is local).
 */
export function splitCpArg(arg: string): { container: string; path: string } {
  if (arg.startsWith('/')) return { container: '', path: arg };
  const colon = arg.indexOf(':');
  if (colon < 0 || arg.startsWith('.')) return { container: '', path: arg };
  return { container: arg.slice(0, colon), path: arg.slice(colon + 1) };
}

/** ValidateOutputPathFileMode: only directories and regular files can be copied onto. */
function validateFileMode(isDevice: boolean, isIrregular: boolean): string | undefined {
  if (isDevice) return 'got a device';
  if (isIrregular) return 'got an irregular file';
  return undefined;
}

/** command.ValidateOutputPath for the host destination of a copy out of a container. */
function validateOutputPath(p: string): void {
  const dir = goDir(goClean(p));
  if (dir !== '.') {
    try {
      statSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new StatusError(1, `invalid output path: directory ${JSON.stringify(dir)} does not exist`);
    }
  }
  let st;
  try {
    st = statSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw pathError('stat', p, err);
  }
  if (st.isDirectory() || st.isFile()) return;
  const why = validateFileMode(st.isBlockDevice() || st.isCharacterDevice(), true);
  throw new StatusError(1, `invalid output path: ${JSON.stringify(p)} must be a directory or a regular file: ${why}`);
}

/** Copies to stdout, waiting when it is full. */
async function copyToStdout(cli: Cli, src: Readable): Promise<void> {
  for await (const chunk of src) {
    if (!cli.out.write(chunk as Buffer)) await once(cli.out, 'drain');
  }
}

function summary(cli: Cli, quiet: boolean, bytes: number, dest: string): void {
  // docker counts the tar bytes that went through, with go-units' 3 significant digits.
  if (!quiet) cli.err.write(`Successfully copied ${imageSize(bytes)} to ${dest}\n`);
}

async function copyFromContainer(cli: Cli, cfg: CpConfig): Promise<void> {
  const dst = cfg.dstPath === '-' ? '-' : resolveLocalPath(cfg.dstPath);
  validateOutputPath(dst);
  let src = cfg.srcPath;
  let rebaseTo: string | undefined;
  if (cfg.followLink) {
    // -L: a symlink source is replaced by its target, copied under the link's name.
    const st = await statContainerPath(cli.client, cfg.container, src).catch(() => undefined);
    if (st && hasModeBit(st.mode, MODE_SYMLINK)) {
      let target = st.linkTarget;
      if (!target.startsWith('/')) target = goJoin(splitPathDirEntry(src)[0], target);
      [src, rebaseTo] = getRebaseName(src, target);
    }
  }
  const { content, stat } = await getContainerArchive(cli.client, cfg.container, src);
  try {
    if (dst === '-') {
      await copyToStdout(cli, content);
      return;
    }
    const srcInfo: CopyInfo = { path: src, exists: true, isDir: hasModeBit(stat.mode, MODE_DIR), rebaseName: rebaseTo };
    const rebases: Rebase[] = rebaseTo ? [{ from: splitPathDirEntry(src)[1], to: rebaseTo }] : [];
    const counter = new ByteCounter();
    let failure: unknown;
    try {
      const dstInfo = await copyInfoDestinationPath(dst);
      const { dstDir, rebase } = prepareArchiveCopy(srcInfo, dstInfo);
      content.pipe(counter);
      await untar(counter, dstDir, rebase ? [...rebases, rebase] : rebases);
    } catch (err) {
      failure = err;
    }
    // Printed even when the copy failed, as docker does.
    summary(cli, cfg.quiet, counter.bytes, dst);
    if (failure) throw failure;
  } finally {
    content.destroy();
  }
}

async function statOrUndefined(cli: Cli, container: string, p: string): Promise<PathStat | undefined> {
  return statContainerPath(cli.client, container, p).catch(() => undefined);
}

async function copyToContainer(cli: Cli, cfg: CpConfig): Promise<void> {
  const src = cfg.srcPath === '-' ? '-' : resolveLocalPath(cfg.srcPath);
  const dstInfo: CopyInfo = { path: cfg.dstPath, exists: false, isDir: false };
  // A failed stat is no reason to stop: the parent may exist, and the upload will tell.
  let stat = await statOrUndefined(cli, cfg.container, cfg.dstPath);
  if (stat && hasModeBit(stat.mode, MODE_SYMLINK)) {
    let target = stat.linkTarget;
    if (!target.startsWith('/')) target = goJoin(splitPathDirEntry(cfg.dstPath)[0], target);
    dstInfo.path = target;
    stat = await statOrUndefined(cli, cfg.container, target);
  }
  const why = validateFileMode(!!stat && hasModeBit(stat.mode, MODE_DEVICE), !!stat && hasModeBit(stat.mode, MODE_IRREGULAR));
  if (why) throw new StatusError(1, `destination "${cfg.container}:${cfg.dstPath}" must be a directory or a regular file: ${why}`);
  if (stat) {
    dstInfo.exists = true;
    dstInfo.isDir = hasModeBit(stat.mode, MODE_DIR);
  }

  if (src === '-') {
    if (!dstInfo.isDir) throw new StatusError(1, `destination "${cfg.container}:${cfg.dstPath}" must be a directory`);
    await putContainerArchive(cli.client, cfg.container, dstInfo.path, cli.in, { copyUIDGID: cfg.copyUIDGID });
    // docker does not count what it reads from stdin.
    summary(cli, cfg.quiet, 0, `${cfg.container}:${dstInfo.path}`);
    return;
  }
  const srcInfo = await copyInfoSourcePath(src, cfg.followLink);
  const { dstDir, rebase } = prepareArchiveCopy(srcInfo, dstInfo);
  const tar = tarResource(srcInfo, rebase ? [rebase] : []);
  const counter = new ByteCounter();
  tar.once('error', (err) => counter.destroy(err));
  tar.pipe(counter);
  let failure: unknown;
  try {
    await putContainerArchive(cli.client, cfg.container, dstDir, counter, { copyUIDGID: cfg.copyUIDGID });
  } catch (err) {
    failure = err;
  } finally {
    tar.destroy();
  }
  summary(cli, cfg.quiet, counter.bytes, `${cfg.container}:${dstInfo.path}`);
  if (failure) throw failure;
}

async function runCp(cli: Cli, args: string[], o: CpFlags, quietGiven: boolean): Promise<void> {
  if (args[0] === '') throw new StatusError(1, 'source can not be empty');
  if (args[1] === '') throw new StatusError(1, 'destination can not be empty');
  const src = splitCpArg(args[0]!);
  const dst = splitCpArg(args[1]!);
  const cfg: CpConfig = {
    container: dst.container || src.container,
    srcPath: src.path,
    dstPath: dst.path,
    followLink: !!o.followLink,
    copyUIDGID: !!o.archive,
    // Without -q the summary is shown only to a terminal.
    quiet: quietGiven ? !!o.quiet : !cli.out.isTTY,
  };
  if (src.container && dst.container) throw new StatusError(1, 'copying between containers is not supported');
  if (src.container) return copyFromContainer(cli, cfg);
  if (dst.container) return copyToContainer(cli, cfg);
  throw new StatusError(1, 'must specify at least one container source');
}

export function registerCpCommands(program: Command, cli: Cli): void {
  const group = defineGroup(program, 'container', 'Manage containers');
  for (const parent of [program, group]) {
    const cmd: Command = defineCommand<CpFlags>(
      parent,
      {
        name: 'cp',
        use: 'cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH',
        description: 'Copy files/folders between a container and the local filesystem',
        args: { exact: 2 },
      },
      (args, o) => runCp(cli, args, o, cmd.getOptionValueSource('quiet') === 'cli'),
    )
      .option('-a, --archive', 'Archive mode (copy all uid/gid information)')
      .option('-L, --follow-link', 'Always follow symbol link in SRC_PATH')
      .option('-q, --quiet', 'Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached');
  }
}
