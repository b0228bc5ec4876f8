/**
 * dockerode (an SDK that sends unversioned paths unless told otherwise)
 * drives berthd: ping, version, import, run with a demultiplexed attach,
 * logs, list, inspect and remove.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { startDaemon, type TestDaemon } from './helpers/daemon.js';
import { busyboxRootfs } from './helpers/rootfs.js';

let d: TestDaemon;
let client: Docker;

before(async () => {
  d = await startDaemon();
  client = new Docker({ socketPath: d.socket });
});

after(async () => {
  await d?.cleanup();
});

function collect(s: PassThrough): () => string {
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  return () => Buffer.concat(chunks).toString();
}

test('ping and version', async () => {
  assert.equal(String(await client.ping()), 'OK');
  const v = await client.version();
  assert.equal(v.ApiVersion, '1.51');
  assert.equal(v.Os, 'linux');
});

test('import, then run a container with attach, wait and logs', async () => {
  const { tar } = await busyboxRootfs();
  const stream = await client.importImage(createReadStream(tar), { repo: 'busybox', tag: 'latest' });
  const out = await new Promise<string>((resolve, reject) => {
    let s = '';
    stream.on('data', (c: Buffer) => (s += c.toString()));
    stream.on('end', () => resolve(s));
    stream.on('error', reject);
  });
  assert.match(out, /"status":"sha256:[0-9a-f]{64}"/);
  const images = await client.listImages();
  assert.deepEqual(images.map((i) => i.RepoTags), [['busybox:latest']]);

  const container = await client.createContainer({
    Image: 'busybox',
    Cmd: ['sh', '-c', 'echo to-out; echo to-err >&2; exit 5'],
    AttachStdout: true,
    AttachStderr: true,
  });
  const attach = await container.attach({ stream: true, stdout: true, stderr: true, hijack: true });
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const readOut = collect(stdout);
  const readErr = collect(stderr);
  container.modem.demuxStream(attach, stdout, stderr);
  const ended = new Promise((r) => attach.on('end', r));
  await container.start();
  const result = (await container.wait()) as { StatusCode: number };
  await ended;
  assert.equal(result.StatusCode, 5);
  assert.equal(readOut(), 'to-out\n');
  assert.equal(readErr(), 'to-err\n');

  const logs = (await container.logs({ stdout: true, stderr: true, timestamps: true })) as unknown as Buffer;
  // stdcopy frames: [stream,0,0,0,len] + "RFC3339Nano message"
  assert.equal(logs[0], 1);
  assert.match(logs.subarray(8, 8 + logs.readUInt32BE(4)).toString(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z to-out\n$/);

  const info = await container.inspect();
  assert.equal(info.State.ExitCode, 5);
  assert.equal(info.State.Status, 'exited');
  const listed = await client.listContainers({ all: true });
  assert.equal(listed.length, 1);
  assert.equal(listed[0]!.Id, container.id);
  assert.equal(listed[0]!.State, 'exited');
  await container.remove();
  assert.equal((await client.listContainers({ all: true })).length, 0);
});

test('errors come back with Docker status codes', async () => {
  await assert.rejects(client.getContainer('nosuch').inspect(), (err: { statusCode?: number }) => err.statusCode === 404);
  await assert.rejects(client.createContainer({ Image: 'nosuch', Cmd: ['true'] }), (err: { statusCode?: number }) => err.statusCode === 404);
});
