/**
 * Healthchecks through the docker CLI v28: --health-* options run the check
 * as an exec on schedule; State.Health (Status, FailingStreak, the last five
 * results); `(healthy)` in ps; `health_status: …` events; the `health=` ps
 * filter; --no-healthcheck; an image's HEALTHCHECK honoured.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { docker, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';

let d: TestDaemon;

before(async () => {
  d = await startDaemonWithBusybox();
});

after(async () => {
  await d?.cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitHealth(name: string, want: string): Promise<string> {
  let status = '';
  for (let i = 0; i < 100; i++) {
    status = (await docker(d, ['inspect', '-f', '{{if .State.Health}}{{.State.Health.Status}}{{end}}', name])).stdout.trim();
    if (status === want) return status;
    await sleep(100);
  }
  return status;
}

test('a passing check makes the container healthy: State.Health, ps, events, filter', async () => {
  const r = await docker(d, ['run', '-d', '--name', 'ok', '--health-cmd', 'echo fine', '--health-interval', '300ms', 'busybox', 'sleep', '600']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await waitHealth('ok', 'healthy'), 'healthy');
  const h = JSON.parse((await docker(d, ['inspect', '-f', '{{json .State.Health}}', 'ok'])).stdout) as { Status: string; FailingStreak: number; Log: { ExitCode: number; Output: string; Start: string; End: string }[] };
  assert.equal(h.FailingStreak, 0);
  assert.equal(h.Log[0]!.ExitCode, 0);
  assert.equal(h.Log[0]!.Output, 'fine\n');
  const ps = await docker(d, ['ps', '--filter', 'health=healthy', '--format', '{{.Names}} {{.Status}}']);
  assert.match(ps.stdout, /^ok Up .* \(healthy\)$/m);
  assert.equal((await docker(d, ['ps', '-q', '--filter', 'health=unhealthy'])).stdout.trim(), '');
  let log: unknown[] = [];
  for (let i = 0; i < 300 && log.length < 5; i++) {
    await sleep(100);
    log = JSON.parse((await docker(d, ['inspect', '-f', '{{json .State.Health.Log}}', 'ok'])).stdout) as unknown[];
  }
  assert.equal(log.length, 5, 'five results');
  await sleep(800);
  log = JSON.parse((await docker(d, ['inspect', '-f', '{{json .State.Health.Log}}', 'ok'])).stdout) as unknown[];
  assert.equal(log.length, 5, 'only the last five results are kept');
  const ev = await docker(d, ['events', '--since', '0', '--until', String(Math.ceil(Date.now() / 1000) + 1), '--filter', 'container=ok', '--format', '{{.Action}}']);
  assert.match(ev.stdout, /^health_status: healthy$/m);
  assert.match(ev.stdout, /^exec_create: \/bin\/sh -c echo fine$/m);
  await docker(d, ['rm', '-f', 'ok']);
});

test('failing checks count after the start period; retries failures make it unhealthy; timeouts are -1', async () => {
  const r = await docker(d, ['run', '-d', '--name', 'bad', '--health-cmd', 'exit 3', '--health-interval', '200ms', '--health-retries', '2', 'busybox', 'sleep', '600']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await waitHealth('bad', 'unhealthy'), 'unhealthy');
  const h = JSON.parse((await docker(d, ['inspect', '-f', '{{json .State.Health}}', 'bad'])).stdout) as { FailingStreak: number; Log: { ExitCode: number }[] };
  assert.ok(h.FailingStreak >= 2);
  assert.equal(h.Log[0]!.ExitCode, 3);
  assert.match((await docker(d, ['ps', '--filter', 'name=bad', '--format', '{{.Status}}'])).stdout, /\(unhealthy\)/);
  const slow = await docker(d, ['run', '-d', '--name', 'slowcheck', '--health-cmd', 'sleep 5', '--health-interval', '200ms', '--health-timeout', '300ms', '--health-retries', '1', 'busybox', 'sleep', '600']);
  assert.equal(slow.code, 0, slow.stderr);
  assert.equal(await waitHealth('slowcheck', 'unhealthy'), 'unhealthy');
  const log = JSON.parse((await docker(d, ['inspect', '-f', '{{json .State.Health.Log}}', 'slowcheck'])).stdout) as { ExitCode: number; Output: string }[];
  assert.equal(log[0]!.ExitCode, -1);
  assert.equal(log[0]!.Output, 'Health check exceeded timeout (300ms)');
  // Within the start period, failures do not count: still starting.
  assert.equal((await docker(d, ['run', '-d', '--name', 'warm', '--health-cmd', 'false', '--health-interval', '200ms', '--health-start-period', '60s', '--health-start-interval', '200ms', '--health-retries', '1', 'busybox', 'sleep', '600'])).code, 0);
  await sleep(1000);
  assert.equal(await waitHealth('warm', 'starting'), 'starting');
  assert.match((await docker(d, ['ps', '--filter', 'name=warm', '--format', '{{.Status}}'])).stdout, /\(health: starting\)/);
  await docker(d, ['rm', '-f', 'bad', 'slowcheck', 'warm']);
});

test("an image's HEALTHCHECK is honoured; --no-healthcheck disables it", async () => {
  assert.equal((await docker(d, ['create', '--name', 'hbase', 'busybox', 'true'])).code, 0);
  // The Engine API's commit takes the new image's config as its body.
  const status = await new Promise<number>((resolve, reject) => {
    const req = http.request({ socketPath: d.socket, path: '/commit?container=hbase&repo=hcimg', method: 'POST', headers: { 'Content-Type': 'application/json' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end(JSON.stringify({ Healthcheck: { Test: ['CMD', 'echo', 'from-image'], Interval: 200_000_000 } }));
  });
  assert.equal(status, 201);
  assert.equal((await docker(d, ['run', '-d', '--name', 'img', 'hcimg', 'sleep', '600'])).code, 0);
  assert.equal(await waitHealth('img', 'healthy'), 'healthy');
  assert.equal((await docker(d, ['run', '-d', '--name', 'noh', '--no-healthcheck', 'hcimg', 'sleep', '600'])).code, 0);
  await sleep(600);
  assert.equal((await docker(d, ['inspect', '-f', '{{json .State.Health}}', 'noh'])).stdout.trim(), 'null');
  assert.equal((await docker(d, ['ps', '-q', '--filter', 'health=none', '--filter', 'name=noh'])).stdout.trim().length, 12);
  await docker(d, ['rm', '-f', 'img', 'noh', 'hbase']);
});

test('an exit leaves the status unhealthy; a daemon restart resumes the checks of running containers', async () => {
  assert.equal((await docker(d, ['run', '-d', '--name', 'life', '--health-cmd', 'true', '--health-interval', '200ms', 'busybox', 'sleep', '600'])).code, 0);
  assert.equal(await waitHealth('life', 'healthy'), 'healthy');
  await d.stop();
  await d.restart();
  // Restored as dockerd restores: starting again, then healthy from the next probe.
  assert.equal(await waitHealth('life', 'healthy'), 'healthy');
  const log = JSON.parse((await docker(d, ['inspect', '-f', '{{json .State.Health.Log}}', 'life'])).stdout) as unknown[];
  assert.ok(log.length >= 2, 'the results from before the restart are kept');
  assert.equal((await docker(d, ['stop', '-t', '0', 'life'])).code, 0);
  assert.equal(await waitHealth('life', 'unhealthy'), 'unhealthy');
  // A new start is `starting` again.
  assert.equal((await docker(d, ['start', 'life'])).code, 0);
  assert.match((await docker(d, ['inspect', '-f', '{{.State.Health.Status}}', 'life'])).stdout, /^(starting|healthy)$/m);
  await docker(d, ['rm', '-f', 'life']);
});
