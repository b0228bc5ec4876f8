/**
 * The paths package.json's `bin` names are runnable after `npm run build`:
 * executable, with their shebang, so `berth` and `berthd` work when run
 * directly (as npm's bin links run them) and not only through `node`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fsp, constants } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { BERTH, BERTHD, ROOT } from './helpers/daemon.js';

const execFileP = promisify(execFile);

test('package.json bin entries are the built, executable scripts', async () => {
  const pkg = JSON.parse(await fsp.readFile(path.join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  assert.equal(path.join(ROOT, pkg.bin.berth!), BERTH);
  assert.equal(path.join(ROOT, pkg.bin.berthd!), BERTHD);
  for (const p of [BERTH, BERTHD]) {
    await fsp.access(p, constants.X_OK);
    assert.match(await fsp.readFile(p, 'utf8'), /^#!\/usr\/bin\/env /);
  }
});

test('berth and berthd run when executed by path', async () => {
  const cli = await execFileP(BERTH, ['--version']);
  assert.match(cli.stdout, /version/i);
  const daemon = await execFileP(BERTHD, ['--help']);
  assert.match(daemon.stdout + daemon.stderr, /data-root/);
});
