// Tests for state.ts: cases follow moby State.String().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statusString as containerStatus } from './state.js';

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
