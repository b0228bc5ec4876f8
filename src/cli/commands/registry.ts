/**
 * `berth pull`, `push`, `login`, `logout`, `search` (and `image pull|push`),
 * as the docker CLI v28 does them: the daemon does the registry work; the CLI
 * keeps the credentials (./credentials.ts), sends them in X-Registry-Auth,
 * and draws the daemon's JSON progress (per-layer bars on a terminal).
 */
import type { Command } from 'commander';
import { Writable } from 'node:stream';
import { pullImage, pushImage } from '../../client/images.js';
import { encodeFilters } from '../../client/client.js';
import type { Filters } from '../../common/api/index.js';
import { InvalidReferenceError, parseNormalizedNamed, referenceString, type Reference } from '../../common/reference/reference.js';
import type { Cli } from '../cli.js';
import { defineCommand, defineGroup } from '../command.js';
import { authHeaderFor, credentialKey, encodeAuth, eraseCredentials, getCredentials, INDEX_SERVER, storeCredentials, type AuthConfig } from '../credentials.js';
import { StatusError } from '../errors.js';
import { ellipsis } from '../format/container.js';
import { formatWithTemplate } from '../format/template.js';
import { displayJsonMessages } from '../jsonmessage.js';
import { parseFilter } from '../opts.js';
import { renderListFormat } from './containers.js';

function parseName(s: string): Reference {
  try {
    return parseNormalizedNamed(s);
  } catch (err) {
    if (err instanceof InvalidReferenceError) throw new StatusError(1, err.message);
    throw err;
  }
}

function discard(): Writable {
  return new Writable({ write: (_c, _e, cb) => cb() });
}

async function runPull(cli: Cli, name: string, o: { allTags?: boolean; platform?: string; quiet?: boolean }): Promise<void> {
  let ref = parseName(name);
  if (o.allTags && (ref.tag || ref.digest)) throw new StatusError(1, "tag can't be used with --all-tags/-a");
  if (!o.allTags && !ref.tag && !ref.digest) {
    ref = { ...ref, tag: 'latest' };
    if (!o.quiet) cli.out.write('Using default tag: latest\n');
  }
  const res = await pullImage(cli.client, {
    fromImage: `${ref.domain}/${ref.path}`,
    tag: ref.digest ?? ref.tag,
    platform: o.platform,
    auth: await authHeaderFor(name),
  });
  await displayJsonMessages(res, o.quiet ? discard() : cli.out);
  if (!o.allTags) cli.out.write(`${referenceString(ref)}\n`);
}

async function runPush(cli: Cli, name: string, o: { allTags?: boolean; quiet?: boolean }): Promise<void> {
  let ref = parseName(name);
  if (o.allTags && (ref.tag || ref.digest)) throw new StatusError(1, "tag can't be used with --all-tags/-a");
  if (!o.allTags && !ref.tag && !ref.digest) {
    ref = { ...ref, tag: 'latest' };
    if (!o.quiet) cli.out.write('Using default tag: latest\n');
  }
  const res = await pushImage(cli.client, { name: `${ref.domain}/${ref.path}`, tag: ref.tag, auth: await authHeaderFor(name) });
  await displayJsonMessages(res, o.quiet ? discard() : cli.out);
  if (o.quiet) cli.out.write(`${referenceString(ref)}\n`);
}

async function readStdin(cli: Cli): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of cli.in) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

async function runLogin(cli: Cli, server: string | undefined, o: { username?: string; password?: string; passwordStdin?: boolean }): Promise<void> {
  if (o.password !== undefined && o.passwordStdin) throw new StatusError(1, '--password and --password-stdin are mutually exclusive');
  let password = o.password;
  if (o.passwordStdin) {
    if (!o.username) throw new StatusError(1, 'Must provide --username with --password-stdin');
    password = (await readStdin(cli)).replace(/\r?\n$/, '').replace(/\r$/, '');
  } else if (password !== undefined) {
    cli.err.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  }
  const key = credentialKey(server ?? INDEX_SERVER);
  let creds: AuthConfig;
  if (o.username && password !== undefined) creds = { username: o.username, password, serveraddress: key };
  else {
    // No credentials given: the stored ones, if any (docker login with a saved login).
    const stored = await getCredentials(key);
    if (!stored.username && !stored.identitytoken) {
      if (!cli.in.isTTY) throw new StatusError(1, 'Error: Cannot perform an interactive login from a non TTY device');
      throw new StatusError(1, 'Error: interactive login is not supported by berth yet: use --username and --password-stdin');
    }
    creds = stored;
  }
  const r = await cli.client.json<{ Status: string; IdentityToken?: string }>('POST', '/auth', {
    body: Buffer.from(JSON.stringify(creds)),
    headers: { 'Content-Type': 'application/json' },
  });
  if (r.IdentityToken) {
    creds = { ...creds, password: '', identitytoken: r.IdentityToken };
  }
  await storeCredentials(creds);
  cli.out.write(`${r.Status || 'Login Succeeded'}\n`);
}

