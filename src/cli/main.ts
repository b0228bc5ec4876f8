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
import { registerContainerCommands } from './commands/containers.js';
import { registerImageCommands } from './commands/images.js';
import { registerImageWorkCommands } from './commands/imagework.js';
import { registerContainerWorkCommands } from './commands/containerwork.js';
import { registerCpCommands } from './commands/cp.js';
import { registerInspectCommands } from './commands/inspect.js';
import { registerInteractCommands } from './commands/interact.js';
import { registerObserveCommands } from './commands/observe.js';
import { registerRunCommands } from './commands/run.js';
import { registerSystemCommands } from './commands/system.js';
import { registerCheckCommand } from './commands/check.js';
import { registerNetworkCommands } from './commands/networks.js';
import { registerVolumeCommands } from './commands/volumes.js';
import { registerCompletionCommands } from './commands/completion.js';
import { registerBuildCommands } from './commands/build.js';
import { registerRegistryCommands } from './commands/registry.js';
import { registerRegistryServerCommands } from './commands/registry-server.js';
import { collect } from './opts.js';
import { describeError, StatusError } from './errors.js';

function buildProgram(): { program: Command; cli: Cli } {
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
  registerRunCommands(program, cli);
  registerContainerCommands(program, cli);
  registerImageCommands(program, cli);
  registerImageWorkCommands(program, cli);
  registerContainerWorkCommands(program, cli);
  registerInspectCommands(program, cli);
  registerInteractCommands(program, cli);
  registerCpCommands(program, cli);
  registerObserveCommands(program, cli);
  registerSystemCommands(program, cli);
  registerCheckCommand(program, cli);
  registerNetworkCommands(program, cli);
  registerVolumeCommands(program, cli);
  registerCompletionCommands(program, cli);
  registerBuildCommands(program, cli);
  registerRegistryCommands(program, cli);
  registerRegistryServerCommands(program, cli);
  return { program, cli };
}

async function main(argv: string[]): Promise<number> {
  const { program, cli } = buildProgram();
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
