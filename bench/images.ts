/**
 * Benchmark (issues: images, engine core): save and load of a ~100 MB image,
 * and commit of a stopped container with 10 000 small changed files and of
 * one with a single 500 MB file, through the docker CLI against
 * a berthd started here and, when DOCKER_PEER_HOST is set, against that peer
 * engine in the same run. Not a test: it prints timings.
 *
 *   npm run build && node dist/bench/images.js
 *   BENCH_ONLY=commit node dist/bench/images.js     (the commit cases alone)
 */
import { performance } from 'node:perf_hooks';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { docker, startDaemon } from '../test/helpers/daemon.js';
import { busyboxRootfs } from '../test/helpers/rootfs.js';

const sh = promisify(execFile);

async function timed(label: string, fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  const ms = performance.now() - t0;
  console.log(`${label}: ${(ms / 1000).toFixed(2)} s`);
  return ms;
}

async function must(host: string, args: string[]): Promise<string> {
  const r = await docker({ host }, args);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A 100 MB image: busybox plus 100 MiB of random data in one layer, imported as a tarball. */
async function bigTarball(dir: string): Promise<string> {
  const { dir: rootDir } = await busyboxRootfs();
  const root = path.join(dir, 'big');
  await sh('cp', ['-a', path.join(rootDir, 'rootfs'), root]);
  await sh('sh', ['-c', `head -c 104857600 /dev/urandom > '${root}/blob'`]);
  const tar = path.join(dir, 'big.tar');
  await sh('tar', ['-C', root, '-cf', tar, '.']);
  return tar;
}

/** Commit of a stopped container after `script` changed its files; the container and image go afterwards. */
async function commitCase(label: string, host: string, script: string): Promise<number> {
  const cid = (await must(host, ['create', 'benchsmall:1', 'sh', '-c', script])).trim();
  await must(host, ['start', '-a', cid]);
  const ms = await timed(label, async () => void (await must(host, ['commit', cid, 'benchcommit:1'])));
  await must(host, ['rm', cid]);
  await must(host, ['rmi', 'benchcommit:1']);
  return ms;
}

async function bench(name: string, host: string, tar: string, dir: string): Promise<Record<string, number>> {
  console.log(`-- ${name}`);
  const out: Record<string, number> = {};
  if (process.env.BENCH_ONLY !== 'commit') {
    await must(host, ['import', tar, 'benchbig:1']);
    const file = path.join(dir, `${name}-save.tar`);
    out.save = await timed(`${name} save 100 MB`, async () => void (await must(host, ['save', '-o', file, 'benchbig:1'])));
    await must(host, ['rmi', 'benchbig:1']);
    out.load = await timed(`${name} load 100 MB`, async () => void (await must(host, ['load', '-i', file])));
    await must(host, ['rmi', 'benchbig:1']);
    await fsp.rm(file, { force: true });
  }
  const { tar: small } = await busyboxRootfs();
  await must(host, ['import', small, 'benchsmall:1']);
  out.commitSmall = await commitCase(`${name} commit 10 000 files`, host, 'mkdir /many && cd /many && i=0; while [ $i -lt 10000 ]; do echo $i > f$i; i=$((i+1)); done');
  out.commitBig = await commitCase(`${name} commit one 500 MB file`, host, 'head -c 524288000 /dev/urandom > /big');
  await must(host, ['rmi', 'benchsmall:1']);
  return out;
}

async function main(): Promise<void> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bt-bench-'));
  const d = await startDaemon();
  try {
    const tar = process.env.BENCH_ONLY === 'commit' ? '' : await bigTarball(dir);
    const berth = await bench('berth', d.host, tar, dir);
    const peerHost = process.env.DOCKER_PEER_HOST;
    if (peerHost) {
      const peer = await bench('peer', peerHost, tar, dir);
      for (const k of Object.keys(berth)) console.log(`ratio berth/peer ${k}: ${(berth[k]! / peer[k]!).toFixed(2)}`);
    } else {
      console.log('(set DOCKER_PEER_HOST to compare with a real dockerd)');
    }
  } finally {
    await d.cleanup();
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
