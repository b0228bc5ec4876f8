/**
 * @module cli/completion/complete
 * The hidden `berth __complete ARGS… TOCOMPLETE` command behind shell
 * completion, as docker's cobra-based CLI does it: the shell script passes
 * the words typed so far, berth walks its own command tree (commander's) to
 * see what the last word is (a subcommand, a flag, a flag's value or a
 * positional argument) and asks the daemon for the names that fit. Output is
 * cobra's protocol, so the scripts stay small: one candidate per line
 * (`name<TAB>description`), then `:<directive>`.
 */
import type { Command, Option } from 'commander';
import type { Cli } from '../cli.js';
import { listContainers } from '../../client/containers.js';
import { listImages } from '../../client/images.js';
import type { ContainerSummary } from '../../common/api/container.js';
import type { Network } from '../../common/api/network.js';
import type { VolumeListResponse } from '../../common/api/volume.js';

/** cobra's ShellCompDirective bits. */
export const Directive = {
  default: 0,
  error: 1,
  noSpace: 2,
  noFileComp: 4,
} as const;

export interface Completion {
  candidates: string[];
  directive: number;
}

type Source = (cli: Cli) => Promise<string[]>;

/** Container names (not IDs), of all containers or running ones, filtered by state (docker/cli's completion.ContainerNames). */
function containers(all: boolean, keep: (c: ContainerSummary) => boolean = () => true): Source {
  return async (cli) => {
    const list = await listContainers(cli.client, { all });
    // Legacy link names ("/other/alias") are not containers of their own.
    return list.filter(keep).flatMap((c) => (c.Names ?? []).filter((n) => n.length > 1 && !n.slice(1).includes('/')).map((n) => n.replace(/^\//, '')));
  };
}

const images: Source = async (cli) => (await listImages(cli.client)).flatMap((i) => i.RepoTags ?? []).filter((t) => t !== '<none>:<none>');
const networks: Source = async (cli) => (await cli.client.json<Network[]>('GET', '/networks')).map((n) => n.Name);
const volumes: Source = async (cli) => ((await cli.client.json<VolumeListResponse>('GET', '/volumes')).Volumes ?? []).map((v) => v.Name);
const fixed = (values: string[]): Source => async () => values;

const running = containers(false);
const anyContainer = containers(true);
const SIGNALS = ['SIGHUP', 'SIGINT', 'SIGKILL', 'SIGQUIT', 'SIGTERM', 'SIGUSR1', 'SIGUSR2', 'SIGSTOP', 'SIGCONT', 'SIGWINCH'];

interface ArgsCompleter {
  /** Completes positional argument number `index` (0-based), or returns undefined when none fits. */
  (index: number): Source | undefined;
}
const every = (s: Source): ArgsCompleter => () => s;
const firstOnly = (s: Source): ArgsCompleter => (i) => (i === 0 ? s : undefined);
const merged = (...sources: Source[]): Source => async (cli) => (await Promise.all(sources.map((s) => s(cli)))).flat();

/**
 * What each command's positional arguments are, by command path (as docker/cli
 * registers ValidArgsFunction on each). Container verbs also exist under
 * `container …`, image verbs under `image …`.
 */
const CONTAINER_ARGS: Record<string, ArgsCompleter> = {
  attach: firstOnly(containers(false, (c) => c.State !== 'paused')),
  commit: firstOnly(running),
  diff: firstOnly(running),
  exec: firstOnly(containers(false, (c) => c.State !== 'paused')),
  export: firstOnly(anyContainer),
  inspect: every(anyContainer),
  kill: every(running),
  logs: firstOnly(anyContainer),
  pause: every(containers(false, (c) => c.State !== 'paused')),
  port: firstOnly(running),
  rename: firstOnly(anyContainer),
  restart: every(anyContainer),
  rm: every(anyContainer),
  start: every(containers(true, (c) => c.State !== 'running' && c.State !== 'paused')),
  stats: every(running),
  stop: every(running),
  top: firstOnly(running),
  unpause: every(containers(false, (c) => c.State === 'paused')),
  update: every(anyContainer),
  wait: every(running),
  run: firstOnly(images),
  create: firstOnly(images),
};

const IMAGE_ARGS: Record<string, ArgsCompleter> = {
  history: firstOnly(images),
  inspect: every(images),
  rm: every(images),
  save: every(images),
  push: firstOnly(images),
  tag: (i) => (i < 2 ? images : undefined),
  ls: firstOnly(images),
};

const ARGS: Record<string, ArgsCompleter> = {
  ...CONTAINER_ARGS,
  ...Object.fromEntries(Object.entries(CONTAINER_ARGS).map(([k, v]) => [`container ${k}`, v])),
  ...Object.fromEntries(Object.entries(IMAGE_ARGS).map(([k, v]) => [`image ${k}`, v])),
  rmi: IMAGE_ARGS.rm!,
  history: IMAGE_ARGS.history!,
  save: IMAGE_ARGS.save!,
  push: IMAGE_ARGS.push!,
  tag: IMAGE_ARGS.tag!,
  images: IMAGE_ARGS.ls!,
  // The top-level inspect takes any object.
  inspect: every(merged(anyContainer, images, networks, volumes)),
  'network inspect': every(networks),
  'network rm': every(networks),
  'network connect': (i) => (i === 0 ? networks : i === 1 ? anyContainer : undefined),
  'network disconnect': (i) => (i === 0 ? networks : i === 1 ? anyContainer : undefined),
  'volume inspect': every(volumes),
  'volume rm': every(volumes),
};

/** Values of flags, by long name (docker/cli's RegisterFlagCompletionFunc). */
const FLAG_VALUES: Record<string, Source> = {
  network: networks,
  net: networks,
  'volumes-from': anyContainer,
  volume: volumes,
  restart: fixed(['always', 'no', 'on-failure', 'unless-stopped']),
  signal: fixed(SIGNALS),
  'stop-signal': fixed(SIGNALS),
  attach: fixed(['stderr', 'stdin', 'stdout']),
  'log-driver': fixed(['json-file', 'local', 'none']),
};

function isHidden(cmd: Command): boolean {
  return cmd.name().startsWith('__') || (cmd as unknown as { _hidden?: boolean })._hidden === true;
}

function findSub(cmd: Command, word: string): Command | undefined {
  return cmd.commands.find((c) => !isHidden(c) && (c.name() === word || c.aliases().includes(word)));
}

function findOption(cmd: Command, flag: string): Option | undefined {
  const name = flag.split('=')[0]!;
  return cmd.options.find((o) => o.long === name || o.short === name);
}

const takesValue = (o: Option | undefined): boolean => !!o && (o.required || o.optional);

/** The path of `cmd` below the root ("container stop"). */
function pathOf(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function flagCandidates(cmd: Command, toComplete: string): string[] {
  const out: string[] = [];
  for (const o of cmd.options) {
    if (o.hidden) continue;
    const desc = o.description ? `\t${o.description}` : '';
    if (o.long) out.push(`${o.long}${desc}`);
    // Short flags only when nothing but "-" has been typed (cobra does the same).
    if (o.short && toComplete === '-') out.push(`${o.short}${desc}`);
  }
  out.push(`--help\tPrint usage`);
  return out;
}

/** Candidates for `args` (the words after `berth`, the last being the one to complete). */
export async function complete(root: Command, cli: Cli, args: string[]): Promise<Completion> {
  const toComplete = args.length > 0 ? args[args.length - 1]! : '';
  const done = args.slice(0, -1);
  let cmd = root;
  let positional = 0;
  let pendingFlag: Option | undefined;
  let afterArgs = false;
  for (const word of done) {
    if (pendingFlag) {
      // `berth -H tcp://… stop <TAB>` asks that daemon: the words were not parsed as berth's own flags.
      if (pendingFlag.long === '--host' && cmd === root) process.env.BERTH_HOST = word;
      pendingFlag = undefined;
      continue;
    }
    if (word === '--') {
      afterArgs = true;
      continue;
    }
    if (!afterArgs && word.startsWith('-') && word !== '-') {
      if (cmd === root && word.startsWith('--host=')) process.env.BERTH_HOST = word.slice('--host='.length);
      const o = findOption(cmd, word) ?? findOption(root, word);
      if (takesValue(o) && !word.includes('=') && !(o!.short === word.slice(0, 2) && word.length > 2 && !word.startsWith('--'))) pendingFlag = o;
      continue;
    }
    const sub = positional === 0 ? findSub(cmd, word) : undefined;
    if (sub) {
      cmd = sub;
      continue;
    }
    positional++;
    // Everything after run's IMAGE belongs to the container's command.
    if ((cmd.name() === 'run' || cmd.name() === 'create' || cmd.name() === 'exec') && positional >= 1) afterArgs = true;
  }

  const values = async (source: Source, prefix = ''): Promise<Completion> => ({
    candidates: (await source(cli)).map((v) => `${prefix}${v}`),
    directive: Directive.noFileComp,
  });

  // The value of a flag: "--network <TAB>" or "--network=<TAB>".
  if (pendingFlag) {
    const source = pendingFlag.long ? FLAG_VALUES[pendingFlag.long.slice(2)] : undefined;
    return source ? values(source) : { candidates: [], directive: Directive.default };
  }
  if (toComplete.startsWith('--') && toComplete.includes('=')) {
    const flag = toComplete.slice(0, toComplete.indexOf('=') + 1);
    const source = FLAG_VALUES[flag.slice(2, -1)];
    return source ? values(source, flag) : { candidates: [], directive: Directive.default };
  }
  if (toComplete.startsWith('-') && !afterArgs) {
    return { candidates: flagCandidates(cmd, toComplete), directive: Directive.noFileComp };
  }
  if (afterArgs) return { candidates: [], directive: Directive.default };

  const subs = cmd.commands.filter((c) => !isHidden(c));
  if (subs.length > 0 && positional === 0) {
    return { candidates: subs.map((c) => `${c.name()}\t${c.description()}`), directive: Directive.noFileComp };
  }
  const completer = ARGS[pathOf(cmd)] as ArgsCompleter | undefined;
  const source = completer?.(positional);
  if (source) return values(source);
  return { candidates: [], directive: completer ? Directive.noFileComp : Directive.default };
}

/** cobra's output: candidates, then the directive line. */
export function formatCompletion(c: Completion): string {
  return [...c.candidates, `:${c.directive}`].join('\n') + '\n';
}
