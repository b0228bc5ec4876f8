/**
 * `berth system check [--repair]`: every kind of damage made by hand in a
 * real data root — a corrupt blob, a missing config blob, unreadable
 * records, a dangling tag, orphan layers and snapshots, leftover ingests,
 * labels, temp files, mounts, network state, and a container whose conmon
 * was killed — is reported by the offline check (daemon stopped), fixed by
 * its repair, and a daemon started afterwards finds nothing more (beyond
 * what only the user can fix: an image whose blob is gone). Then the same
 * through the daemon's API, damage made while it runs.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { berth, docker, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';
import { makeTar } from '../src/engine/image/archive/testing.js';
import type { CheckReport } from '../src/common/api/check.js';

const execFileP = promisify(execFile);
const hex = () => randomBytes(32).toString('hex');
const sh = (cmd: string, args: string[]) => execFileP(cmd, args).then(() => undefined, () => undefined);

let d: TestDaemon;
/** Host state the test made outside the temp roots, undone in after(). */
const bridgeName = `bchk${randomBytes(3).toString('hex')}`;
const goneNet = randomBytes(32).toString('hex');
const ruleTag = `berth:${goneNet.slice(0, 12)}`;

before(async () => {
  d = await startDaemonWithBusybox();
});

after(async () => {
  await sh('iptables', ['-w', '-D', 'FORWARD', '-i', bridgeName, '-m', 'comment', '--comment', ruleTag, '-j', 'ACCEPT']);
  await sh('ip', ['link', 'del', 'dev', bridgeName]);
  await d?.cleanup();
});

async function offlineCheck(repair: boolean): Promise<{ code: number; report: CheckReport }> {
  const r = await berth(d, ['system', 'check', '--data-root', d.dataRoot, '--exec-root', d.execRoot, '--bridge', 'none', '--format', 'json', ...(repair ? ['--repair'] : [])]);
  assert.equal(r.stderr.trim(), '', r.stderr);
  return { code: r.code, report: JSON.parse(r.stdout) as CheckReport };
}

function kinds(r: CheckReport): string[] {
  return r.Findings.map((f) => f.Kind).sort();
}

async function imageRecord(ref: string): Promise<{ id: string; layers: { blob?: { digest: string } }[] }> {
  const id = (await docker(d, ['image', 'inspect', '-f', '{{.Id}}', ref])).stdout.trim();
  return JSON.parse(await fsp.readFile(path.join(d.dataRoot, 'image', 'images', `${id.slice(7)}.json`), 'utf8'));
}

const old = new Date(Date.now() - 3 * 24 * 3600 * 1000);

