/**
 * The exec session table as the container service sees it (ExecHooks): a
 * container's ExecIDs, and what its stop and its removal drop (moby's rules).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExecSessions, type ExecSession } from './sessions.js';

function session(id: string, containerId: string, o: Partial<ExecSession> = {}): ExecSession {
  return {
    id, containerId, entrypoint: 'sh', args: [], tty: false, openStdin: false, openStdout: true, openStderr: true,
    privileged: false, user: '', workingDir: '', env: [], detachKeys: Buffer.alloc(0), running: false, startCalled: false,
    exitCode: null, pid: 0, canRemove: false, started: Promise.resolve(), markStarted: () => undefined, dir: `/x/${id}`, ...o,
  };
}

test('ExecIDs are the sessions that have not finished, oldest first', () => {
  const t = new ExecSessions();
  t.set('a', session('a', 'c1'));
  t.set('b', session('b', 'c1', { startCalled: true, running: true }));
  t.set('c', session('c', 'c1', { startCalled: true, exitCode: 0 }));
  t.set('d', session('d', 'c2'));
  assert.deepEqual(t.idsFor('c1'), ['a', 'b']);
  assert.deepEqual(t.idsFor('c3'), []);
});

test('a stop drops sessions never started; a removal drops those not running', () => {
  const t = new ExecSessions();
  t.set('new', session('new', 'c1'));
  t.set('run', session('run', 'c1', { startCalled: true, running: true }));
  t.set('done', session('done', 'c1', { startCalled: true, exitCode: 1 }));
  t.set('other', session('other', 'c2'));
  t.containerStopped('c1');
  assert.deepEqual([...t.keys()], ['run', 'done', 'other']);
  t.containerRemoved('c1');
  assert.deepEqual([...t.keys()], ['run', 'other']);
});
