/**
 * Behaviour the Engine API gates on the version follows the version the
 * client asked for, as dockerd 28 does (each gate lives in
 * src/api/compat/versions.ts with its changelog line). Each case is checked
 * at an old and a new version, through dockerode pinned to a version, the
 * docker CLI with DOCKER_API_VERSION, or raw HTTP on `/v1.xx/...`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import { docker, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';
import { api } from './helpers/http.js';
import { busyboxRootfs } from './helpers/rootfs.js';
import { promises as fsp } from 'node:fs';

let d: TestDaemon;

before(async () => {
  d = await startDaemonWithBusybox();
});

after(async () => {
  await d?.cleanup();
});

const pinned = (version: string) => new Docker({ socketPath: d.socket, version: `v${version}` });

test('volume prune: before 1.42 named volumes go too (no "all" filter yet); from 1.42 only anonymous ones', async () => {
  await pinned('1.51').createVolume({ Name: 'named-a' });
  const modern = await pinned('1.51').pruneVolumes();
  assert.equal(modern.VolumesDeleted, null);
  assert.ok((await pinned('1.51').listVolumes()).Volumes.some((v) => v.Name === 'named-a'));

  const old = await pinned('1.41').pruneVolumes();
  assert.deepEqual(old.VolumesDeleted, ['named-a']);

  // The docker CLI negotiates down when told to.
  await pinned('1.51').createVolume({ Name: 'named-b' });
  const cli = await docker(d, ['volume', 'prune', '-f'], { env: { DOCKER_API_VERSION: '1.41' } });
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /named-b/);
  assert.deepEqual((await pinned('1.51').listVolumes()).Volumes, []);
});

test('images/json: <none>:<none> for untagged images before 1.43, empty lists after; Containers counted from 1.51', async () => {
  const { tar } = await busyboxRootfs();
  const imported = await api(d.socket, 'POST', '/v1.51/images/create?fromSrc=-', await fsp.readFile(tar), { 'Content-Type': 'application/x-tar' });
  assert.equal(imported.status, 200, imported.body.toString());
  const id = (JSON.parse(imported.body.toString().trim()) as { status: string }).status;

  type Summary = { Id: string; RepoTags: string[]; RepoDigests: string[]; Containers: number; VirtualSize?: number; Size: number };
  const at = async (v: string) => (await pinned(v).listImages()) as unknown as Summary[];
  const old = (await at('1.42')).find((i) => i.Id === id)!;
  assert.deepEqual(old.RepoTags, ['<none>:<none>']);
  assert.deepEqual(old.RepoDigests, ['<none>@<none>']);
  assert.equal(old.VirtualSize, old.Size);
  const modern = (await at('1.43')).find((i) => i.Id === id)!;
  assert.deepEqual(modern.RepoTags, []);
  assert.deepEqual(modern.RepoDigests, []);
  assert.equal((await at('1.44')).find((i) => i.Id === id)!.VirtualSize, undefined);

  const c = await pinned('1.51').createContainer({ Image: 'busybox', Cmd: ['true'] });
  try {
    const busybox = (v: Summary[]) => v.find((i) => i.RepoTags.includes('busybox:latest'))!;
    assert.equal(busybox(await at('1.50')).Containers, -1);
    assert.equal(busybox(await at('1.51')).Containers, 1);
  } finally {
    await c.remove();
    await api(d.socket, 'DELETE', `/v1.51/images/${id}`);
  }
});

test('image inspect: container-only Config fields until 1.49, gone from 1.50; ContainerConfig until 1.44', async () => {
  const inspect = async (v: string) => (await api(d.socket, 'GET', `/v${v}/images/busybox/json`)).json<{ Config: Record<string, unknown>; ContainerConfig?: unknown; Container?: string }>();
  const v149 = await inspect('1.49');
  for (const k of ['Hostname', 'Domainname', 'AttachStdin', 'Tty', 'OpenStdin', 'Image']) assert.ok(k in v149.Config, `${k} at 1.49`);
  const v150 = await inspect('1.50');
  for (const k of ['Hostname', 'Domainname', 'AttachStdin', 'Tty', 'OpenStdin', 'Image']) assert.ok(!(k in v150.Config), `${k} at 1.50`);
  for (const k of ['Cmd', 'Entrypoint', 'Env', 'Labels', 'OnBuild', 'User', 'Volumes', 'WorkingDir']) assert.ok(k in v150.Config, `${k} at 1.50`);
  assert.ok('ContainerConfig' in (await inspect('1.44')));
  assert.ok(!('ContainerConfig' in v150));
  // The docker CLI pinned to an old version sees the old shape too.
  const cli = await docker(d, ['image', 'inspect', '--format', '{{json .Config.Hostname}}', 'busybox'], { env: { DOCKER_API_VERSION: '1.49' } });
  assert.equal(cli.stdout.trim(), '""');
});

test('create: HealthConfig.StartInterval is read from 1.44 on', async () => {
  const body = {
    Image: 'busybox',
    Cmd: ['true'],
    Healthcheck: { Test: ['CMD', 'true'], Interval: 1_000_000_000, StartInterval: 2_000_000_000 },
  };
  const ids: string[] = [];
  try {
    for (const v of ['1.43', '1.44']) {
      const r = await api(d.socket, 'POST', `/v${v}/containers/create`, body);
      assert.equal(r.status, 201, r.body.toString());
      ids.push(r.json<{ Id: string }>().Id);
    }
    const config = async (id: string) => (await api(d.socket, 'GET', `/v1.51/containers/${id}/json`)).json<{ Config: { Healthcheck?: { StartInterval?: number; Interval?: number } } }>();
    const old = await config(ids[0]!);
    assert.equal(old.Config.Healthcheck?.Interval, 1_000_000_000);
    assert.equal(old.Config.Healthcheck?.StartInterval ?? 0, 0);
    const modern = await config(ids[1]!);
    assert.equal(modern.Config.Healthcheck?.StartInterval, 2_000_000_000);
  } finally {
    for (const id of ids) await api(d.socket, 'DELETE', `/v1.51/containers/${id}?force=1`);
  }
});

test('info: security options by name only before 1.25, Expected commits before 1.49, BridgeNf fields before 1.50', async () => {
  const old = (await api(d.socket, 'GET', '/v1.24/info')).json<Record<string, unknown> & { SecurityOptions: string[]; RuncCommit: { Expected?: string; ID: string } }>();
  assert.ok(old.SecurityOptions.includes('seccomp'), old.SecurityOptions.join(' '));
  assert.equal(old.RuncCommit.Expected, old.RuncCommit.ID);
  assert.equal(old.BridgeNfIptables, false);
  const modern = (await api(d.socket, 'GET', '/v1.51/info')).json<Record<string, unknown> & { SecurityOptions: string[]; RuncCommit: { Expected?: string } }>();
  assert.ok(modern.SecurityOptions.includes('name=seccomp,profile=builtin'));
  assert.equal(modern.RuncCommit.Expected, undefined);
  assert.equal('BridgeNfIptables' in modern, false);
});

test('wait: the condition is read from 1.30 on (an unknown one is a 400 there, ignored before)', async () => {
  const c = await pinned('1.51').createContainer({ Image: 'busybox', Cmd: ['true'] });
  try {
    const modern = await api(d.socket, 'POST', `/v1.51/containers/${c.id}/wait?condition=bogus`);
    assert.equal(modern.status, 400);
    assert.match(modern.json<{ message: string }>().message, /invalid condition: "bogus"/);
    const old = await api(d.socket, 'POST', `/v1.29/containers/${c.id}/wait?condition=bogus`);
    assert.equal(old.status, 200, old.body.toString());
    assert.equal(old.json<{ StatusCode: number }>().StatusCode, 0);
  } finally {
    await c.remove({ force: true });
  }
});

test('create: mount options on the wrong mount type are dropped before 1.42 and refused from 1.42; Subpath needs 1.45', async () => {
  const body = (mount: object) => ({ Image: 'busybox', Cmd: ['true'], HostConfig: { Mounts: [mount] } });
  const bindWithVolumeOptions = { Type: 'bind', Source: '/tmp', Target: '/mnt', VolumeOptions: { NoCopy: true } };
  const modern = await api(d.socket, 'POST', '/v1.51/containers/create', body(bindWithVolumeOptions));
  assert.equal(modern.status, 400);
  assert.equal(modern.json<{ message: string }>().message, 'VolumeOptions must not be specified on mount type "bind"');
  const old = await api(d.socket, 'POST', '/v1.41/containers/create', body(bindWithVolumeOptions));
  assert.equal(old.status, 201, old.body.toString());
  await api(d.socket, 'DELETE', `/v1.51/containers/${old.json<{ Id: string }>().Id}?force=1`);

  const subpath = { Type: 'volume', Source: 'subvol', Target: '/mnt', VolumeOptions: { Subpath: 'a' } };
  const early = await api(d.socket, 'POST', '/v1.44/containers/create', body(subpath));
  assert.equal(early.status, 400);
  assert.equal(early.json<{ message: string }>().message, 'VolumeOptions.Subpath needs API v1.45 or newer');
});
