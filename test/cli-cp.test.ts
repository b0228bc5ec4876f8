/**
 * The berth CLI's cp against a real berthd, side by side with the docker
 * CLI: the same arguments must give the same trees (host → container and
 * container → host), the same `/` and `/.` rules, the same tar streams for
 * `-`, the same errors, and — with a terminal — the same summary line.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BERTH, berth, DOCKER, docker, runCli, startDaemonWithBusybox, type RunResult, type TestDaemon } from './helpers/daemon.js';
import { shq } from './helpers/tmux.js';

let d: TestDaemon;
let tmp: string;
let src: string;

/** A shell line with both CLIs at hand: $B is berth, $D is docker. */
const sh = (script: string) => runCli('sh', ['-c', script], d, { env: { B: `${process.execPath} -- ${BERTH}`, D: DOCKER } });

/** Every file under `dir` with its type, mode, size, link target and content, for comparing trees. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    const abs = path.join(dir, rel);
    const st = await fsp.lstat(abs);
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isDirectory()) {
      if (rel) out.push(`${rel}/ d ${mode}`);
      for (const c of (await fsp.readdir(abs)).sort()) await walk(path.join(rel, c));
    } else if (st.isSymbolicLink()) {
      out.push(`${rel} -> ${await fsp.readlink(abs)}`);
    } else {
      out.push(`${rel} f ${mode} n${st.nlink} ${JSON.stringify(await fsp.readFile(abs, 'utf8'))}`);
    }
  };
  await walk('');
  return out;
}

/** A listing of a container directory (by the docker CLI), for comparing what the two copies made. */
async function ctrTree(c: string, dir: string): Promise<string> {
  const r = await docker(d, ['exec', c, 'sh', '-c', `cd ${dir} && find . | sort | while read f; do if [ -L "$f" ]; then echo "$f -> $(readlink "$f")"; elif [ -d "$f" ]; then echo "$f/"; else echo "$f $(stat -c %a "$f") $(cat "$f")"; fi; done`]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

function asBerth(r: RunResult): RunResult {
  return { ...r, stderr: r.stderr.replace(/\bdocker\b/g, 'berth') };
}

before(async () => {
  d = await startDaemonWithBusybox();
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'bt-cli-cp-'));
  src = path.join(tmp, 'src');
  await fsp.mkdir(path.join(src, 'dir', 'sub'), { recursive: true });
  await fsp.writeFile(path.join(src, 'hello.txt'), 'hello\n');
  await fsp.writeFile(path.join(src, 'dir', 'a.txt'), 'a\n');
  await fsp.chmod(path.join(src, 'dir', 'a.txt'), 0o640);
  await fsp.writeFile(path.join(src, 'dir', 'sub', 'b.txt'), 'b\n');
  await fsp.link(path.join(src, 'dir', 'a.txt'), path.join(src, 'dir', 'hard.txt'));
  await fsp.symlink('a.txt', path.join(src, 'dir', 'rel-link'));
  await fsp.symlink('hello.txt', path.join(src, 'link'));
  const r = await docker(d, ['run', '-d', '--name', 'cpx', 'busybox', 'sleep', '1000']);
  assert.equal(r.code, 0, r.stderr);
  const setup = await docker(d, ['exec', 'cpx', 'sh', '-c', 'mkdir -p /data/x && echo deep > /data/x/f && echo top > /data/top && ln -s top /data/toplink && ln -s /data /datalink && mkdir /into']);
  assert.equal(setup.code, 0, setup.stderr);
});

after(async () => {
  await docker(d, ['rm', '-f', 'cpx']).catch(() => undefined);
  await d?.cleanup();
  if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
});

