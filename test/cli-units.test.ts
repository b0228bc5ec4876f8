/**
 * The CLI's pure helpers, checked against what Go/docker produce: JSON
 * indentation, flag value parsers, --since/--until conversion, boolean flag
 * normalisation and the create body built from flags. No daemon needed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Command } from 'commander';
import { encodeQuery } from '../src/client/client.js';
import { parseHost } from '../src/client/host.js';
import { defineCommand, normalizeBooleanFlags } from '../src/cli/command.js';
import { jsonCompact, jsonIndent } from '../src/cli/jsonindent.js';
import { effectiveCaps, parseCpus, parseEnvFile, parseExtraHost, parseIntFlag, parseRestartPolicy, parseUlimit, ulimitList } from '../src/cli/opts.js';
import { buildContainerConfig } from '../src/cli/runconfig.js';
import { getTimestamp, parseGoDuration } from '../src/common/timestamp.js';

test('jsonIndent matches Go json.Indent(prefix "", indent 4 spaces)', () => {
  const raw = '[{"Id":"x","A":[],"B":{},"C":[1,2.50,{"d":null}],"S":"a \\" \\u003c, {b}: c"}\n,{"E":true}]';
  assert.equal(
    jsonIndent(raw, '', '    '),
    '[\n    {\n        "Id": "x",\n        "A": [],\n        "B": {},\n        "C": [\n            1,\n            2.50,\n            {\n                "d": null\n            }\n        ],\n' +
      '        "S": "a \\" \\u003c, {b}: c"\n    },\n    {\n        "E": true\n    }\n]',
  );
  assert.equal(jsonCompact('[ {"a" : [ 1 , "x y" ] } ]'), '[{"a":[1,"x y"]}]');
});

test('flag value parsers use docker semantics and wording', () => {
  assert.equal(parseCpus('1.5'), 1_500_000_000);
  assert.equal(parseCpus('3/2'), 1_500_000_000);
  assert.equal(parseCpus('0.000000001'), 1);
  assert.throws(() => parseCpus('1.0000000001'), /value is too precise/);
  assert.throws(() => parseCpus('abc'), /failed to parse abc as a rational number/);
  assert.equal(parseIntFlag('0x10'), 16);
  assert.equal(parseIntFlag('-1'), -1);
  assert.throws(() => parseIntFlag('x'), /strconv.ParseInt: parsing "x": invalid syntax/);
  assert.deepEqual(parseUlimit('nofile=1024:2048'), { Name: 'nofile', Hard: 2048, Soft: 1024 });
  assert.deepEqual(parseUlimit('nproc=10'), { Name: 'nproc', Hard: 10, Soft: 10 });
  assert.throws(() => parseUlimit('nofile=3:2'), /ulimit soft limit must be less than or equal to hard limit: 3 > 2/);
  assert.throws(() => parseUlimit('xx=1'), /invalid ulimit type: xx/);
  assert.deepEqual(ulimitList([parseUlimit('nproc=1'), parseUlimit('core=1'), parseUlimit('nproc=2')]).map((u) => `${u.Name}=${u.Soft}`), ['core=1', 'nproc=2']);
  assert.deepEqual(effectiveCaps(['net_admin', 'CAP_CHOWN', 'chown'], ['ALL', 'x']), { capAdd: ['CAP_CHOWN', 'CAP_NET_ADMIN'], capDrop: ['ALL'] });
  assert.deepEqual(effectiveCaps([], []), { capAdd: null, capDrop: null });
  assert.equal(parseExtraHost('foo=1.2.3.4'), 'foo:1.2.3.4');
  assert.equal(parseExtraHost('foo:[::1]'), 'foo:::1');
  assert.throws(() => parseExtraHost('foo'), /bad format for add-host: "foo"/);
  assert.deepEqual(parseRestartPolicy('on-failure:3'), { Name: 'on-failure', MaximumRetryCount: 3 });
  assert.throws(() => parseRestartPolicy('on-failure:x'), /maximum retry count must be an integer/);
});

test('env files: comments, trailing spaces kept, bare names from the environment', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bt-envf-'));
  try {
    const f = path.join(dir, 'env');
    writeFileSync(f, '\uFEFFA=1\n# c\n\n  B=x y \r\nBERTH_TEST_SET\nBERTH_TEST_UNSET\n');
    process.env.BERTH_TEST_SET = 'v';
    assert.deepEqual(parseEnvFile(f), ['A=1', 'B=x y ', 'BERTH_TEST_SET=v']);
    assert.throws(() => parseEnvFile(path.join(dir, 'none')), /^Error: open .*none: no such file or directory$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--since/--until values', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  assert.equal(parseGoDuration('1h30m'), 5400e9);
  assert.equal(getTimestamp('10m', now), String(now.getTime() / 1000 - 600));
  assert.equal(getTimestamp('2026-01-01T00:00:01.5Z', now), '1767225601.500000000');
  assert.equal(getTimestamp('1700000000.25', now), '1700000000.25');
  assert.throws(() => getTimestamp('xyz', now), /failed to parse value as time or duration: "xyz"/);
});

test('--flag=true/false is rewritten up to the container command', () => {
  const root = new Command('berth').enablePositionalOptions();
  root.option('-H, --host <h>');
  defineCommand(root, { name: 'run', use: 'run IMAGE', description: '', args: { min: 1 }, passThrough: true }, async () => undefined)
    .option('--rm')
    .option('-e, --env <v>')
    .option('--sig-proxy')
    .option('--no-sig-proxy');
  defineCommand(root, { name: 'ps', use: 'ps', description: '', args: 'none' }, async () => undefined).option('-a, --all');
  assert.deepEqual(normalizeBooleanFlags(root, ['ps', '--all=true']), ['ps', '--all']);
  assert.deepEqual(
    normalizeBooleanFlags(root, ['-H', 'x', 'run', '--rm=true', '-e', '--rm=false', '--sig-proxy=false', 'img', '--rm=false']),
    ['-H', 'x', 'run', '--rm', '-e', '--rm=false', '--no-sig-proxy', 'img', '--rm=false'],
  );
});

test('create body from flags, in docker fields', () => {
  const cfg = buildContainerConfig(
    { pull: 'missing', interactive: true, tty: true, env: ['A=1', undefined], entrypoint: '', label: ['a=b', 'c'], tmpfs: ['/run:size=1m', '/x'], memory: 1024, rm: true },
    'busybox',
    ['sh'],
    [30, 120],
  );
  const b = cfg.body;
  assert.equal(b.Tty, true);
  assert.equal(b.OpenStdin, true);
  assert.equal(b.StdinOnce, true);
  assert.deepEqual(b.Env, ['A=1']);
  assert.deepEqual(b.Entrypoint, ['']);
  assert.deepEqual(b.Labels, { a: 'b', c: '' });
  assert.deepEqual(b.HostConfig.Tmpfs, { '/run': 'size=1m', '/x': '' });
  assert.deepEqual(b.HostConfig.ConsoleSize, [30, 120]);
  assert.equal(b.HostConfig.AutoRemove, true);
  assert.equal('NetworkMode' in b.HostConfig, false);
  assert.throws(() => buildContainerConfig({ pull: 'missing', rm: true, restart: 'always' }, 'x', []), /conflicting options: cannot specify both --restart and --rm/);
});

test('client: query encoding and host parsing', () => {
  assert.equal(encodeQuery({ tag: '1', repo: 'a/b', all: true, size: false, changes: ['CMD ["sh"]', 'ENV A=1'] }), '?all=1&changes=CMD+%5B%22sh%22%5D&changes=ENV+A%3D1&repo=a%2Fb&tag=1');
  assert.deepEqual(parseHost('unix:///run/berth/berth.sock'), { kind: 'unix', path: '/run/berth/berth.sock', url: 'unix:///run/berth/berth.sock' });
  assert.deepEqual(parseHost('tcp://10.0.0.1'), { kind: 'tcp', host: '10.0.0.1', port: 2375, url: 'tcp://10.0.0.1:2375' });
  assert.throws(() => parseHost('ssh://x'), /only unix:\/\/ and tcp:\/\//);
});
