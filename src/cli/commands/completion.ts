/**
 * `berth completion bash|zsh|fish` (prints the shell's script) and the
 * hidden `berth __complete …` the scripts call, as docker's CLI has them.
 */
import type { Command } from 'commander';
import type { Cli } from '../cli.js';
import { defineCommand } from '../command.js';
import { StatusError } from '../errors.js';
import { complete, Directive, formatCompletion } from '../completion/complete.js';
import { SCRIPTS } from '../completion/scripts.js';

export function registerCompletionCommands(program: Command, cli: Cli): void {
  defineCommand(
    program,
    { name: 'completion', use: 'completion [bash|zsh|fish]', description: 'Generate the autocompletion script for the specified shell', args: { exact: 1 } },
    async ([shell]) => {
      const script = SCRIPTS[shell!];
      if (!script) throw new StatusError(1, `unsupported shell "${shell}": choose bash, zsh or fish`);
      cli.out.write(script);
    },
  );

  // Hidden, and parsed by hand: every word after it is the shell's, flags included.
  const hidden = program.command('__complete', { hidden: true }).allowUnknownOption(true).allowExcessArguments(true).helpOption(false).argument('[words...]');
  hidden.passThroughOptions();
  hidden.action(async (words: string[]) => {
    try {
      cli.out.write(formatCompletion(await complete(program, cli, words)));
    } catch {
      // The daemon may be down: no candidates, and the shell offers nothing (cobra's ShellCompDirectiveError).
      cli.out.write(formatCompletion({ candidates: [], directive: Directive.error }));
    }
  });
}
