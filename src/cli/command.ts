/**
 * Docker-style commands on top of commander: each command has docker's
 * "Use" line, checks its argument count with docker's messages (cobra's
 * cli.NoArgs/ExactArgs/RequiresMinArgs/…), and turns commander's flag errors
 * into docker's wording ("unknown flag: --x", "flag needs an argument: …",
 * `invalid argument "v" for "--f" flag: …`) with exit status 125.
 */
import type { Command, CommanderError, Option } from 'commander';
import { goQuote } from '../common/gofmt.js';
import { StatusError } from './errors.js';

export const BIN = 'berth';

export type ArgsRule = 'none' | { exact: number } | { min: number; max?: number } | { max: number };

export interface CommandSpec {
  name: string;
  aliases?: string[];
  /** docker's Use string, e.g. "run [OPTIONS] IMAGE [COMMAND] [ARG...]". */
  use: string;
  description: string;
  args: ArgsRule;
  /** Options after the first argument belong to it, as in `run IMAGE ls -l`. */
  passThrough?: boolean;
  /** -h is taken by a real flag (run/create's --hostname): only --help shows help. */
  noShortHelp?: boolean;
}

const useStrings = new WeakMap<Command, string>();
const passThroughCommands = new WeakSet<Command>();

/** A commander error raised while parsing `cmd`'s flags. */
export class FlagError extends Error {
  constructor(
    readonly error: CommanderError,
    readonly cmd: Command,
  ) {
    super(error.message);
    this.name = 'FlagError';
  }
}

/** "berth image ls". */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** cobra's UseLine: the parent's path and this command's Use string. */
export function useLine(cmd: Command): string {
  const use = useStrings.get(cmd) ?? (cmd.parent ? cmd.name() : `${cmd.name()} [OPTIONS] COMMAND [ARG...]`);
  return cmd.parent ? `${commandPath(cmd.parent)} ${use}` : use;
}

export function isPassThrough(cmd: Command): boolean {
  return passThroughCommands.has(cmd);
}

/** Settings every berth command shares: errors are ours to print. */
export function configureErrors(cmd: Command): Command {
  return cmd
    .showSuggestionAfterError(false)
    .helpCommand(false)
    .configureHelp({ subcommandTerm: (c) => [c.name(), ...c.aliases()].join(', ') })
    .configureOutput({ outputError: () => undefined })
    .exitOverride((err) => {
      throw new FlagError(err, cmd);
    });
}

/** A command group such as `berth image`; several modules may add to the same one. */
export function defineGroup(parent: Command, name: string, description: string): Command {
  const existing = parent.commands.find((c) => c.name() === name);
  if (existing) return existing;
  const group = configureErrors(parent.command(name).description(description).usage('COMMAND').helpOption('-h, --help', 'Print usage'));
  useStrings.set(group, name);
  return group;
}

/**
 * Adds a command whose action receives the positional arguments (checked
 * against spec.args) and the parsed options.
 */
export function defineCommand<O>(parent: Command, spec: CommandSpec, run: (args: string[], opts: O, cmd: Command) => Promise<void>): Command {
  const cmd = configureErrors(parent.command(spec.name));
  useStrings.set(cmd, spec.use);
  cmd
    .description(spec.description)
    .usage(spec.use.slice(spec.name.length).trim())
    .helpOption(spec.noShortHelp ? '--help' : '-h, --help', 'Print usage')
    .argument('[args...]')
    .allowExcessArguments(true);
  if (spec.aliases?.length) cmd.aliases(spec.aliases);
  if (spec.passThrough) {
    cmd.passThroughOptions();
    passThroughCommands.add(cmd);
  }
  cmd.action(async (args: string[], opts: O) => {
    checkArgs(cmd, spec.args, args);
    await run(args, opts, cmd);
  });
  return cmd;
}

function plural(n: number): string {
  return n === 1 ? 'argument' : 'arguments';
}

/** cobra's positional-argument validators, with docker/cli's messages (exit status 1). */
export function checkArgs(cmd: Command, rule: ArgsRule, args: string[]): void {
  const path = commandPath(cmd);
  const tail = (verb: string) => `\n\nUsage:  ${useLine(cmd)}\n\n${verb} '${path} --help' for more information`;
  const n = args.length;
  if (rule === 'none') {
    if (n > 0) throw new StatusError(1, `${BIN}: '${path}' accepts no arguments${tail('Run')}`);
    return;
  }
  if ('exact' in rule) {
    if (n !== rule.exact) throw new StatusError(1, `${BIN}: '${path}' requires ${rule.exact} ${plural(rule.exact)}${tail('Run')}`);
    return;
  }
  if ('min' in rule && rule.max !== undefined) {
    if (n < rule.min || n > rule.max) {
      throw new StatusError(1, `${BIN}: '${path}' requires at least ${rule.min} and at most ${rule.max} ${plural(rule.max)}${tail('Run')}`);
    }
    return;
  }
  if ('min' in rule) {
    // docker/cli says "See" here and "Run" elsewhere.
    if (n < rule.min) throw new StatusError(1, `${BIN}: '${path}' requires at least ${rule.min} ${plural(rule.min)}${tail('See')}`);
    return;
  }
  // docker/cli 28 prints "SRun" in this one message; kept so output matches.
  if (n > rule.max) throw new StatusError(1, `${BIN}: '${path}' requires at most ${rule.max} ${plural(rule.max)}${tail('SRun')}`);
}

