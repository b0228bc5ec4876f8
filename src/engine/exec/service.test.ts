/** Unit tests for the exec helpers: detach keys, start failures, the exec process, conmon's sync messages. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildExecProcess, detachKeyBytes, execStartFailure } from './service.js';
import { parseSyncMessage } from '../runtime/conmon.js';

test('detachKeyBytes follows moby term.ToBytes', () => {
  assert.deepEqual([...detachKeyBytes('ctrl-p,ctrl-q')], [16, 17]);
  assert.deepEqual([...detachKeyBytes('a,ctrl-@,ctrl-[,ctrl-_')], [97, 0, 27, 31]);
  assert.throws(() => detachKeyBytes('ctrl-1'), /Invalid escape keys \(ctrl-1\) provided/);
  assert.throws(() => detachKeyBytes('abc'), /Invalid escape keys/);
});

test('execStartFailure: 127 for a missing command, 126 otherwise', () => {
  const missing = execStartFailure('nosuch', new Error('OCI runtime exec failed: exec failed: unable to start container process: exec: "nosuch": executable file not found in $PATH: unknown'));
  assert.equal(missing.code, 127);
  assert.equal(missing.error.kind, 'invalid');
  assert.equal(execStartFailure('/etc/passwd', new Error('exec: "/etc/passwd": permission denied')).code, 126);
  // A missing cwd names a file that is not the command: 126, as dockerd.
  assert.equal(execStartFailure('true', new Error('chdir to cwd ("/x") set in config.json failed: no such file or directory')).code, 126);
  assert.equal(execStartFailure('true', new Error('something else')).error.kind, 'system');
});

test('parseSyncMessage reads conmon\'s JSON, and its unescaped variants', () => {
  assert.deepEqual(parseSyncMessage('{"data": 1234}'), { data: 1234 });
  assert.deepEqual(parseSyncMessage('{"data": -1, "message": "exec failed: \\"x\\""}'), { data: -1, message: 'exec failed: "x"' });
  assert.deepEqual(parseSyncMessage('{"data": -1, "message": "bad \u0001 byte"}'), { data: -1, message: 'bad \u0001 byte' });
  assert.equal(parseSyncMessage('garbage').data, -1);
});

test('buildExecProcess: the container\'s process with the exec\'s args, env, user and terminal', async () => {
  const rootfs = await fsp.mkdtemp(path.join(os.tmpdir(), 'bt-execproc-'));
  try {
    await fsp.mkdir(path.join(rootfs, 'etc'));
    await fsp.writeFile(path.join(rootfs, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\nnobody:x:65534:65534::/home:/bin/false\n');
    await fsp.writeFile(path.join(rootfs, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
    const containerProcess = {
      terminal: true,
      consoleSize: { height: 1, width: 2 },
      user: { uid: 0, gid: 0 },
      args: ['sleep', '1000'],
      env: ['PATH=/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: ['CAP_CHOWN', 'CAP_KILL'], effective: ['CAP_CHOWN', 'CAP_KILL'], permitted: ['CAP_CHOWN', 'CAP_KILL'] },
      noNewPrivileges: true,
      rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1, hard: 1 }],
    };
    const root = await buildExecProcess({
      containerProcess, rootfs, args: ['sh', '-c', 'true'], env: ['PATH=/bin', 'A=1'], cwd: '', user: '', tty: false, privileged: false,
    });
    assert.deepEqual(root, {
      terminal: false,
      user: { uid: 0, gid: 0, additionalGids: [0] },
      args: ['sh', '-c', 'true'],
      env: ['PATH=/bin', 'A=1'],
      cwd: '/',
      capabilities: { bounding: ['CAP_CHOWN', 'CAP_KILL'], effective: ['CAP_CHOWN', 'CAP_KILL'], permitted: ['CAP_CHOWN', 'CAP_KILL'] },
      noNewPrivileges: true,
    });
    const nobody = await buildExecProcess({
      containerProcess, rootfs, args: ['id'], env: [], cwd: '/tmp', user: 'nobody', tty: true, consoleSize: [30, 100], privileged: false,
      ulimits: [{ Name: 'nofile', Soft: 100, Hard: 200 }],
    });
    assert.deepEqual(nobody.user, { uid: 65534, gid: 65534, additionalGids: [65534] });
    assert.deepEqual(nobody.capabilities, { bounding: ['CAP_CHOWN', 'CAP_KILL'] });
    assert.deepEqual(nobody.consoleSize, { height: 30, width: 100 });
    assert.equal(nobody.terminal, true);
    // Rebuilt from the container's ulimits, not copied from its config.json.
    assert.deepEqual(nobody.rlimits, [{ type: 'RLIMIT_NOFILE', soft: 100, hard: 200 }]);
    await assert.rejects(
      buildExecProcess({ containerProcess, rootfs, args: ['id'], env: [], cwd: '/', user: 'ghost', tty: false, privileged: false }),
      /unable to find user ghost: no matching entries in passwd file/,
    );
  } finally {
    await fsp.rm(rootfs, { recursive: true, force: true });
  }
});