test('berth cp host → container makes what docker cp makes: files, directories, / and /. rules, -L', async () => {
  const cases: [string, string][] = [
    [path.join(src, 'hello.txt'), '/into/T/'],
    [path.join(src, 'hello.txt'), '/into/T/renamed.txt'],
    [path.join(src, 'dir'), '/into/T/'],
    [path.join(src, 'dir'), '/into/T/newdir'],
    [`${path.join(src, 'dir')}/.`, '/into/T/flat'],
    [`${path.join(src, 'dir')}/.`, '/into/T/'],
    [`${path.join(src, 'dir')}/`, '/into/T/slash'],
    [path.join(src, 'link'), '/into/T/'],
    [path.join(src, 'link'), '/into/T/followed'],
  ];
  for (const who of ['b', 'k']) {
    assert.equal((await docker(d, ['exec', 'cpx', 'mkdir', `/into/${who}`])).code, 0);
  }
  for (const [from, to] of cases) {
    const follow = to.endsWith('followed') ? ['-L'] : [];
    const b = await berth(d, ['cp', ...follow, from, `cpx:${to.replace('/T/', '/b/')}`]);
    const k = await docker(d, ['cp', ...follow, from, `cpx:${to.replace('/T/', '/k/')}`]);
    assert.deepEqual(b, k, `cp ${from} ${to}`);
    assert.equal(b.code, 0, b.stderr);
  }
  const made = await ctrTree('cpx', '/into/b');
  assert.equal(made, await ctrTree('cpx', '/into/k'));
  // Spot checks of the rules themselves.
  for (const line of ['./renamed.txt 644 hello', './newdir/sub/b.txt 644 b', './flat/a.txt 640 a', './a.txt 640 a', './slash/sub/', './link -> hello.txt', './followed 644 hello', './dir/rel-link -> a.txt']) {
    assert.ok(made.split('\n').includes(line), `${line} in\n${made}`);
  }
  assert.ok(!made.includes('./flat/dir'));
});

test('berth cp container → host makes what docker cp makes; hard links, symlinks, -L', async () => {
  const kd = path.join(tmp, 'k');
  const bd = path.join(tmp, 'b');
  await fsp.mkdir(kd);
  await fsp.mkdir(bd);
  assert.equal((await docker(d, ['cp', path.join(src, 'dir'), 'cpx:/data/'])).code, 0);
  const cases: [string, string][] = [
    ['/data/top', 'D/'],
    ['/data/top', 'D/renamed'],
    ['/data', 'D/'],
    ['/data', 'D/copy'],
    ['/data/.', 'D/flat'],
    ['/data/x/.', 'D/copy'],
    ['/data/', 'D/slash'],
    ['/data/toplink', 'D/'],
    ['/data/toplink', 'D/followed'],
    ['/datalink', 'D/datalink-followed'],
    ['/data/top', 'D/copy/x/f'],
  ];
  for (const [from, to] of cases) {
    const follow = to.endsWith('followed') ? ['-L'] : [];
    const b = await berth(d, ['cp', ...follow, `cpx:${from}`, to.replace('D/', `${bd}/`)]);
    const k = await docker(d, ['cp', ...follow, `cpx:${from}`, to.replace('D/', `${kd}/`)]);
    assert.deepEqual(b, k, `cp ${from} ${to}`);
    assert.equal(b.code, 0, b.stderr);
  }
  const made = await tree(bd);
  assert.deepEqual(made, await tree(kd));
  for (const line of ['renamed f 644 n1 "top\\n"', 'copy/x/f f 644 n1 "top\\n"', 'flat/dir/a.txt f 640 n2 "a\\n"', 'data/toplink -> top', 'followed f 644 n1 "top\\n"', 'datalink-followed/x/ d 755']) {
    assert.ok(made.includes(line), `${line} in\n${made.join('\n')}`);
  }
  // Relative to the working directory, and "./name:with-colon" is a local path.
  const relCwd = await sh(`cd ${shq(bd)} && $B cp cpx:/data/top ./with:colon && cat ./with:colon`);
  assert.deepEqual(relCwd, { code: 0, stdout: 'top\n', stderr: '' });
});

