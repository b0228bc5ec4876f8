import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventLog, eventFilter, type EngineEvent } from './events.js';

test('eventFilter: values of a key are alternatives, keys must all match; unknown keys are invalid', () => {
  const log = new EventLog();
  const seen: EngineEvent[] = [];
  log.subscribe((e) => seen.push(e));
  log.publish('container', 'start', 'abc123', { name: 'web', image: 'busybox' });
  log.publish('container', 'exec_start: sh', 'abc123', { name: 'web' });
  log.publish('image', 'tag', 'sha256:1', { name: 'busybox:latest' });
  const pick = (f: Record<string, string[]>) => seen.filter(eventFilter(f)).map((e) => e.Action);
  assert.deepEqual(pick({ type: ['container'] }), ['start', 'exec_start: sh']);
  assert.deepEqual(pick({ event: ['exec_start'] }), ['exec_start: sh']);
  assert.deepEqual(pick({ container: ['web'], event: ['start', 'die'] }), ['start']);
  assert.deepEqual(pick({ image: ['busybox'] }), ['start']);
  assert.deepEqual(pick({ label: ['name=busybox:latest'] }), ['tag']);
  assert.throws(() => eventFilter({ colour: ['red'] }), /invalid filter 'colour'/);
});

test('watch replays from since, then ends at until', async () => {
  const log = new EventLog();
  let published: EngineEvent | undefined;
  log.subscribe((e) => (published = e));
  log.publish('volume', 'create', 'v1');
  // Until the event's own time (already past): the replay is all there is, and watch returns at once.
  const at = published!.timeNano;
  const got: string[] = [];
  await log.watch({ sinceNano: at - 1e9, untilNano: at, filter: () => true }, (e) => got.push(e.Actor.ID), new AbortController().signal);
  assert.deepEqual(got, ['v1']);
});
