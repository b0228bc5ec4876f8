/**
 * `berth build`: docker's legacy build client. The context (a directory,
 * a tarball on stdin, or only a Dockerfile on stdin) goes to POST /build as
 * a tar stream, `.dockerignore` applied, the Dockerfile added under a
 * random name when it lives outside the context or comes from stdin (`-f -`),
 * as the docker CLI does; the daemon's stream messages are printed as they
 * come, the image ID taken from the `aux` message (-q, --iidfile).
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import type { Command } from 'commander';
import tar from 'tar-stream';
import type { Cli } from '../cli.js';
import { defineCommand } from '../command.js';
import { StatusError } from '../errors.js';
import { collect } from '../opts.js';
import { readJsonMessages } from '../../client/streams.js';
import { JsonMessageError } from '../../client/errors.js';
import { humanSizeWithPrecision } from '../../common/units.js';
import { allCredentials } from '../credentials.js';
import { displayJsonMessages } from '../jsonmessage.js';
import { dockerignoreMatcher, parseDockerignore } from '../../common/dockerignore.js';

interface BuildOpts {
  tag?: string[];
  file?: string;
  buildArg?: string[];
  label?: string[];
  quiet?: boolean;
  rm: boolean;
  forceRm?: boolean;
  cache: boolean;
  target?: string;
  iidfile?: string;
  network?: string;
  platform?: string;
  cacheFrom?: string[];
  pull?: boolean;
}

async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A tar (plain or compressed) rather than a Dockerfile: the magic numbers docker's archive package checks. */
function isArchive(b: Buffer): boolean {
  if (b.length >= 262 && b.subarray(257, 262).toString('latin1') === 'ustar') return true;
  const magic = [Buffer.from([0x1f, 0x8b]), Buffer.from('BZh'), Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), Buffer.from([0x28, 0xb5, 0x2f, 0xfd])];
  return magic.some((m) => b.subarray(0, m.length).equals(m));
}

/** The context directory as a tar stream, .dockerignore applied (the Dockerfile and .dockerignore always go). */
function packDirectory(root: string, keep: Set<string>, extra?: { name: string; data: Buffer }): Readable {
  const pack = tar.pack();
  const out = new PassThrough();
  pack.pipe(out);
  void (async () => {
    const ignoreText = await fsp.readFile(path.join(root, '.dockerignore'), 'utf8').catch(() => '');
    const ignored = dockerignoreMatcher(ignoreText);
    const hasExceptions = parseDockerignore(ignoreText).some((p) => p.startsWith('!'));
    const add = (header: Partial<tar.Header> & { name: string }, body?: Readable | Buffer) =>
      new Promise<void>((resolve, reject) => {
        if (!body || Buffer.isBuffer(body)) {
          pack.entry(header as tar.Header, body ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve()));
          return;
        }
        const entry = pack.entry(header as tar.Header, (err) => (err ? reject(err) : resolve()));
        body.on('error', reject);
        body.pipe(entry);
      });
    const walk = async (rel: string): Promise<void> => {
      const names = (await fsp.readdir(path.join(root, rel))).sort();
      for (const n of names) {
        const r = rel ? `${rel}/${n}` : n;
        const abs = path.join(root, r);
        const st = await fsp.lstat(abs);
        const skip = !keep.has(r) && ignored(r);
        if (st.isDirectory()) {
          if (skip && !hasExceptions) continue;
          if (!skip) await add({ name: r, type: 'directory', mode: st.mode & 0o7777, mtime: st.mtime, uid: st.uid, gid: st.gid });
          await walk(r);
        } else if (skip) {
          continue;
        } else if (st.isSymbolicLink()) {
          await add({ name: r, type: 'symlink', linkname: await fsp.readlink(abs), mode: st.mode & 0o7777, mtime: st.mtime, uid: st.uid, gid: st.gid });
        } else if (st.isFile()) {
          await add({ name: r, type: 'file', size: st.size, mode: st.mode & 0o7777, mtime: st.mtime, uid: st.uid, gid: st.gid }, createReadStream(abs));
        }
      }
    };
    await walk('');
    if (extra) await add({ name: extra.name, type: 'file', size: extra.data.length, mode: 0o600, mtime: new Date() }, extra.data);
    pack.finalize();
  })().catch((err: unknown) => out.destroy(err as Error));
  return out;
}

function singleFileTar(name: string, data: Buffer): Readable {
  const pack = tar.pack();
  pack.entry({ name, type: 'file', size: data.length, mode: 0o600, mtime: new Date() }, data);
  pack.finalize();
  return pack as unknown as Readable;
}