test('berth cp - streams a tar on stdout and takes one on stdin, like docker', async () => {
  for (const p of ['/data', '/data/.', '/data/top', '/']) {
    const b = await sh(`$B cp cpx:${p} - | tar -tvf - | sort`);
    const k = await sh(`$D cp cpx:${p} - | tar -tvf - | sort`);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.stdout, k.stdout, p);
  }
  const put = await sh(`tar -C ${shq(src)} -cf - dir | $B cp - cpx:/into`);
  assert.deepEqual(put, { code: 0, stdout: '', stderr: '' });
  assert.equal((await docker(d, ['exec', 'cpx', 'cat', '/into/dir/sub/b.txt'])).stdout, 'b\n');
  // A stdin tar needs a directory to land in.
  const notDir = await sh('tar -cf - /dev/null 2>/dev/null | $B cp - cpx:/data/top');
  assert.deepEqual(notDir, { code: 1, stdout: '', stderr: 'destination "cpx:/data/top" must be a directory\n' });
});

test('berth cp fails like docker cp', async () => {
  const here = path.join(tmp, 'err');
  await fsp.mkdir(here);
  await fsp.writeFile(path.join(here, 'file'), 'x');
  const cases: string[][] = [
    ['cpx:/nonexistent', `${here}/`],
    [path.join(here, 'nonexistent'), 'cpx:/tmp/'],
    [path.join(here, 'file'), path.join(here, 'other')],
    ['cpx:/a', 'cpx:/b'],
    [path.join(here, 'file'), 'cpx:/tmp/nodir/'],
    [path.join(here, 'file'), 'nosuch:/tmp/x'],
    ['nosuch:/tmp', `${here}/`],
    [path.join(src, 'dir'), 'cpx:/data/top'],
    ['cpx:/data', path.join(here, 'file')],
    ['cpx:/data/top', `${here}/nodir/x`],
    ['cpx:/data/top', `${here}/nodir/`],
    ['', 'cpx:/tmp'],
    ['cpx:/tmp', ''],
    ['cpx:/tmp'],
  ];
  for (const args of cases) {
    const b = await berth(d, ['cp', ...args]);
    const k = asBerth(await docker(d, ['cp', ...args]));
    // docker logs its tar writer's broken pipe when it gives up early; that noise is not ours to copy.
    k.stderr = k.stderr.replace(/^time=.*level=error.*\n/gm, '');
    assert.deepEqual(b, k, `cp ${args.join(' ')}`);
    assert.notEqual(b.code, 0);
  }
  assert.deepEqual(await fsp.readdir(here), ['file']);
});

test('with a terminal, berth cp prints docker\'s "Successfully copied" summary on stderr', async () => {
  // script(1) gives the command a pseudo-terminal; -q keeps its own messages out.
  const inPty = (cmd: string) => runCli('script', ['-qec', cmd, '/dev/null'], d, { env: { B: `${process.execPath} -- ${BERTH}`, D: DOCKER } });
  const out = path.join(tmp, 'pty');
  await fsp.mkdir(out);
  for (const args of [
    `${shq(path.join(src, 'hello.txt'))} cpx:/tmp/`,
    `${shq(path.join(src, 'dir'))} cpx:/tmp/`,
    `cpx:/data ${shq(out)}/data`,
    `cpx:/data/top ${shq(out)}/top`,
    `-q cpx:/data/top ${shq(out)}/quiet`,
  ]) {
    const b = await inPty(`$B cp ${args}`);
    const k = await inPty(`$D cp ${args}`);
    assert.equal(b.stdout, k.stdout, args);
    assert.equal(b.code, 0);
  }
  const b = await inPty(`$B cp ${shq(path.join(src, 'hello.txt'))} cpx:/tmp/`);
  assert.equal(b.stdout, 'Successfully copied 2.05kB to cpx:/tmp/\r\n');
  assert.equal((await inPty(`$B cp -q cpx:/data/top ${shq(out)}/q2`)).stdout, '');
});
