/**
 * The berth CLI against a real berthd, checked against the real docker CLI
 * talking to the same daemon: listings, inspect, rmi, run's exit codes and
 * streams, logs, start -a, wait, rm -f, import.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { berth, docker, startDaemon, type RunResult, type TestDaemon } from './helpers/daemon.js';
import { busyboxRootfs } from './helpers/rootfs.js';

// A run that hangs must not stall the suite for the harness's full minute.
const RUN = { timeoutMs: 20_000 };

/** docker's output as berth words it: same text, our program name. */
function asBerth(s: string): string {
  return s.replace(/docker/g, 'berth');
}

/** Time columns move between two invocations; so do the column widths they imply. */
function normalizeTimes(s: string): string {
  return s
    .replace(/(Less than a second|About a minute|About an hour|\d+ (?:seconds?|minutes?|hours?)) ago/g, 'T ago')
    .replace(/Up (Less than a second|About a minute|About an hour|\d+ (?:seconds?|minutes?|hours?))/g, 'Up T')
    .replace(/ {2,}/g, '  ');
}

function same(b: RunResult, d: RunResult, what: string): void {
  assert.equal(b.code, d.code, `${what}: exit code (berth stderr: ${b.stderr})`);
  assert.equal(b.stdout, d.stdout, `${what}: stdout`);
  assert.equal(b.stderr, asBerth(d.stderr), `${what}: stderr`);
}

let d: TestDaemon;
let imported: RunResult;

before(async () => {
  const rootfs = await busyboxRootfs();
  d = await startDaemon();
  imported = await berth(d, ['import', '-c', 'CMD ["sh"]', rootfs.tar, 'busybox']);
  // a dangling image, for the <none> <none> row
  await berth(d, ['import', rootfs.tar]);
});

after(async () => {
  await d?.cleanup();
});

describe('listings and inspect match docker', () => {
  before(async () => {
    await berth(d, ['create', '--name', 'pc1', '-l', 'a=b', 'busybox']);
    await berth(d, ['run', '--name', 'pe', 'busybox', 'sh', '-c', 'exit 3'], RUN);
    await berth(d, ['run', '-d', '--name', 'pr', 'busybox', 'sleep', '60'], RUN);
  });

  it('import prints the image ID and applies --change', async () => {
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /^sha256:[0-9a-f]{64}\n$/);
    const b = await berth(d, ['inspect', '-f', '{{json .Config.Cmd}}', 'busybox']);
    same(b, await docker(d, ['inspect', '-f', '{{json .Config.Cmd}}', 'busybox']), 'inspect -f');
    assert.equal(b.stdout, '["sh"]\n');
  });

  /** Read-only comparisons run side by side: they only look at the daemon. */
  async function compareListings(variants: string[][], env?: Record<string, string>): Promise<void> {
    await Promise.all(
      variants.map(async (args) => {
        const [b, k] = await Promise.all([berth(d, args, { env }), docker(d, args, { env })]);
        assert.equal(b.code, 0, b.stderr);
        assert.equal(normalizeTimes(b.stdout), normalizeTimes(k.stdout), args.join(' '));
      }),
    );
  }

  it('images', async () => {
    // Both clients at the docker CLI's API version (28.2: 1.50): from 1.51 the daemon counts each image's containers, which a 1.50 client sees as N/A.
    await compareListings([['images'], ['images', '-a', '--no-trunc', '--digests'], ['images', '-q', 'busybox'], ['image', 'ls', '--format', 'json']], { DOCKER_API_VERSION: '1.50' });
    assert.match((await berth(d, ['images'])).stdout, /^<none> +<none> /m);
  });

  it('ps', async () => {
    await compareListings([['ps'], ['ps', '-a'], ['ps', '-a', '--no-trunc', '--format', 'json'], ['ps', '-a', '-f', 'name=pc1', '--format', 'table {{.Names}}\t{{.Labels}}']]);
  });

  it('inspect', async () => {
    const variants = [['inspect', 'pc1'], ['inspect', 'pe', 'busybox'], ['image', 'inspect', 'busybox'], ['container', 'inspect', '-f', '{{.State.ExitCode}} {{.Config.Labels}}', 'pe', 'pc1']];
    await Promise.all(
      variants.map(async (args) => {
        const [b, k] = await Promise.all([berth(d, args), docker(d, args)]);
        assert.equal(b.code, 0, b.stderr);
        same(b, k, args.join(' '));
      }),
    );
    const missing = await berth(d, ['inspect', 'nosuch']);
    same(missing, await docker(d, ['inspect', 'nosuch']), 'inspect nosuch');
    assert.equal(missing.stdout, '[]\n');
    assert.equal(missing.code, 1);
  });
});

