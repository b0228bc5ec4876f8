/**
 * Image archives between berth and a real dockerd, both ways, checked by
 * image ID and layer digests: Docker's `save` loads into berth, and berth's
 * `save` (including a committed layer with a whiteout) loads into Docker and
 * runs there. Needs a peer dockerd (DOCKER_PEER_HOST, see
 * ../shared/reference/peers-and-machine.md); skipped without one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { docker, startDaemon } from './helpers/daemon.js';
import { busyboxRootfs } from './helpers/rootfs.js';

const peerHost = process.env.DOCKER_PEER_HOST;

test('docker save ↔ berth load, berth save ↔ docker load', { skip: !peerHost && 'no DOCKER_PEER_HOST (a real dockerd) to compare with', timeout: 180_000 }, async (t) => {
  const peer = { host: peerHost! };
  const d = await startDaemon();
  t.after(() => d.cleanup());
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bt-interop-'));
  t.after(() => fsp.rm(dir, { recursive: true, force: true }));
  const tag = `berth-interop-${process.pid}`;
  t.after(async () => {
    await docker(peer, ['rmi', '-f', `${tag}:docker`, `${tag}:base`, `${tag}:commit`]);
  });
  const must = async (h: { host: string }, args: string[]) => {
    const r = await docker(h, args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const { tar } = await busyboxRootfs();

  // Docker → berth.
  const dockerId = await must(peer, ['import', tar, `${tag}:docker`]);
  await must(peer, ['save', '-o', path.join(dir, 'from-docker.tar'), `${tag}:docker`]);
  assert.match(await must(d, ['load', '-i', path.join(dir, 'from-docker.tar')]), new RegExp(`Loaded image: ${tag}:docker`));
  assert.equal(await must(d, ['image', 'inspect', '-f', '{{.Id}}', `${tag}:docker`]), dockerId);
  assert.equal(await must(d, ['run', '--rm', `${tag}:docker`, 'echo', 'ok']), 'ok');

  // berth → Docker, with a committed layer that deletes a file.
  await must(d, ['import', tar, `${tag}:base`]);
  await must(d, ['run', '--name', 'mod', `${tag}:base`, 'sh', '-c', 'echo changed > /etc/marker; rm /bin/vi']);
  const committed = await must(d, ['commit', 'mod', `${tag}:commit`]);
  await must(d, ['save', '-o', path.join(dir, 'from-berth.tar'), `${tag}:base`, `${tag}:commit`]);
  await must(peer, ['load', '-i', path.join(dir, 'from-berth.tar')]);
  assert.equal(await must(peer, ['image', 'inspect', '-f', '{{.Id}}', `${tag}:commit`]), committed);
  assert.equal(
    await must(peer, ['image', 'inspect', '-f', '{{json .RootFS.Layers}}', `${tag}:commit`]),
    await must(d, ['image', 'inspect', '-f', '{{json .RootFS.Layers}}', `${tag}:commit`]),
  );
  assert.equal(await must(peer, ['run', '--rm', '--network', 'none', `${tag}:commit`, 'cat', '/etc/marker']), 'changed');
  const gone = await docker(peer, ['run', '--rm', '--network', 'none', `${tag}:commit`, 'ls', '/bin/vi']);
  assert.notEqual(gone.code, 0, 'the whiteout hides /bin/vi in Docker too');
});
