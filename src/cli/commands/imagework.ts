/**
 * Commands that move images and container filesystems around or look at
 * their past: `save`, `load`, `export`, `commit`, `diff`, `history`,
 * `image prune` — thin over the API, with docker v28's flags and output.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { access } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import type { Cli } from '../cli.js';
import { defineCommand, defineGroup } from '../command.js';
import { StatusError } from '../errors.js';
import { displayJsonMessages } from '../jsonmessage.js';
import { collect, goOpenError, parseFilter } from '../opts.js';
import type {
  FilesystemChange,
  Filters,
  IdResponse,
  ImageHistoryResponseItem,
  ImagePruneResponse,
} from '../../common/api/index.js';
import { createdAgo, ellipsis } from '../format/container.js';
import { formatWithTemplate } from '../format/template.js';
import { humanSizeWithPrecision, humanSize } from '../../common/units.js';

/** Where a tar goes: a file (-o) or stdout, which must not be a terminal (docker's rule). */
function tarSink(cli: Cli, output: string | undefined): Writable {
  if (output) return createWriteStream(output);
  // docker says "save" for export too.
  if (cli.out.isTTY) throw new StatusError(1, 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
  return cli.out;
}

/** docker's prune prompt: true when the user answers y/yes. */
export async function confirm(cli: Cli, warning: string): Promise<boolean> {
  cli.out.write(`${warning}\nAre you sure you want to continue? [y/N] `);
  const answer = await new Promise<string>((resolve) => {
    cli.in.once('data', (b: Buffer) => resolve(b.toString()));
    cli.in.once('end', () => resolve(''));
  });
  cli.in.pause();
  return /^y(es)?$/i.test(answer.trim());
}

async function runSave(cli: Cli, names: string[], o: { output?: string }): Promise<void> {
  const sink = tarSink(cli, o.output);
  const res = await cli.client.request('GET', '/images/get', { query: { names } });
  await pipeline(res, sink);
}

async function runLoad(cli: Cli, o: { input?: string; quiet?: boolean }): Promise<void> {
  let body: Readable;
  if (o.input) {
    await access(o.input).catch((err: unknown) => {
      throw new StatusError(1, goOpenError(o.input!, err));
    });
    body = createReadStream(o.input);
  } else {
    if (cli.in.isTTY) throw new StatusError(1, 'requested load from stdin, but stdin is empty');
    body = cli.in;
  }
  const res = await cli.client.request('POST', '/images/load', {
    // Progress bars only make sense on a terminal: like docker, ask for quiet output otherwise.
    query: { quiet: o.quiet || !cli.out.isTTY ? '1' : '0' },
    body,
    headers: { 'Content-Type': 'application/x-tar', 'Transfer-Encoding': 'chunked' },
  });
  await displayJsonMessages(res, cli.out);
}

async function runExport(cli: Cli, container: string, o: { output?: string }): Promise<void> {
  const sink = tarSink(cli, o.output);
  const res = await cli.client.request('GET', `/containers/${encodeURIComponent(container)}/export`);
  await pipeline(res, sink);
}

async function runCommit(cli: Cli, args: string[], o: { author?: string; message?: string; change?: string[]; pause: boolean }): Promise<void> {
  const [container, ref] = args as [string, string | undefined];
  let repo: string | undefined;
  let tag: string | undefined;
  if (ref) {
    const at = ref.lastIndexOf(':');
    if (at > ref.lastIndexOf('/')) {
      repo = ref.slice(0, at);
      tag = ref.slice(at + 1);
    } else repo = ref;
  }
  const r = await cli.client.json<IdResponse>('POST', '/commit', {
    query: { container, repo, tag, author: o.author ?? '', comment: o.message ?? '', changes: o.change?.length ? o.change : undefined, pause: o.pause ? '1' : '0' },
    body: Buffer.from('{}'),
    headers: { 'Content-Type': 'application/json' },
  });
  cli.out.write(`${r.Id}\n`);
}

async function runDiff(cli: Cli, container: string): Promise<void> {
  const changes = await cli.client.json<FilesystemChange[] | null>('GET', `/containers/${encodeURIComponent(container)}/changes`);
  const kinds = ['C', 'A', 'D'];
  for (const c of changes ?? []) cli.out.write(`${kinds[c.Kind] ?? '?'} ${c.Path}\n`);
}

async function runHistory(cli: Cli, image: string, o: { trunc: boolean; quiet?: boolean; human: boolean; format?: string }): Promise<void> {
  const rows = await cli.client.json<ImageHistoryResponseItem[]>('GET', `/images/${encodeURIComponent(image)}/history`);
  const now = new Date();
  const data = rows.map((h) => ({
    ID: h.Id === '<missing>' || !o.trunc ? h.Id : h.Id.replace(/^sha256:/, '').slice(0, 12),
    CreatedSince: o.human ? createdAgo(h.Created, now) : new Date(h.Created * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
    CreatedAt: new Date(h.Created * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
    CreatedBy: o.trunc ? ellipsis(h.CreatedBy.replace(/\t/g, ' '), 45) : h.CreatedBy.replace(/\t/g, ' '),
    Size: o.human ? humanSizeWithPrecision(h.Size, 3) : String(h.Size),
    Comment: h.Comment,
  }));
  const format = o.quiet ? '{{.ID}}' : o.format || 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}';
  cli.out.write(formatWithTemplate(format, data, { ID: 'IMAGE', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT' }));
}

async function runImagePrune(cli: Cli, o: { all?: boolean; force?: boolean; filter?: Filters }): Promise<void> {
  const warning = o.all
    ? 'WARNING! This will remove all images without at least one container associated to them.'
    : 'WARNING! This will remove all dangling images.';
  if (!o.force && !(await confirm(cli, warning))) return;
  const filters: Filters = { ...(o.filter ?? {}) };
  if (o.all) filters.dangling = ['false'];
  const r = await cli.client.json<ImagePruneResponse>('POST', '/images/prune', {
    query: { filters: JSON.stringify(filters) },
  });
  if (r.ImagesDeleted?.length) {
    cli.out.write('Deleted Images:\n');
    for (const d of r.ImagesDeleted) cli.out.write(d.Untagged ? `untagged: ${d.Untagged}\n` : `deleted: ${d.Deleted}\n`);
    cli.out.write('\n');
  }
  cli.out.write(`Total reclaimed space: ${humanSize(r.SpaceReclaimed)}\n`);
}

export function registerImageWorkCommands(program: Command, cli: Cli): void {
  const image = defineGroup(program, 'image', 'Manage images');
  const container = defineGroup(program, 'container', 'Manage containers');

  for (const parent of [program, image]) {
    defineCommand<{ output?: string }>(parent, { name: 'save', use: 'save [OPTIONS] IMAGE [IMAGE...]', description: 'Save one or more images to a tar archive (streamed to STDOUT by default)', args: { min: 1 } }, (args, o) => runSave(cli, args, o))
      .option('-o, --output <string>', 'Write to a file, instead of STDOUT');
    defineCommand<{ input?: string; quiet?: boolean }>(parent, { name: 'load', use: 'load [OPTIONS]', description: 'Load an image from a tar archive or STDIN', args: { max: 0 } }, (_args, o) => runLoad(cli, o))
      .option('-i, --input <string>', 'Read from tar archive file, instead of STDIN')
      .option('-q, --quiet', 'Suppress the load output');
    defineCommand<{ trunc: boolean; quiet?: boolean; human: boolean; format?: string }>(parent, { name: 'history', use: 'history [OPTIONS] IMAGE', description: 'Show the history of an image', args: { exact: 1 } }, (args, o) => runHistory(cli, args[0]!, o))
      .option('--no-trunc', "Don't truncate output")
      .option('-q, --quiet', 'Only show image IDs')
      .option('-H, --human [bool]', 'Print sizes and dates in human readable format', (v) => v !== 'false', true)
      .option('--format <string>', 'Format output using a custom template');
  }
  defineCommand<{ all?: boolean; force?: boolean; filter?: Filters }>(image, { name: 'prune', use: 'prune [OPTIONS]', description: 'Remove unused images', args: { max: 0 } }, (_args, o) => runImagePrune(cli, o))
    .option('-a, --all', 'Remove all unused images, not just dangling ones')
    .option('-f, --force', 'Do not prompt for confirmation')
    .option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', parseFilter);

  for (const parent of [program, container]) {
    defineCommand<{ output?: string }>(parent, { name: 'export', use: 'export [OPTIONS] CONTAINER', description: "Export a container's filesystem as a tar archive", args: { exact: 1 } }, (args, o) => runExport(cli, args[0]!, o))
      .option('-o, --output <string>', 'Write to a file, instead of STDOUT');
    defineCommand<{ author?: string; message?: string; change?: string[]; pause: boolean }>(parent, { name: 'commit', use: "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]", description: "Create a new image from a container's changes", args: { min: 1, max: 2 } }, (args, o) => runCommit(cli, args, o))
      .option('-a, --author <string>', 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")')
      .option('-c, --change <value>', 'Apply Dockerfile instruction to the created image', collect())
      .option('-m, --message <string>', 'Commit message')
      .option('-p, --pause [bool]', 'Pause container during commit', (v) => v !== 'false', true);
    defineCommand(parent, { name: 'diff', use: 'diff CONTAINER', description: "Inspect changes to files or directories on a container's filesystem", args: { exact: 1 } }, (args) => runDiff(cli, args[0]!));
  }
}
