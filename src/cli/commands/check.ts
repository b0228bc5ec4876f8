/**
 * `berth system check [--repair]`: the daemon's store check, printed as a
 * listing (or `--format json`, the API's report). With `--data-root` it runs
 * here, on a data root whose daemon is stopped (daemon/check.ts).
 * Exit status 1 while something is wrong and left unrepaired.
 */
import type { Command } from 'commander';
import { systemCheck } from '../../client/system.js';
import type { CheckReport } from '../../common/api/check.js';
import { checkOffline } from '../../daemon/check.js';
import { LockedError } from '../../daemon/lock.js';
import type { Cli } from '../cli.js';
import { defineCommand, defineGroup } from '../command.js';
import { StatusError } from '../errors.js';
import { tabwrite } from '../format/table.js';

interface CheckFlags {
  repair?: boolean;
  quick?: boolean;
  dataRoot?: string;
  execRoot?: string;
  bridge?: string;
  format?: string;
}

/** The human listing: what was looked at, one line per finding, and a summary. */
export function formatCheckReport(r: CheckReport): string {
  const counts = Object.entries(r.Checked)
    .map(([k, v]) => `${v} ${k.toLowerCase()}`)
    .join(', ');
  const lines = [`Checked ${counts || 'the data root'}${r.Full ? '' : ' (quick: blobs not hashed)'}.`];
  if (!r.Findings.length) return `${lines[0]}\nNo problems found.\n`;
  const rows = [['KIND', 'SUBJECT', 'PROBLEM', r.Repair ? 'REPAIR' : 'REPAIR WOULD']];
  for (const f of r.Findings) {
    const subject = /^sha256:[0-9a-f]{64}$/.test(f.Subject) ? f.Subject.slice(0, 19) : f.Subject;
    const done = !r.Repair ? (f.Action ?? '-') : f.Repaired === undefined ? '- (you: see the problem)' : f.Repaired ? `${f.Action}: done` : `${f.Action}: failed: ${f.Error}`;
    rows.push([f.Kind, subject, f.Message, done]);
  }
  lines.push(tabwrite(rows.map((row) => row.join('\t') + '\n').join('')).trimEnd());
  const left = r.Findings.filter((f) => !f.Repaired).length;
  const fixable = r.Findings.filter((f) => f.Action).length;
  lines.push(r.Repair ? `${r.Findings.length} found, ${r.Findings.length - left} repaired, ${left} left.` : `${r.Findings.length} found; --repair would fix ${fixable}.`);
  return lines.join('\n') + '\n';
}

async function runCheck(cli: Cli, o: CheckFlags): Promise<void> {
  const opts = { repair: !!o.repair, full: !o.quick };
  let report: CheckReport;
  if (o.dataRoot) {
    try {
      report = await checkOffline({ ...opts, dataRoot: o.dataRoot, execRoot: o.execRoot ?? '/run/berth', ...(o.bridge ? { bridge: o.bridge } : {}) });
    } catch (err) {
      if (err instanceof LockedError) throw new StatusError(1, `${err.message}: check it through the daemon (without --data-root), or stop it first`);
      throw err;
    }
  } else {
    report = await systemCheck(cli.client, opts);
  }
  cli.out.write(o.format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatCheckReport(report));
  if (report.Findings.some((f) => !f.Repaired)) throw new StatusError(1, '');
}

export function registerCheckCommand(program: Command, cli: Cli): void {
  defineCommand<CheckFlags>(
    defineGroup(program, 'system', 'Manage berth'),
    { name: 'check', use: 'check [OPTIONS]', description: 'Check the data root for corrupt, missing and leftover state (and repair it)', args: 'none' },
    (_args, o) => runCheck(cli, o),
  )
    .option('--repair', 'Fix what can be fixed without losing data (orphans removed, corrupt blobs quarantined, dead containers marked exited)')
    .option('--quick', 'Do not read and hash every blob')
    .option('--data-root <dir>', 'Check this data root directly (its daemon must be stopped)')
    .option('--exec-root <dir>', 'With --data-root: the daemon\'s exec root (default "/run/berth")')
    .option('--bridge <name>', 'With --data-root: the daemon\'s default bridge (default "berth0")')
    .option('--format <string>', '"json": print the report as JSON');
}
