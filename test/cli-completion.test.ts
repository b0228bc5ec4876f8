/**
 * `berth completion bash|zsh|fish`: the bash script, loaded into a real bash
 * and driven the way readline drives it (COMP_WORDS, COMP_CWORD, then the
 * function `complete -p berth` names), offers commands, flags, and the names
 * of the daemon's containers, images, networks and volumes, through the
 * hidden `berth __complete` (docker's cobra protocol). berth is found on PATH
 * by its built path, as an installed bin would be.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { BERTH, berth, docker, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';

const execFileP = promisify(execFile);

let d: TestDaemon;
let tmp: string;
let script: string;

before(async () => {
  d = await startDaemonWithBusybox();
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'bt-completion-'));
  await fsp.mkdir(path.join(tmp, 'bin'));
  await fsp.symlink(BERTH, path.join(tmp, 'bin', 'berth'));
  const r = await berth(d, ['completion', 'bash']);
  assert.equal(r.code, 0, r.stderr);
  script = path.join(tmp, 'berth.bash');
  await fsp.writeFile(script, r.stdout);
  for (const args of [
    ['run', '-d', '--name', 'compl-web', 'busybox', 'sleep', '300'],
    ['create', '--name', 'compl-stopped', 'busybox', 'true'],
    ['volume', 'create', 'compl-vol'],
  ]) {
    const c = await docker(d, args);
    assert.equal(c.code, 0, c.stderr);
  }
});

after(async () => {
  await d?.cleanup();
  if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
});

/**
 * Splits a command line as readline does for COMP_WORDS: at blanks, and
 * around ':' and '=' (in bash's default COMP_WORDBREAKS).
 */
function readlineWords(line: string): string[] {
  const words: string[] = [];
  for (const token of line.split(/ +/)) {
    const parts = token.split(/([:=])/).filter((p) => p !== '');
    words.push(...(parts.length ? parts : ['']));
  }
  return words;
}

/** Runs the completion function on `line` (the cursor at its end) as bash would, and returns COMPREPLY. */
async function completeLine(line: string, host = d.host): Promise<string[]> {
  const words = readlineWords(line);
  const quote = (w: string) => `'${w.replace(/'/g, `'\\''`)}'`;
  const driver = [
    `source '${script}'`,
    // The function readline would call: whatever `complete -p berth` names.
    `fn=$(complete -p berth | sed -n 's/.*-F \\([^ ]*\\) .*/\\1/p')`,
    `COMP_WORDS=(${words.map(quote).join(' ')})`,
    `COMP_CWORD=${words.length - 1}`,
    `COMP_LINE=${quote(line)}`,
    `COMP_POINT=\${#COMP_LINE}`,
    `"$fn"`,
    `printf '%s\\n' "\${COMPREPLY[@]}"`,
  ].join('\n');
  const { stdout } = await execFileP('bash', ['-c', driver], {
    env: { ...process.env, PATH: `${path.join(tmp, 'bin')}:${process.env.PATH}`, BERTH_HOST: host, DOCKER_HOST: host },
  });
  return stdout.split('\n').filter(Boolean);
}

test('the bash script registers a completion function for berth', async () => {
  const { stdout } = await execFileP('bash', ['-c', `source '${script}'; complete -p berth`]);
  assert.equal(stdout.trim(), 'complete -F _berth_complete berth');
});

test('commands and subcommands', async () => {
  const top = await completeLine('berth st');
  for (const c of ['start', 'stop', 'stats']) assert.ok(top.includes(c), `${c} in ${top}`);
  assert.ok(!top.includes('__complete'));
  assert.deepEqual(await completeLine('berth volume l'), ['ls']);
});

test('flags of the command being typed', async () => {
  const flags = await completeLine('berth stop --');
  assert.ok(flags.includes('--timeout') && flags.includes('--signal'), flags.join(' '));
  assert.ok(!flags.includes('--detach'));
});

test('container names from the daemon, by state', async () => {
  const stop = await completeLine('berth stop ');
  assert.ok(stop.includes('compl-web'), stop.join(' '));
  assert.ok(!stop.includes('compl-stopped'));
  // A daemon named with -H on the line being completed is the one asked.
  assert.ok((await completeLine(`berth -H ${d.host} stop `, 'unix:///nonexistent.sock')).includes('compl-web'));
  assert.deepEqual(await completeLine('berth stop ', 'unix:///nonexistent.sock'), []);
  const start = await completeLine('berth start compl-');
  assert.deepEqual(start, ['compl-stopped']);
  const rm = await completeLine('berth container rm compl');
  assert.deepEqual(rm.sort(), ['compl-stopped', 'compl-web']);
  // After run's IMAGE the words are the container's command: nothing from the daemon.
  assert.deepEqual(await completeLine('berth exec compl-web ').then((r) => r.filter((n) => n.startsWith('compl-'))), []);
});

test('image names, also past the colon bash splits at', async () => {
  assert.ok((await completeLine('berth rmi ')).includes('busybox:latest'));
  // "busybox:la" reaches the function as three words (busybox, :, la); bash replaces only the last one.
  assert.deepEqual(await completeLine('berth run busybox:la'), ['latest']);
});

test('network and volume names, as arguments and as flag values', async () => {
  const nets = await completeLine('berth network inspect ');
  assert.ok(nets.includes('host') && nets.includes('none'), nets.join(' '));
  assert.deepEqual(await completeLine('berth run --network ho'), ['host']);
  // "--network=no" is three words too; bash replaces "no".
  assert.deepEqual(await completeLine('berth run --network=no'), ['none']);
  // A word that only follows a colon after a blank stays apart ("cp ctr: /tmp" is not "ctr:/tmp").
  assert.deepEqual(await completeLine('berth volume rm compl-vol: '), ['compl-vol']);
  assert.deepEqual(await completeLine('berth volume rm '), ['compl-vol']);
});

test('zsh and fish scripts are printed; an unknown shell is refused', async () => {
  const zsh = await berth(d, ['completion', 'zsh']);
  assert.match(zsh.stdout, /^#compdef berth/);
  assert.match(zsh.stdout, /__complete/);
  const fish = await berth(d, ['completion', 'fish']);
  assert.match(fish.stdout, /complete -c berth .*__berth_complete/);
  for (const [shell, text] of [['zsh', zsh.stdout], ['fish', fish.stdout]] as const) {
    // Syntax-checked where the shell is installed (not part of the test machine's packages).
    const found = await execFileP('sh', ['-c', `command -v ${shell}`]).then(() => true, () => false);
    if (!found) continue;
    const file = path.join(tmp, `berth.${shell}`);
    await fsp.writeFile(file, text);
    await execFileP(shell, ['-n', file]);
    if (shell === 'fish') {
      // fish completes a whole command line on request: the script asks the daemon as bash's does.
      const { stdout } = await execFileP('fish', ['-c', `source '${file}'; complete -C 'berth stop '`], {
        env: { ...process.env, PATH: `${path.join(tmp, 'bin')}:${process.env.PATH}`, BERTH_HOST: d.host },
      });
      assert.ok(stdout.split('\n').includes('compl-web'), stdout);
    }
  }
  const bad = await berth(d, ['completion', 'tcsh']);
  assert.equal(bad.code, 1);
});