async function runLogout(cli: Cli, server: string | undefined): Promise<void> {
  const key = credentialKey(server ?? INDEX_SERVER);
  const had = await eraseCredentials(key);
  if (!had) {
    cli.out.write(`Not logged in to ${key}\n`);
    return;
  }
  cli.out.write(`Removing login credentials for ${key}\n`);
}

interface SearchRow {
  star_count: number;
  is_official: boolean;
  name: string;
  is_automated: boolean;
  description: string;
}

async function runSearch(cli: Cli, term: string, o: { limit?: string; filter?: Filters; trunc?: boolean; format?: string }): Promise<void> {
  const limit = o.limit !== undefined ? Number(o.limit) : undefined;
  if (limit !== undefined && !Number.isInteger(limit)) throw new StatusError(125, `invalid argument "${o.limit}" for "--limit" flag: strconv.ParseInt: parsing "${o.limit}": invalid syntax`);
  for (const v of o.filter?.['is-automated'] ?? []) {
    cli.err.write(`WARNING: the "is-automated" filter is deprecated, and searching for "is-automated=${v}" will not yield any results in future.\n`);
  }
  const results = await cli.client.json<SearchRow[]>('GET', '/images/search', {
    query: { term, limit: limit || undefined, filters: encodeFilters(o.filter) },
    headers: { 'X-Registry-Auth': encodeAuth(await getCredentials(term.includes('/') ? term.split('/')[0]! : INDEX_SERVER).catch(() => ({}))) },
  });
  const rows = results.map((r) => {
    const desc = r.description.replace(/\n/g, ' ');
    return {
      Name: r.name,
      Description: o.trunc === false ? desc : ellipsis(desc, 45),
      StarCount: String(r.star_count),
      IsOfficial: r.is_official ? '[OK]' : '',
    };
  });
  const table = 'table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}';
  const format = !o.format || o.format === 'table' ? table : o.format;
  const headers = { Name: 'NAME', Description: 'DESCRIPTION', StarCount: 'STARS', IsOfficial: 'OFFICIAL' };
  cli.out.write(renderListFormat(() => formatWithTemplate(format, rows, headers)));
}

export function registerRegistryCommands(program: Command, cli: Cli): void {
  const image = defineGroup(program, 'image', 'Manage images');
  for (const parent of [program, image]) {
    defineCommand<{ allTags?: boolean; platform?: string; quiet?: boolean }>(parent, { name: 'pull', use: 'pull [OPTIONS] NAME[:TAG|@DIGEST]', description: 'Download an image from a registry', args: { exact: 1 } }, (args, o) => runPull(cli, args[0]!, o))
      .option('-a, --all-tags', 'Download all tagged images in the repository')
      .option('--platform <string>', 'Set platform if server is multi-platform capable')
      .option('-q, --quiet', 'Suppress verbose output');
    defineCommand<{ allTags?: boolean; quiet?: boolean }>(parent, { name: 'push', use: 'push [OPTIONS] NAME[:TAG]', description: 'Upload an image to a registry', args: { exact: 1 } }, (args, o) => runPush(cli, args[0]!, o))
      .option('-a, --all-tags', 'Push all tags of an image to the repository')
      .option('-q, --quiet', 'Suppress verbose output');
  }
  defineCommand<{ username?: string; password?: string; passwordStdin?: boolean }>(program, { name: 'login', use: 'login [OPTIONS] [SERVER]', description: 'Authenticate to a registry', args: { max: 1 } }, (args, o) => runLogin(cli, args[0], o))
    .option('-u, --username <string>', 'Username')
    .option('-p, --password <string>', 'Password or Personal Access Token (PAT)')
    .option('--password-stdin', 'Take the Password or Personal Access Token (PAT) from stdin');
  defineCommand(program, { name: 'logout', use: 'logout [SERVER]', description: 'Log out from a registry', args: { max: 1 } }, (args) => runLogout(cli, args[0]));
  defineCommand<{ limit?: string; filter?: Filters; trunc?: boolean; format?: string }>(program, { name: 'search', use: 'search [OPTIONS] TERM', description: 'Search Docker Hub for images', args: { exact: 1 } }, (args, o) => runSearch(cli, args[0]!, o))
    .option('-f, --filter <filter>', 'Filter output based on conditions provided', parseFilter)
    .option('--format <string>', 'Pretty-print search using a Go template')
    .option('--limit <int>', 'Max number of search results')
    .option('--no-trunc', "Don't truncate output");
}
