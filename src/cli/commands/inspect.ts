/**
 * `inspect` (any object: container, then image, network, volume, plugin),
 * `container inspect` and `image inspect`. Without --format the daemon's
 * JSON is printed as docker does (a 4-space-indented array of the raw
 * objects); with one, the Go template runs over each object.
 */
import type { Command } from 'commander';
import type { EngineClient } from '../../client/client.js';
import { pathSegment } from '../../client/client.js';
import { ApiError } from '../../client/errors.js';
import { inspectContainerRaw } from '../../client/containers.js';
import { inspectImageRaw } from '../../client/images.js';
import { renderTemplate, TemplateError } from '../format/template.js';
import type { Cli } from '../cli.js';
import { defineCommand, defineGroup } from '../command.js';
import { describeError, StatusError } from '../errors.js';
import { jsonCompact, jsonIndent } from '../jsonindent.js';

type Fetch = (ref: string) => Promise<Buffer>;

const OBJECT_TYPES = ['config', 'container', 'image', 'network', 'node', 'plugin', 'secret', 'service', 'task', 'volume'];

function fetcher(client: EngineClient, type: string, size: boolean): Fetch {
  switch (type) {
    case 'container':
      return async (ref) => (await inspectContainerRaw(client, ref, size)).raw;
    case 'image':
      return async (ref) => (await inspectImageRaw(client, ref)).raw;
    case 'plugin':
      return (ref) => client.raw('GET', `/plugins/${pathSegment(ref)}/json`);
    default:
      return (ref) => client.raw('GET', `/${type}s/${pathSegment(ref)}`);
  }
}

/** Errors that mean "not this kind of object", so the next kind is tried. */
function skippable(err: unknown): boolean {
  if (err instanceof ApiError && err.statusCode === 404) return true;
  const msg = err instanceof Error ? err.message : '';
  return msg.includes('not supported') || msg.includes('invalid reference format');
}

/** docker inspect without --type: the first kind that knows the name (swarm kinds skipped: berth has no swarm). */
function anyObject(client: EngineClient, size: boolean): Fetch {
  const kinds = ['container', 'image', 'network', 'volume', 'plugin'].map((t) => fetcher(client, t, size));
  return async (ref) => {
    for (const fetch of kinds) {
      try {
        return await fetch(ref);
      } catch (err) {
        if (!skippable(err)) throw err;
      }
    }
    throw new Error(`Error: No such object: ${ref}`);
  };
}

/**
 * Go's template executes over the typed object first and falls back to a
 * map with missingkey=error, so an unknown field reads "map has no entry".
 */
function templateMessage(err: TemplateError): string {
  return err.message.replace(/can't evaluate field (\S+) in type [^\s:]+/, 'map has no entry for key "$1"');
}

/** inspect.Inspect: prints what it could and fails (status 1) with every error, one per line. */
async function inspectRefs(cli: Cli, refs: string[], format: string | undefined, fetch: Fetch): Promise<void> {
  const templated = !!format && format !== 'json';
  if (templated) {
    try {
      renderTemplate(format, {});
    } catch (err) {
      // Only parse errors count here; executing against {} proves nothing.
      if (err instanceof TemplateError && !err.message.includes('executing')) throw new StatusError(64, `template parsing error: ${err.message}`);
    }
  }
  const raws: string[] = [];
  let text = '';
  const errors: string[] = [];
  for (const ref of refs) {
    let raw: string;
    try {
      raw = (await fetch(ref)).toString('utf8');
    } catch (err) {
      errors.push(describeError(err));
      continue;
    }
    if (!templated) {
      raws.push(raw);
      continue;
    }
    try {
      text += renderTemplate(format, JSON.parse(raw)) + '\n';
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      errors.push(`template parsing error: ${templateMessage(err)}`);
    }
  }
  if (templated) {
    cli.out.write(text || '\n');
  } else if (!raws.length) {
    cli.out.write('[]\n');
  } else {
    const array = `[${raws.join(',')}]`;
    cli.out.write((format === 'json' ? jsonCompact(array) : jsonIndent(array, '', '    ')) + '\n');
  }
  if (errors.length) throw new StatusError(1, errors.join('\n'));
}

interface InspectOptions {
  format?: string;
  size?: boolean;
  type?: string;
}

export function registerInspectCommands(program: Command, cli: Cli): void {
  defineCommand<InspectOptions>(
    program,
    { name: 'inspect', use: 'inspect [OPTIONS] NAME|ID [NAME|ID...]', description: 'Return low-level information on berth objects', args: { min: 1 } },
    async (refs, o) => {
      if (o.type && !OBJECT_TYPES.includes(o.type)) {
        throw new StatusError(1, `unknown type: ${JSON.stringify(o.type)}: must be one of ${OBJECT_TYPES.map((t) => JSON.stringify(t)).join(', ')}`);
      }
      const fetch = o.type ? fetcher(cli.client, o.type, !!o.size) : anyObject(cli.client, !!o.size);
      await inspectRefs(cli, refs, o.format, fetch);
    },
  )
    .option('-f, --format <string>', 'Format output using a custom template')
    .option('-s, --size', 'Display total file sizes if the type is container')
    .option('--type <string>', 'Only inspect objects of the given type');

  defineCommand<InspectOptions>(
    defineGroup(program, 'container', 'Manage containers'),
    { name: 'inspect', use: 'inspect [OPTIONS] CONTAINER [CONTAINER...]', description: 'Display detailed information on one or more containers', args: { min: 1 } },
    (refs, o) => inspectRefs(cli, refs, o.format, fetcher(cli.client, 'container', !!o.size)),
  )
    .option('-f, --format <string>', 'Format output using a custom template')
    .option('-s, --size', 'Display total file sizes');

  defineCommand<InspectOptions>(
    defineGroup(program, 'volume', 'Manage volumes'),
    { name: 'inspect', use: 'inspect [OPTIONS] VOLUME [VOLUME...]', description: 'Display detailed information on one or more volumes', args: { min: 1 } },
    (refs, o) => inspectRefs(cli, refs, o.format, fetcher(cli.client, 'volume', false)),
  ).option('-f, --format <string>', 'Format output using a custom template');

  defineCommand<InspectOptions>(
    defineGroup(program, 'network', 'Manage networks'),
    { name: 'inspect', use: 'inspect [OPTIONS] NETWORK [NETWORK...]', description: 'Display detailed information on one or more networks', args: { min: 1 } },
    (refs, o) => inspectRefs(cli, refs, o.format, fetcher(cli.client, 'network', false)),
  ).option('-f, --format <string>', 'Format output using a custom template');

  defineCommand<InspectOptions>(
    defineGroup(program, 'image', 'Manage images'),
    { name: 'inspect', use: 'inspect [OPTIONS] IMAGE [IMAGE...]', description: 'Display detailed information on one or more images', args: { min: 1 } },
    (refs, o) => inspectRefs(cli, refs, o.format, fetcher(cli.client, 'image', false)),
  ).option('-f, --format <string>', 'Format output using a custom template');
}