/** "-m, --memory <bytes>" → "-m, --memory". */
function flagNames(flags: string): string {
  return flags.replace(/\s*[<[].*$/, '');
}

/**
 * A commander parse error as docker prints it, with its exit status:
 * flag errors exit 125, unknown commands 1, help and --version 0.
 */
export function describeFlagError(e: FlagError, argv: string[]): { status: number; message: string } {
  const { error, cmd } = e;
  const path = commandPath(cmd);
  const usage = `\n\nUsage:  ${useLine(cmd)}\n\nRun '${path} --help' for more information`;
  switch (error.code) {
    case 'commander.helpDisplayed':
    case 'commander.version':
    case 'commander.help':
      // `berth` or `berth image` alone prints the help (to stderr) and succeeds, like docker.
      return { status: 0, message: '' };
    case 'commander.unknownCommand': {
      const name = /'(.*)'/.exec(error.message)?.[1] ?? '';
      const groupUsage = cmd.parent ? `\n\nUsage:  ${useLine(cmd)}` : '';
      return { status: 1, message: `${BIN}: unknown command: ${path} ${name}${groupUsage}\n\nRun '${path} --help' for more information` };
    }
    case 'commander.unknownOption': {
      const token = /'(.*)'/.exec(error.message)?.[1] ?? '';
      if (token.startsWith('--')) return { status: 125, message: `unknown flag: ${token.split('=')[0]}${usage}` };
      // pflag names the rest of the cluster from the unknown letter on: "-iz" → "in -z".
      const ch = token.slice(1, 2);
      const original = argv.find((a) => /^-[^-]/.test(a) && a.slice(1).includes(ch)) ?? token;
      return { status: 125, message: `unknown shorthand flag: '${ch}' in -${original.slice(original.indexOf(ch, 1))}${usage}` };
    }
    case 'commander.optionMissingArgument': {
      const last = argv[argv.length - 1] ?? '';
      const flags = flagNames(/'(.*?)'/.exec(error.message)?.[1] ?? '');
      const long = /--[\w-]+/.exec(flags)?.[0];
      const msg = last.startsWith('--') || !last.startsWith('-')
        ? `flag needs an argument: ${long ?? last}`
        : `flag needs an argument: '${last.slice(-1)}' in -${last.slice(-1)}`;
      return { status: 125, message: `${msg}${usage}` };
    }
    case 'commander.invalidArgument': {
      const m = /^error: option '(.*?)' argument '([\s\S]*)' is invalid\. ([\s\S]*)$/.exec(error.message);
      if (m) return { status: 125, message: `invalid argument ${goQuote(m[2]!)} for ${goQuote(flagNames(m[1]!))} flag: ${m[3]}${usage}` };
      return { status: 125, message: `${error.message.replace(/^error: /, '')}${usage}` };
    }
    default:
      return { status: 125, message: `${error.message.replace(/^error: /, '')}${usage}` };
  }
}

/**
 * pflag accepts --flag=true/false for booleans; commander does not. Rewrites
 * them (false becomes the --no-flag form when there is one, else is dropped)
 * up to the first argument of a pass-through command, after which the
 * tokens belong to the container's command.
 */
export function normalizeBooleanFlags(root: Command, argv: string[]): string[] {
  const out: string[] = [];
  let cmd = root;
  let i = 0;
  const takesValue = (o: Option | undefined) => !!o && (o.required || o.optional);
  while (i < argv.length) {
    const tok = argv[i++]!;
    if (tok === '--') {
      out.push(tok, ...argv.slice(i));
      break;
    }
    if (tok.startsWith('--')) {
      const eq = tok.indexOf('=');
      const name = eq >= 0 ? tok.slice(0, eq) : tok;
      const opt = cmd.options.find((o) => o.long === name);
      if (opt && opt.isBoolean() && !opt.negate && eq >= 0) {
        const v = tok.slice(eq + 1);
        if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) {
          out.push(name);
          continue;
        }
        if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) {
          const negation = cmd.options.find((o) => o.negate && o.long === `--no-${name.slice(2)}`);
          if (negation?.long) out.push(negation.long);
          continue;
        }
      }
      out.push(tok);
      if (takesValue(opt) && eq < 0 && i < argv.length) out.push(argv[i++]!);
      continue;
    }
    if (tok.startsWith('-') && tok.length > 1) {
      out.push(tok);
      // In "-dit" or "-e", the first flag that takes a value takes the rest of the token or the next one.
      for (let k = 1; k < tok.length; k++) {
        const opt = cmd.options.find((o) => o.short === `-${tok[k]}`);
        if (!opt) break;
        if (takesValue(opt)) {
          if (k === tok.length - 1 && i < argv.length) out.push(argv[i++]!);
          break;
        }
      }
      continue;
    }
    out.push(tok);
    const sub = cmd.commands.find((c) => c.name() === tok || c.aliases().includes(tok));
    if (sub) {
      cmd = sub;
      continue;
    }
    if (isPassThrough(cmd)) {
      out.push(...argv.slice(i));
      break;
    }
  }
  return out;
}