test('offline: each kind of damage is reported, repaired, and a restarted daemon finds nothing more', async () => {
  const victimTar = path.join(d.dir, 'victim.tar');
  await fsp.writeFile(victimTar, await makeTar([{ name: 'v.txt', body: 'victim\n' }]));
  assert.equal((await docker(d, ['import', victimTar, 'victim'])).code, 0);
  await fsp.writeFile(victimTar, await makeTar([{ name: 'w.txt', body: 'configless\n' }]));
  assert.equal((await docker(d, ['import', victimTar, 'configless'])).code, 0);
  assert.equal((await docker(d, ['create', '--name', 'keep', 'busybox', 'true'])).code, 0);
  assert.equal((await docker(d, ['run', '-d', '--name', 'dead', 'busybox', 'sleep', '300'])).code, 0);
  const deadId = (await docker(d, ['inspect', '-f', '{{.Id}}', 'dead'])).stdout.trim();

  // A clean root first.
  const clean = await berth(d, ['system', 'check']);
  assert.equal(clean.code, 0, clean.stdout + clean.stderr);
  assert.match(clean.stdout, /No problems found/);

  assert.equal((await docker(d, ['volume', 'create', 'precious'])).code, 0);
  await fsp.writeFile(path.join(d.dataRoot, 'volumes', 'precious', '_data', 'keep.txt'), 'mine\n');
  const victim = await imageRecord('victim');
  const configless = await imageRecord('configless');
  await d.stop('SIGKILL');
  // The container's monitor dies while no daemon watches: its record still says running.
  const bundle = path.join(d.execRoot, 'containers', deadId);
  const conmonPid = Number(await fsp.readFile(path.join(bundle, 'conmon.pid'), 'utf8'));
  process.kill(conmonPid, 'SIGKILL');
  await sh('runc', ['--root', path.join(d.execRoot, 'runc'), 'kill', deadId, 'KILL']);
  await sh('runc', ['--root', path.join(d.execRoot, 'runc'), 'delete', '--force', deadId]);

  const data = d.dataRoot;
  const blobs = path.join(data, 'content', 'blobs', 'sha256');
  // blob-corrupt: the victim's layer.
  await fsp.appendFile(path.join(blobs, victim.layers[0]!.blob!.digest.slice(7)), 'garbage');
  // image-config-missing: the config blob goes.
  await fsp.rm(path.join(blobs, configless.id.slice(7)));
  // record-unreadable (image), tag-dangling.
  await fsp.writeFile(path.join(data, 'image', 'images', `${hex()}.json`), '{"id": ');
  const reposFile = path.join(data, 'image', 'repositories.json');
  const repos = JSON.parse(await fsp.readFile(reposFile, 'utf8'));
  repos.refs['docker.io/library/ghost:latest'] = `sha256:${hex()}`;
  await fsp.writeFile(reposFile, JSON.stringify(repos));
  // blob-stray, labels-orphan, ingest-stale (no metadata), temp-leftover.
  await fsp.writeFile(path.join(blobs, 'not-a-digest'), 'x');
  await fsp.writeFile(path.join(data, 'content', 'labels', 'sha256', `${hex()}.json`), '{"labels":{}}');
  await fsp.mkdir(path.join(data, 'content', 'ingest', hex()));
  await fsp.writeFile(path.join(data, 'image', 'images', `.tmp-x.json-${randomBytes(6).toString('hex')}`), '{');
  // layer-unreferenced, snapshot-orphan (with its rootfs left mounted: mount-leftover), snapshot-incomplete, snapshot-tmp, link-dangling.
  const layerName = `sha256:${hex()}`;
  const layerDir = path.join(data, 'overlay2', 'layers', layerName.slice(7));
  await fsp.mkdir(path.join(layerDir, 'diff'), { recursive: true });
  await fsp.writeFile(path.join(layerDir, 'snapshot.json'), JSON.stringify({ kind: 'committed', name: layerName, labels: {}, created: old.toISOString(), size: 0 }));
  const orphanKey = `orphan-${randomBytes(4).toString('hex')}`;
  const orphanDir = path.join(data, 'overlay2', 'rw', orphanKey);
  for (const sub of ['diff', 'work', 'merged']) await fsp.mkdir(path.join(orphanDir, sub), { recursive: true });
  await fsp.writeFile(path.join(orphanDir, 'snapshot.json'), JSON.stringify({ kind: 'active', name: orphanKey, parent: layerName, labels: {}, created: old.toISOString() }));
  await execFileP('mount', ['-t', 'tmpfs', 'tmpfs', path.join(orphanDir, 'merged')]);
  await fsp.mkdir(path.join(data, 'overlay2', 'layers', hex(), 'diff'), { recursive: true });
  await fsp.mkdir(path.join(data, 'overlay2', 'tmp', 'half-made'), { recursive: true });
  await fsp.symlink('../layers/nothing/diff', path.join(data, 'overlay2', 'l', 'DANGLINGLINK0000000000000'));
  // container-incomplete, container-trash, record-unreadable (container).
  await fsp.mkdir(path.join(data, 'containers', hex()));
  await fsp.mkdir(path.join(data, 'containers', `.trash-${hex()}`));
  const brokenId = hex();
  await fsp.mkdir(path.join(data, 'containers', brokenId));
  await fsp.writeFile(path.join(data, 'containers', brokenId, 'config.v2.json'), '{"Id":');
  // cache-layer-missing: a build cache record whose layer is not there.
  const cacheId = hex();
  await fsp.mkdir(path.join(data, 'builder', 'cache'), { recursive: true });
  await fsp.writeFile(
    path.join(data, 'builder', 'cache', `${cacheId}.json`),
    JSON.stringify({ id: cacheId, parent: `sha256:${hex()}`, description: 'RUN true', result: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${hex()}`] } }, size: 0, createdAt: old.toISOString(), lastUsedAt: old.toISOString(), usageCount: 1 }),
  );
  // record-unreadable (volume: its data stay, under a fresh record), volume-unrecorded.
  await fsp.writeFile(path.join(data, 'volumes', 'precious', 'volume.json'), '{"Name":');
  await fsp.mkdir(path.join(data, 'volumes', 'half-made', '_data'), { recursive: true });
  // mount-leftover of its own, netns-leftover.
  const junkMount = path.join(data, 'junk-mount');
  await fsp.mkdir(junkMount);
  await execFileP('mount', ['-t', 'tmpfs', 'tmpfs', junkMount]);
  const netnsDir = path.join(d.execRoot, 'netns');
  await fsp.mkdir(netnsDir, { recursive: true });
  const netnsFile = path.join(netnsDir, hex().slice(0, 12));
  await fsp.writeFile(netnsFile, '');
  await execFileP('unshare', [`--net=${netnsFile}`, 'true']);
  // Network leftovers of a network that is gone: its bridge, a tagged rule, its lease directory.
  await execFileP('ip', ['link', 'add', 'name', bridgeName, 'type', 'bridge']);
  await execFileP('ip', ['link', 'set', 'dev', bridgeName, 'alias', `berth:${goneNet}`]);
  await execFileP('iptables', ['-w', '-A', 'FORWARD', '-i', bridgeName, '-m', 'comment', '--comment', ruleTag, '-j', 'ACCEPT']);
  await fsp.mkdir(path.join(d.execRoot, 'ipam', `berth-${goneNet.slice(0, 12)}`), { recursive: true });

  const want = [
    'blob-corrupt', 'blob-stray', 'cache-layer-missing', 'container-dead', 'container-incomplete', 'container-trash',
    'image-config-missing', 'ingest-stale', 'ipam-leftover', 'labels-orphan', 'layer-unreferenced', 'link-dangling',
    'mount-leftover', 'netns-leftover', 'record-unreadable', 'snapshot-incomplete', 'snapshot-orphan', 'snapshot-tmp',
    'tag-dangling', 'temp-leftover', 'volume-unrecorded',
  ];
  const first = await offlineCheck(false);
  assert.equal(first.code, 1);
  for (const k of want) assert.ok(kinds(first.report).includes(k), `${k} not reported: ${JSON.stringify(first.report.Findings, null, 1)}`);
  // The bridge and the rule, while they exist: a berthd built before the
  // check (other test runs on this host) deletes every berth-marked bridge
  // and rule it does not know at its start, which may beat this check to them.
  const bridgeThere = (await execFileP('ip', ['link', 'show', 'dev', bridgeName]).then(() => true, () => false));
  if (bridgeThere) assert.ok(first.report.Findings.some((f) => f.Kind === 'bridge-leftover' && f.Subject === bridgeName), 'the bridge of a gone network is reported');
  const ruleThere = (await execFileP('iptables-save', ['-t', 'filter'])).stdout.includes(ruleTag);
  if (ruleThere) assert.ok(first.report.Findings.some((f) => f.Kind === 'iptables-leftover' && f.Subject.includes(ruleTag)), 'the tagged rule of a gone network is reported');
  assert.ok(first.report.Findings.some((f) => f.Kind === 'mount-leftover' && f.Subject === junkMount));
  assert.ok(first.report.Findings.some((f) => f.Kind === 'container-dead' && f.Subject === deadId));
  assert.ok(first.report.Findings.some((f) => f.Kind === 'blob-corrupt' && f.Subject === victim.layers[0]!.blob!.digest));
  // A report only: nothing changed.
  assert.ok(await fsp.stat(path.join(orphanDir, 'snapshot.json')));

  const repaired = await offlineCheck(true);
  const failed = repaired.report.Findings.filter((f) => f.Action && !f.Repaired);
  assert.deepEqual(failed, [], 'every finding with an action was repaired');
  assert.ok((await fsp.readdir(path.join(data, 'quarantine', 'content'))).some((f) => f.startsWith(victim.layers[0]!.blob!.digest.slice(7))), 'the corrupt blob is kept in quarantine');
  assert.ok((await fsp.readdir(path.join(data, 'quarantine', 'containers'))).some((f) => f.startsWith(brokenId)));

  // What is left is what only the user can fix: the victim lost its layer blob.
  const second = await offlineCheck(false);
  assert.deepEqual(second.report.Findings.map((f) => [f.Kind, f.Subject]), [['image-blob-missing', victim.id]]);

  await d.restart();
  const log = await d.log();
  // The start-up check (the cheap part, repairing) finds nothing the repair had not, and says what is left.
  const startup = log.split('starting berthd').pop()!.split('\n').filter((l) => l.includes('start-up check'));
  assert.equal(startup.length, 1, startup.join('\n'));
  assert.match(startup[0]!, /image-blob-missing/);
  assert.equal((await docker(d, ['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'dead'])).stdout.trim(), 'exited 255');
  assert.equal((await docker(d, ['inspect', '-f', '{{.State.Status}}', 'keep'])).stdout.trim(), 'created');
  assert.equal((await docker(d, ['run', '--rm', '-v', 'precious:/v', 'busybox', 'cat', '/v/keep.txt'])).stdout, 'mine\n');
  assert.equal((await docker(d, ['volume', 'rm', 'precious'])).code, 0);
  assert.equal((await docker(d, ['run', '--rm', 'busybox', 'echo', 'still here'])).stdout.trim(), 'still here');
  const images = (await docker(d, ['images', '--format', '{{.Repository}}'])).stdout.split('\n').filter(Boolean).sort();
  assert.deepEqual(images, ['busybox', 'victim']);
  assert.equal((await docker(d, ['rmi', 'victim'])).code, 0);
  assert.equal((await docker(d, ['rm', 'dead', 'keep'])).code, 0);
  const last = await berth(d, ['system', 'check']);
  assert.equal(last.code, 0, last.stdout + last.stderr);
});

test('online: damage made under a running daemon is reported and repaired through the API; young files are left alone', async () => {
  const data = d.dataRoot;
  const labels = path.join(data, 'content', 'labels', 'sha256', `${hex()}.json`);
  await fsp.writeFile(labels, '{"labels":{}}');
  await fsp.utimes(labels, old, old);
  const young = path.join(data, 'content', 'labels', 'sha256', `${hex()}.json`);
  await fsp.writeFile(young, '{"labels":{}}');
  await fsp.writeFile(path.join(data, 'image', 'images', `${hex()}.json`), 'not json');
  const junkMount = path.join(data, 'junk-mount-2');
  await fsp.mkdir(junkMount);
  await execFileP('mount', ['-t', 'tmpfs', 'tmpfs', junkMount]);
  assert.equal((await docker(d, ['run', '-d', '--name', 'dies', 'busybox', 'sleep', '300'])).code, 0);
  const id = (await docker(d, ['inspect', '-f', '{{.Id}}', 'dies'])).stdout.trim();
  process.kill(Number(await fsp.readFile(path.join(d.execRoot, 'containers', id, 'conmon.pid'), 'utf8')), 'SIGKILL');
  await sh('runc', ['--root', path.join(d.execRoot, 'runc'), 'kill', id, 'KILL']);

  const listing = await berth(d, ['system', 'check', '--quick']);
  assert.equal(listing.code, 1);
  assert.match(listing.stdout, /^Checked .*\(quick: blobs not hashed\)\./);
  assert.match(listing.stdout, /KIND +SUBJECT +PROBLEM +REPAIR WOULD/);
  for (const k of ['labels-orphan', 'record-unreadable', 'mount-leftover', 'container-dead']) assert.match(listing.stdout, new RegExp(`^${k} `, 'm'));
  assert.doesNotMatch(listing.stdout, new RegExp(path.basename(young)), 'a young file may be work in progress');

  const fixed = await berth(d, ['system', 'check', '--repair', '--format', 'json']);
  const report = JSON.parse(fixed.stdout) as CheckReport;
  assert.equal(fixed.code, 0, fixed.stdout);
  assert.ok(report.Findings.length >= 4 && report.Findings.every((f) => f.Repaired));
  assert.equal((await docker(d, ['inspect', '-f', '{{.State.Status}}', 'dies'])).stdout.trim(), 'exited');
  assert.equal((await fsp.stat(young)).isFile(), true);
  await fsp.rm(young);
  const again = await berth(d, ['system', 'check']);
  assert.equal(again.code, 0, again.stdout);
  assert.equal((await docker(d, ['rm', 'dies'])).code, 0);
});