async function runBuild(cli: Cli, contextArg: string, o: BuildOpts): Promise<void> {
  let body: Readable;
  let dockerfile = o.file;
  if (contextArg === '-') {
    if (o.file === '-') throw new StatusError(1, 'invalid argument: can\'t use stdin for both build context and dockerfile');
    const data = await readAll(cli.in);
    if (isArchive(data)) body = Readable.from([data]);
    else {
      dockerfile = 'Dockerfile';
      body = singleFileTar('Dockerfile', data);
    }
  } else {
    const root = path.resolve(contextArg);
    const st = await fsp.stat(root).catch(() => undefined);
    if (!st?.isDirectory()) throw new StatusError(1, `unable to prepare context: path "${contextArg}" not found`);
    let extra: { name: string; data: Buffer } | undefined;
    const keep = new Set(['.dockerignore']);
    if (o.file === '-') {
      extra = { name: `.dockerfile.${randomBytes(10).toString('hex')}`, data: await readAll(cli.in) };
      dockerfile = extra.name;
    } else {
      const df = path.resolve(o.file ? o.file : path.join(root, 'Dockerfile'));
      const rel = path.relative(root, df);
      if (rel.startsWith('..') || path.isAbsolute(rel)) {
        const data = await fsp.readFile(df).catch(() => undefined);
        if (!data) throw new StatusError(1, `unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${df}: no such file or directory`);
        extra = { name: `.dockerfile.${randomBytes(10).toString('hex')}`, data };
        dockerfile = extra.name;
      } else {
        if (!(await fsp.stat(df).catch(() => undefined))) throw new StatusError(1, `unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${df}: no such file or directory`);
        dockerfile = rel.split(path.sep).join('/');
        keep.add(dockerfile);
      }
    }
    body = packDirectory(root, keep, extra);
  }
  const buildArgs: Record<string, string | null> = {};
  for (const a of o.buildArg ?? []) {
    const i = a.indexOf('=');
    if (i < 0) buildArgs[a] = process.env[a] ?? null;
    else buildArgs[a.slice(0, i)] = a.slice(i + 1);
  }
  const labels: Record<string, string> = {};
  for (const l of o.label ?? []) {
    const i = l.indexOf('=');
    labels[i < 0 ? l : l.slice(0, i)] = i < 0 ? '' : l.slice(i + 1);
  }
  // Counted as it goes, for docker's "Sending build context" line.
  let sent = 0;
  const counted = body.pipe(
    new PassThrough({
      transform(chunk: Buffer, _enc, cb) {
        sent += chunk.length;
        cb(null, chunk);
      },
    }),
  );
  body.once('error', (err) => counted.destroy(err));
  const res = await cli.client.request('POST', '/build', {
    query: {
      t: o.tag?.length ? o.tag : undefined,
      dockerfile: dockerfile || undefined,
      q: o.quiet ? '1' : undefined,
      nocache: o.cache ? undefined : '1',
      rm: o.rm ? '1' : '0',
      forcerm: o.forceRm ? '1' : undefined,
      buildargs: Object.keys(buildArgs).length ? JSON.stringify(buildArgs) : undefined,
      labels: Object.keys(labels).length ? JSON.stringify(labels) : undefined,
      target: o.target || undefined,
      networkmode: o.network || undefined,
      platform: o.platform || undefined,
      cachefrom: o.cacheFrom?.length ? JSON.stringify(o.cacheFrom) : undefined,
      pull: o.pull ? '1' : undefined,
      version: '1',
    },
    body: counted,
    headers: {
      'Content-Type': 'application/x-tar',
      'Transfer-Encoding': 'chunked',
      // Every stored credential: FROM may pull from any registry.
      'X-Registry-Config': Buffer.from(JSON.stringify(await allCredentials())).toString('base64url'),
    },
  });
  if (!o.quiet) cli.out.write(`Sending build context to Docker daemon  ${humanSizeWithPrecision(sent, 4)}\n`);
  let imageId = '';
  let quietText = '';
  const onAux = (aux: unknown) => {
    const id = (aux as { ID?: string } | undefined)?.ID;
    if (id) imageId = id;
  };
  try {
    if (o.quiet) {
      await readJsonMessages(res, (m) => {
        if (m.stream !== undefined) quietText += m.stream;
        if (m.aux !== undefined) onAux(m.aux);
      });
    } else {
      // Step lines verbatim; a base image's pull as docker draws it (per-layer bars on a terminal).
      await displayJsonMessages(res, cli.out, { onAux });
    }
  } catch (err) {
    // The step's exit code is the CLI's, as docker's (at least 1).
    if (err instanceof JsonMessageError) throw new StatusError(err.code || 1, err.message);
    throw err;
  }
  // With -q the daemon's only output is the image ID.
  if (o.quiet) {
    cli.out.write(quietText);
    imageId ||= quietText.trim();
  }
  if (o.iidfile) {
    if (!imageId) throw new StatusError(1, 'Server did not provide an image ID. Cannot write --iidfile');
    await fsp.writeFile(o.iidfile, imageId, { mode: 0o666 });
  }
}

export function registerBuildCommands(program: Command, cli: Cli): void {
  const image = program.commands.find((c) => c.name() === 'image');
  for (const parent of image ? [program, image] : [program]) {
    defineCommand<BuildOpts>(parent, { name: 'build', use: 'build [OPTIONS] PATH | URL | -', description: 'Build an image from a Dockerfile', args: { exact: 1 } }, (args, o) => runBuild(cli, args[0]!, o))
      .option('-t, --tag <name:tag>', 'Name and optionally a tag in the "name:tag" format', collect())
      .option('-f, --file <string>', "Name of the Dockerfile (Default is 'PATH/Dockerfile')")
      .option('--build-arg <list>', 'Set build-time variables', collect())
      .option('--label <list>', 'Set metadata for an image', collect())
      .option('-q, --quiet', 'Suppress the build output and print image ID on success')
      .option('--rm [bool]', 'Remove intermediate containers after a successful build', (v) => v !== 'false', true)
      .option('--force-rm', 'Always remove intermediate containers')
      .option('--no-cache', 'Do not use cache when building the image')
      .option('--target <string>', 'Set the target build stage to build.')
      .option('--iidfile <string>', 'Write the image ID to the file')
      .option('--network <string>', 'Set the networking mode for the RUN instructions during build', 'default')
      .option('--platform <string>', 'Set platform if server is multi-platform capable')
      .option('--cache-from <strings>', 'Images to consider as cache sources', collect())
      .option('--pull', 'Always attempt to pull a newer version of the image');
  }
}
