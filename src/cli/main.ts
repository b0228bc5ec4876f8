#!/usr/bin/env -S node --
/**
 * berth: the command-line client for berthd, flag- and output-compatible
 * with the docker CLI for the commands it implements. This file wires the
 * command groups together, parses argv, and turns errors into docker's
 * messages and exit statuses. The shebang's `--` stops Node 20 from taking
 * berth's own `--env-file` (run, exec) as a Node option.
 */
import { Command } from 'commander';
import { BERTH_VERSION } from '../common/version.js';
import { Cli, type GlobalOptions } from './cli.js';
import { configureErrors, describeFlagError, FlagError, normalizeBooleanFlags } from './command.js';
import { collect } from './opts.js';
import { describeError, StatusError } from './errors.js';

type Register = (program: Command, cli: Cli) => void;

/**
 * The command groups, loaded on demand. `berth registry serve` is a
 * long-running server: it loads only its own group, so its resident memory
 * is the registry's, not the whole client's (about 6 MB of modules).
 */
async function commandGroups(argv: string[]): Promise<Register[]> {
  if (argv[0] === 'registry') {
    return [(await import('./commands/registry-server.js')).registerRegistryServerCommands];
  }
  const m = await Promise.all([
    import('./commands/run.js'),
    import('./commands/containers.js'),
    import('./commands/images.js'),
    import('./commands/imagework.js'),
    import('./commands/disk.js'),
    import('./commands/containerwork.js'),
    import('./commands/inspect.js'),
    import('./commands/interact.js'),
    import('./commands/cp.js'),
    import('./commands/observe.js'),
    import('./commands/system.js'),
    import('./commands/check.js'),
    import('./commands/networks.js'),
    import('./commands/volumes.js'),
    import('./commands/completion.js'),
    import('./commands/build.js'),
    import('./commands/registry.js'),
    import('./commands/registry-server.js'),
  ]);
  const [run, containers, images, imagework, disk, containerwork, inspect, interact, cp, observe, system, check, networks, volumes, completion, build, registry, registryServer] = m;
  return [
    run.registerRunCommands, containers.registerContainerCommands, images.registerImageCommands, imagework.registerImageWorkCommands,
    disk.registerDiskCommands, containerwork.registerContainerWorkCommands, inspect.registerInspectCommands, interact.registerInteractCommands,
    cp.registerCpCommands, observe.registerObserveCommands, system.registerSystemCommands, check.registerCheckCommand, networks.registerNetworkCommands,
    volumes.registerVolumeCommands, completion.registerCompletionCommands, build.registerBuildCommands, registry.registerRegistryCommands,
    registryServer.registerRegistryServerCommands,
  ];
}

async function buildProgram(argv: string[]): Promise<{ program: Command; cli: Cli }> {
  const program = configureErrors(new Command('berth'));
  const cli = new Cli(() => program.opts<GlobalOptions>());
  program
    .usage('[OPTIONS] COMMAND [ARG...]')
    .description('A self-sufficient runtime for containers')
    .enablePositionalOptions()
    .helpOption('-h, --help', 'Print usage')
    .version(`berth version ${BERTH_VERSION}`, '-v, --version', 'Print version information and quit')
    .option('-H, --host <host>', 'Daemon socket to connect to', collect())
    .option('-D, --debug', 'Enable debug mode')
    .option('-l, --log-level <level>', 'Set the logging level ("debug", "info", "warn", "error", "fatal")');
  for (const register of await commandGroups(argv)) register(program, cli);
  return { program, cli };
}

async function main(argv: string[]): Promise<number> {
  const { program, cli } = await buildProgram(argv);
  // The words after __complete are the shell's, to be read as typed.
  const args = argv[0] === '__complete' ? argv : normalizeBooleanFlags(program, argv);
  try {
    await program.parseAsync(args, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof FlagError) {
      const { status, message } = describeFlagError(err, args);
      if (message) process.stderr.write(`${message}\n`);
      return status;
    }
    if (err instanceof StatusError) {
      if (err.message) process.stderr.write(`${err.message}\n`);
      return err.status;
    }
    process.stderr.write(`${describeError(err)}\n`);
    return 1;
  } finally {
    cli.close();
  }
}

// Exit explicitly: stdin or a dropped wait request must not keep the process alive.
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${describeError(err)}\n`);
    process.exit(1);
  },
);