describe('commands', { concurrency: true }, () => {
  it('run exit codes and errors', async () => {
    const cases: [string[], number][] = [
      [['run', '--rm', 'busybox', 'true'], 0],
      [['run', '--rm', 'busybox', 'sh', '-c', 'exit 3'], 3],
      // A registry on loopback that refuses connections: the pull fails without leaving the machine, and no hostname contains "docker" for asBerth to rewrite.
      [['run', '--rm', '127.0.0.1:1/nosuchimage:1'], 125],
      [['run', '--rm', 'busybox', 'nosuchcmd'], 127],
      [['run', '--nosuchflag', 'busybox'], 125],
    ];
    await Promise.all(
      cases.map(async ([args, code]) => {
        const [b, k] = await Promise.all([berth(d, args, RUN), docker(d, args, RUN)]);
        assert.equal(b.code, code, `${args.join(' ')}: ${b.stderr}`);
        same(b, k, args.join(' '));
      }),
    );
  });

  it('run keeps stdout and stderr apart', async () => {
    const b = await berth(d, ['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; echo out2'], RUN);
    assert.deepEqual(b, { code: 0, stdout: 'out\nout2\n', stderr: 'err\n' });
  });

  it('run -e/--env-file/-w/-u/--entrypoint', async () => {
    const envFile = `${d.dir}/env`;
    await import('node:fs/promises').then((fs) => fs.writeFile(envFile, '# comment\nFROMFILE=f\n'));
    const b = await berth(
      d,
      ['run', '--rm', '-e', 'FOO=bar', '-e', 'HOSTVAR', '-e', 'BERTH_UNSET_VAR', '--env-file', envFile, '-w', '/tmp', '-u', '1000:1000', 'busybox',
        'sh', '-c', 'echo $FOO $HOSTVAR $FROMFILE ${BERTH_UNSET_VAR-unset}; pwd; id -u; id -g'],
      { ...RUN, env: { HOSTVAR: 'fromhost' } },
    );
    assert.deepEqual(b, { code: 0, stdout: 'bar fromhost f unset\n/tmp\n1000\n1000\n', stderr: '' });
    const e = await berth(d, ['run', '--rm', '--entrypoint', 'echo', 'busybox', 'hi', '-n'], RUN);
    assert.deepEqual(e, { code: 0, stdout: 'hi -n\n', stderr: '' });
  });

  it('run -i and -it forward piped stdin', async () => {
    const i = await berth(d, ['run', '-i', '--rm', 'busybox', 'sh', '-c', 'cat; exit 4'], { ...RUN, input: 'hello\n' });
    assert.deepEqual(i, { code: 4, stdout: 'hello\n', stderr: '' });
    const it2 = await berth(d, ['run', '-it', '--rm', 'busybox', 'cat'], { ...RUN, input: 'tty\n' });
    assert.equal(it2.code, 0, it2.stderr);
    assert.match(it2.stdout, /tty\r\n/);
  });

  it('run --rm removes the container', async () => {
    const b = await berth(d, ['run', '--rm', '--name', 'gone', 'busybox', 'true'], RUN);
    assert.equal(b.code, 0, b.stderr);
    assert.equal((await berth(d, ['ps', '-aq', '-f', 'name=gone'])).stdout, '');
    assert.equal((await berth(d, ['inspect', 'gone'])).code, 1);
  });

  it('run -d, wait and logs', async () => {
    const b = await berth(d, ['run', '-d', '--name', 'bg', 'busybox', 'sh', '-c', 'echo hello; echo oops >&2; exit 7'], RUN);
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stdout, /^[0-9a-f]{64}\n$/);
    assert.deepEqual(await berth(d, ['wait', 'bg'], RUN), { code: 0, stdout: '7\n', stderr: '' });
    const logs = await berth(d, ['logs', 'bg']);
    assert.deepEqual(logs, { code: 0, stdout: 'hello\n', stderr: 'oops\n' });
    same(logs, await docker(d, ['logs', 'bg']), 'logs');
    same(await berth(d, ['wait', 'bg', 'nosuch']), await docker(d, ['wait', 'bg', 'nosuch']), 'wait nosuch');
  });

  it('start -a', async () => {
    assert.equal((await berth(d, ['create', '--name', 'sa', 'busybox', 'sh', '-c', 'echo a; echo b >&2; exit 2'])).code, 0);
    const b = await berth(d, ['start', '-a', 'sa'], RUN);
    assert.deepEqual(b, { code: 2, stdout: 'a\n', stderr: 'b\n' });
    same(b, await docker(d, ['start', '-a', 'sa'], RUN), 'start -a');
  });

  it('rm -f of a running container', async () => {
    assert.equal((await berth(d, ['run', '-d', '--name', 'rr', 'busybox', 'sleep', '100'], RUN)).code, 0);
    assert.deepEqual(await berth(d, ['rm', '-f', 'rr'], RUN), { code: 0, stdout: 'rr\n', stderr: '' });
    assert.equal((await berth(d, ['inspect', 'rr'])).code, 1);
    same(await berth(d, ['rm', 'rr']), await docker(d, ['rm', 'rr']), 'rm of a missing container');
  });

  it('rmi', async () => {
    const { tar } = await busyboxRootfs();
    const ids = (s: string) => s.replace(/sha256:[0-9a-f]{64}/g, 'sha256:ID');
    assert.equal((await berth(d, ['import', tar, 'rmk:1'])).code, 0);
    assert.equal((await berth(d, ['import', tar, 'rmb:1'])).code, 0);
    assert.equal((await berth(d, ['tag', 'rmk:1', 'rmk:2'])).code, 0);
    assert.equal((await berth(d, ['tag', 'rmb:1', 'rmb:2'])).code, 0);
    const k = await docker(d, ['rmi', 'rmk:2', 'rmk:1', 'nosuch']);
    const b = await berth(d, ['rmi', 'rmb:2', 'rmb:1', 'nosuch']);
    assert.equal(b.code, 1);
    assert.match(b.stdout, /^Untagged: rmb:2\nUntagged: rmb:1\nDeleted: sha256:[0-9a-f]{64}\n$/);
    assert.equal(ids(b.stdout).replace(/rmb/g, 'rmk'), ids(k.stdout));
    assert.equal(b.stderr, asBerth(k.stderr));
  });

  it('reports an unreachable daemon', async () => {
    const b = await berth({ host: 'unix:///nonexistent/berth.sock' }, ['ps']);
    assert.deepEqual(b, { code: 1, stdout: '', stderr: 'Cannot connect to the berth daemon at unix:///nonexistent/berth.sock. Is the berth daemon running?\n' });
    assert.equal((await berth(d, ['--version'])).stdout, 'berth version 0.1.0\n');
  });
});
