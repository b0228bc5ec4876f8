// Tests for state.ts: cases follow moby State.String().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canTransition, initialState, statusString as containerStatus, transition, TRANSITIONS } from './state.js';

const now = new Date('2024-05-01T12:00:00Z');
const ago = (ms: number): string => new Date(now.getTime() - ms).toISOString();

test('containerStatus follows moby State.String()', () => {
  const base = { ExitCode: 0, StartedAt: '0001-01-01T00:00:00Z', FinishedAt: '0001-01-01T00:00:00Z' };
  assert.equal(containerStatus({ ...base, Status: 'created' }, now), 'Created');
  assert.equal(containerStatus({ ...base, Status: 'created', StartedAt: '' }, now), 'Created');
  assert.equal(containerStatus({ ...base, Status: 'running', StartedAt: ago(3_000) }, now), 'Up 3 seconds');
  assert.equal(containerStatus({ ...base, Status: 'running', StartedAt: ago(1_500) }, now), 'Up 1 second');
  assert.equal(containerStatus({ ...base, Status: 'running', StartedAt: ago(500) }, now), 'Up Less than a second');
  assert.equal(containerStatus({ ...base, Status: 'running', StartedAt: ago(65_000) }, now), 'Up About a minute');
  assert.equal(containerStatus({ ...base, Status: 'paused', StartedAt: ago(120_000) }, now), 'Up 2 minutes (Paused)');
  assert.equal(
    containerStatus({ ...base, Status: 'running', Paused: true, StartedAt: ago(120_000) }, now),
    'Up 2 minutes (Paused)',
  );
  assert.equal(
    containerStatus({ ...base, Status: 'restarting', ExitCode: 1, StartedAt: ago(60_000), FinishedAt: ago(5_000) }, now),
    'Restarting (1) 5 seconds ago',
  );
  assert.equal(
    containerStatus({ ...base, Status: 'running', StartedAt: ago(3_600_000), Health: 'healthy' }, now),
    'Up About an hour (healthy)',
  );
  assert.equal(
    containerStatus({ ...base, Status: 'running', StartedAt: ago(10_000), Health: 'starting' }, now),
    'Up 10 seconds (health: starting)',
  );
  assert.equal(
    containerStatus({ ...base, Status: 'running', StartedAt: ago(10_000), Health: 'unhealthy' }, now),
    'Up 10 seconds (unhealthy)',
  );
  assert.equal(
    containerStatus({ ...base, Status: 'exited', ExitCode: 0, StartedAt: ago(600_000), FinishedAt: ago(120_000) }, now),
    'Exited (0) 2 minutes ago',
  );
  assert.equal(
    containerStatus({ ...base, Status: 'exited', ExitCode: 137, StartedAt: ago(600_000), FinishedAt: ago(2 * 86_400_000) }, now),
    'Exited (137) 2 days ago',
  );
  assert.equal(containerStatus({ ...base, Status: 'removing', StartedAt: ago(1000) }, now), 'Removal In Progress');
  assert.equal(containerStatus({ ...base, Status: 'dead', StartedAt: ago(1000) }, now), 'Dead');
  // started but no finish time recorded: moby returns an empty string
  assert.equal(containerStatus({ ...base, Status: 'exited', StartedAt: ago(1000) }, now), '');
  // nanosecond timestamps as the engine writes them
  assert.equal(
    containerStatus({ ...base, Status: 'running', StartedAt: '2024-05-01T11:59:30.123456789Z' }, now),
    'Up 29 seconds',
  );
});

test('transitions: every field follows the status', () => {
  const at = new Date('2024-05-01T12:00:00Z');
  let s = initialState();
  assert.equal(s.Status, 'created');
  s = transition(s, 'start', { pid: 42, at });
  assert.deepEqual(
    [s.Status, s.Running, s.Paused, s.Restarting, s.Pid, s.ExitCode, s.Error, s.StartedAt],
    ['running', true, false, false, 42, 0, '', at.toISOString()],
  );
  s = transition(s, 'pause');
  assert.deepEqual([s.Status, s.Running, s.Paused], ['paused', true, true], 'moby keeps Running set while paused');
  s = transition(s, 'unpause');
  assert.deepEqual([s.Status, s.Running, s.Paused], ['running', true, false]);
  s = transition(s, 'exit', { exitCode: 137, oomKilled: true, at });
  assert.deepEqual(
    [s.Status, s.Running, s.Pid, s.ExitCode, s.OOMKilled, s.FinishedAt],
    ['exited', false, 0, 137, true, at.toISOString()],
  );
  s = transition(s, 'restart-pending');
  assert.deepEqual([s.Status, s.Restarting, s.Running], ['restarting', true, false]);
  s = transition(s, 'restart-abandoned', { error: 'no such file' });
  assert.deepEqual([s.Status, s.Restarting, s.Error], ['exited', false, 'no such file']);
  const failed = transition(s, 'start-failed', { exitCode: 127, error: 'not found' });
  assert.deepEqual([failed.Status, failed.ExitCode, failed.Error], ['exited', 127, 'not found'], 'a failed start keeps the status');
  s = transition(s, 'remove');
  assert.equal(s.Status, 'removing');
  s = transition(s, 'removal-failed');
  assert.deepEqual([s.Status, s.Dead], ['dead', true]);
});

test('transitions the table does not allow are refused', () => {
  const created = initialState();
  assert.equal(canTransition('created', 'pause'), false);
  assert.throws(() => transition(created, 'pause'), /cannot pause a container that is created/);
  assert.throws(() => transition(created, 'exit'), /cannot exit/);
  const running = transition(created, 'start', { pid: 1 });
  assert.throws(() => transition(running, 'start'), /cannot start a container that is running/);
  assert.throws(() => transition(running, 'remove'), /cannot remove a container that is running/);
  for (const [name, t] of Object.entries(TRANSITIONS)) {
    for (const from of t.from) assert.ok(canTransition(from, name as keyof typeof TRANSITIONS));
  }
});
