import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseExpose, parsePublish, type ParsedPorts } from './ports.js';

function parse(...specs: string[]): ParsedPorts {
  const out: ParsedPorts = { exposed: {}, bindings: {} };
  for (const s of specs) parsePublish(s, out);
  return out;
}

test('-p forms as the docker CLI sends them', () => {
  assert.deepEqual(parse('8080:80').bindings, { '80/tcp': [{ HostIp: '', HostPort: '8080' }] });
  assert.deepEqual(parse('80').bindings, { '80/tcp': [{ HostIp: '', HostPort: '' }] });
  assert.deepEqual(parse('127.0.0.1:8080:80/udp').bindings, { '80/udp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] });
  assert.deepEqual(parse('127.0.0.1::80').bindings, { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] });
  assert.deepEqual(parse('[::1]:8080:80').bindings, { '80/tcp': [{ HostIp: '::1', HostPort: '8080' }] });
  assert.deepEqual(parse('8000-8001:80-81').bindings, {
    '80/tcp': [{ HostIp: '', HostPort: '8000' }],
    '81/tcp': [{ HostIp: '', HostPort: '8001' }],
  });
  assert.deepEqual(parse('9000-9009:80').bindings, { '80/tcp': [{ HostIp: '', HostPort: '9000-9009' }] });
  assert.deepEqual(parse('8080:80', '8081:80').bindings, { '80/tcp': [{ HostIp: '', HostPort: '8080' }, { HostIp: '', HostPort: '8081' }] });
  assert.deepEqual(parse('8080:80').exposed, { '80/tcp': {} });
});

test('bad -p and --expose values are refused', () => {
  assert.throws(() => parse('8080:80/foo'), /invalid proto: foo/);
  assert.throws(() => parse('abc'), /invalid containerPort: abc/);
  assert.throws(() => parse('8000-8002:80-81'), /invalid ranges specified for container and host Ports: 80-81 and 8000-8002/);
  assert.throws(() => parse('70000:80'), /invalid hostPort: 70000/);
  const out: ParsedPorts = { exposed: {}, bindings: {} };
  parseExpose('7000-7001/udp', out);
  assert.deepEqual(out.exposed, { '7000/udp': {}, '7001/udp': {} });
});
