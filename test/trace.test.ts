/**
 * berthd --debug logs where each request's time went: `docker run --rm`
 * through the real docker CLI leaves trace lines for create (snapshot
 * prepare, record), start (mount, spec, runtime create and start) and the
 * container's exit (exit detection, cleanup, removal), whose phases are
 * never negative and cover their totals.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { docker, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';
import { parseTraceLine } from '../src/engine/trace.js';

let d: TestDaemon;

before(async () => {
  d = await startDaemonWithBusybox();
});

after(async () => {
  await d?.cleanup();
});

test('run --rm leaves a trace per request and one for the exit, phases adding up to the totals', async () => {
  const mark = (await d.log()).length;
  const r = await docker(d, ['run', '--rm', '--network', 'none', 'busybox', 'true']);
  assert.equal(r.code, 0, r.stderr);
  // The exit's trace is logged once removal is done; the CLI returns as it is.
  let traces: ReturnType<typeof parseTraceLine>[] = [];
  for (let i = 0; i < 50; i++) {
    const log = (await d.log()).slice(mark);
    traces = log.split('\n').filter((l) => l.includes('msg="trace ')).map(parseTraceLine);
    if (traces.some((t) => t?.name === 'exit')) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  const byName = (n: string) => traces.find((t) => t?.name === n);
  const create = byName('POST /containers/create');
  const start = byName('POST /containers/{id}/start');
  const exit = byName('exit');
  assert.ok(create && start && exit, JSON.stringify(traces));
  for (const p of ['api-parse', 'validate', 'image', 'snapshot-prepare', 'record']) assert.ok(p in create.phases, `create lacks ${p}: ${JSON.stringify(create)}`);
  for (const p of ['snapshot-mount', 'cni', 'etc-files', 'spec', 'runtime-create', 'runtime-start', 'record']) assert.ok(p in start.phases, `start lacks ${p}: ${JSON.stringify(start)}`);
  for (const p of ['exit-detect', 'runc-delete', 'snapshot-unmount', 'cni-release', 'cleanup', 'record', 'remove']) assert.ok(p in exit.phases, `exit lacks ${p}: ${JSON.stringify(exit)}`);
  // conmon+runc do the work of a start: they cannot take no time.
  assert.ok(start.phases['runtime-create']! > 0, JSON.stringify(start));
  // Phases never come out negative, and cover the whole time: more than it where spans ran side by side (the exit's cleanups).
  for (const t of [create, start, exit]) {
    for (const [k, v] of Object.entries(t.phases)) assert.ok(v >= 0, `${t.name}: ${k}=${v}`);
    const sum = Object.values(t.phases).reduce((a, b) => a + b, 0);
    assert.ok(sum >= t.totalMs - 1, `${t.name}: phases ${sum} vs total ${t.totalMs}`);
  }
  // Other requests are traced by their route, the container's ID left out.
  assert.ok(traces.some((t) => t?.name === 'POST /containers/{id}/wait'), JSON.stringify(traces.map((t) => t?.name)));
});
