/**
 * Image commands: `images` / `image ls`, `rmi` / `image rm`, `tag` /
 * `image tag`, `import` / `image import`.
 */
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { isNotFound } from '../../client/errors.js';
import { importImage, listImages, removeImage, tagImage } from '../../client/images.js';
import type { Filters } from '../../common/api/index.js';
import { parseNormalizedNamed, repositoryName } from '../../common/reference/reference.js';
import { formatWithTemplate } from '../format/template.js';
import type { Cli } from '../cli.js';
import { defineCommand, defineGroup } from '../command.js';
import { describeError, StatusError } from '../errors.js';
import { displayJsonMessages } from '../jsonmessage.js';
import { collect, goOpenError, parseFilter } from '../opts.js';
import { imageFormat, imageHeaders, imageRows, rowTemplateFuncs } from '../rows.js';
import { renderListFormat } from './containers.js';

interface ImagesOptions {
  all?: boolean;
  quiet?: boolean;
  trunc: boolean;
  digests?: boolean;
  format?: string;
  filter?: Filters;
}

async function runImages(cli: Cli, args: string[], o: ImagesOptions): Promise<void> {
  const filters: Filters = { ...(o.filter ?? {}) };
  if (args[0]) filters.reference = [...(filters.reference ?? []), args[0]];
  const images = await listImages(cli.client, { all: o.all, filters });
  const format = imageFormat(o.format || 'table', !!o.quiet, !!o.digests);
  const needDigest = !!o.digests || format.includes('{{.Digest}}');
  const now = new Date();
  const rows = images.flatMap((img) => imageRows(img, { trunc: o.trunc, showDigests: !!o.digests, needDigest }, now));
  cli.out.write(renderListFormat(() => formatWithTemplate(format, rows, imageHeaders, { funcs: rowTemplateFuncs, typeName: '*formatter.imageContext' })));
}

async function runRmi(cli: Cli, names: string[], o: { force?: boolean; prune: boolean }): Promise<void> {
  const errors: string[] = [];
  let fatal = false;
  for (const name of names) {
    try {
      for (const item of await removeImage(cli.client, name, { force: o.force, noPrune: !o.prune })) {
        cli.out.write(item.Deleted ? `Deleted: ${item.Deleted}\n` : `Untagged: ${item.Untagged}\n`);
      }
    } catch (err) {
      if (!isNotFound(err)) fatal = true;
      errors.push(describeError(err));
    }
  }
  if (!errors.length) return;
  // With -f, images that do not exist are reported but do not fail the command.
  if (!o.force || fatal) throw new StatusError(1, errors.join('\n'));
  cli.err.write(`${errors.join('\n')}\n`);
}

/** reference.ParseAnyReference: a full ID, a digest, or a (normalised) name. */
function checkAnyReference(s: string): void {
  if (/^(sha256:)?[a-f0-9]{64}$/.test(s)) return;
  parseNormalizedNamed(s);
}

async function runTag(cli: Cli, source: string, target: string): Promise<void> {
  try {
    checkAnyReference(source);
  } catch (err) {
    throw new StatusError(1, `Error parsing reference: ${JSON.stringify(source)} is not a valid repository/tag: ${(err as Error).message}`);
  }
  let ref;
  try {
    ref = parseNormalizedNamed(target);
  } catch (err) {
    throw new StatusError(1, `Error parsing reference: ${JSON.stringify(target)} is not a valid repository/tag: ${(err as Error).message}`);
  }
  if (ref.digest !== undefined) throw new StatusError(1, 'refusing to create a tag with a digest reference');
  await tagImage(cli.client, source, repositoryName(ref), ref.tag ?? 'latest');
}

async function runImport(cli: Cli, args: string[], o: { change?: string[]; message?: string; platform?: string }): Promise<void> {
  const [source, ref] = args as [string, string | undefined];
  if (ref) parseNormalizedNamed(ref);
  let body: Readable | undefined;
  let fromSrc = source;
  if (source === '-') {
    body = cli.in;
  } else if (!/^https?:\/\//.test(source)) {
    // Open it first so a missing file fails like docker's os.Open, before any request.
    await access(source).catch((err: unknown) => {
      throw new StatusError(1, goOpenError(source, err));
    });
    body = createReadStream(source);
    fromSrc = '-';
  }
  const res = await importImage(cli.client, { body, fromSrc, repo: ref, message: o.message, changes: o.change, platform: o.platform });
  await displayJsonMessages(res, cli.out);
}

export function registerImageCommands(program: Command, cli: Cli): void {
  const group = defineGroup(program, 'image', 'Manage images');

  const images = (parent: Command, name: string, aliases: string[]) =>
    defineCommand<ImagesOptions>(
      parent,
      { name, aliases, use: `${name} [OPTIONS] [REPOSITORY[:TAG]]`, description: 'List images', args: { max: 1 } },
      (args, o) => runImages(cli, args, o),
    )
      .option('-a, --all', 'Show all images (default hides intermediate images)')
      .option('--digests', 'Show digests')
      .option('-f, --filter <filter>', 'Filter output based on conditions provided', parseFilter)
      .option('--format <string>', 'Format output using a custom template')
      .option('--no-trunc', "Don't truncate output")
      .option('-q, --quiet', 'Only show image IDs');
  images(program, 'images', []);
  images(group, 'ls', ['list']);

  const rmi = (parent: Command, name: string, aliases: string[]) =>
    defineCommand<{ force?: boolean; prune: boolean }>(
      parent,
      { name, aliases, use: `${name} [OPTIONS] IMAGE [IMAGE...]`, description: 'Remove one or more images', args: { min: 1 } },
      (args, o) => runRmi(cli, args, o),
    )
      .option('-f, --force', 'Force removal of the image')
      .option('--no-prune', 'Do not delete untagged parents');
  rmi(program, 'rmi', []);
  rmi(group, 'rm', ['remove', 'rmi']);

  const tag = (parent: Command) =>
    defineCommand(
      parent,
      { name: 'tag', use: 'tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]', description: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE', args: { exact: 2 } },
      (args) => runTag(cli, args[0]!, args[1]!),
    );
  tag(program);
  tag(group);

  const imp = (parent: Command) =>
    defineCommand<{ change?: string[]; message?: string; platform?: string }>(
      parent,
      {
        name: 'import',
        use: 'import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]',
        description: 'Import the contents from a tarball to create a filesystem image',
        args: { min: 1 },
      },
      (args, o) => runImport(cli, args, o),
    )
      .option('-c, --change <value>', 'Apply Dockerfile instruction to the created image', collect())
      .option('-m, --message <string>', 'Set commit message for imported image')
      .option('--platform <string>', 'Set platform if server is multi-platform capable');
  imp(program);
  imp(group);
}
