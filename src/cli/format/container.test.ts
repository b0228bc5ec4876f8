// Tests for container.ts; port cases and Ellipsis cases are docker/cli's own
// (container_test.go TestDisplayablePorts, displayutils_test.go TestEllipsis).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createdAgo,
  ellipsis,
  formatPorts,
  shortId,
  truncateCommand,
  type PortLike,
} from './container.js';

const now = new Date('2024-05-01T12:00:00Z');

test('createdAgo is HumanDuration + " ago"', () => {
  const unix = now.getTime() / 1000;
  assert.equal(createdAgo(unix - 65, now), 'About a minute ago');
  assert.equal(createdAgo(unix - 120, now), '2 minutes ago');
  assert.equal(createdAgo(unix - 86_400, now), '24 hours ago');
  assert.equal(createdAgo(unix - 3 * 86_400, now), '3 days ago');
  assert.equal(createdAgo(unix, now), 'Less than a second ago');
  assert.equal(createdAgo(-62135596800, now), '');
});

test('truncateCommand quotes like strconv.Quote and ellipsizes to 20 columns', () => {
  assert.equal(truncateCommand("sh -c 'ls -la'"), `"sh -c 'ls -la'"`);
  assert.equal(truncateCommand('echo hello'), '"echo hello"');
  assert.equal(truncateCommand('docker-entrypoint.sh postgres'), '"docker-entrypoint.s…"');
  assert.equal(truncateCommand('/bin/sh -c "while true; do sleep 1; done"'), '"/bin/sh -c \\"while t…"');
  assert.equal(truncateCommand('docker-entrypoint.sh postgres', Infinity), '"docker-entrypoint.sh postgres"');
  assert.equal(truncateCommand(''), '""');
  assert.equal(truncateCommand('a\tb\nc'), '"a\\tb\\nc"');
});

test('ellipsis matches docker/cli TestEllipsis', () => {
  const cases: [string, number, string][] = [
    ['t🐳ststring', 0, ''],
    ['t🐳ststring', 1, 't'],
    ['t🐳ststring', 2, 't…'],
    ['t🐳ststring', 6, 't🐳st…'],
    ['t🐳ststring', 20, 't🐳ststring'],
    ['你好世界teststring', 0, ''],
    ['你好世界teststring', 1, '你'],
    ['你好世界teststring', 3, '你…'],
    ['你好世界teststring', 6, '你好…'],
    ['你好世界teststring', 20, '你好世界teststring'],
    ['this-is-a-long-volume-name-and-will-be-truncated-if-trunc-is-set', 15, 'this-is-a-long…'],
  ];
  for (const [s, w, want] of cases) assert.equal(ellipsis(s, w), want, `${s}/${w}`);
});

test('shortId keeps 12 characters and drops the algorithm', () => {
  assert.equal(shortId('sha256:a5a665ff33eced1e0803148700880edab4269067ed77e27737a708d0d293fbf5'), 'a5a665ff33ec');
  assert.equal(shortId('a5a665ff33eced1e0803148700880edab4269067ed77e27737a708d0d293fbf5'), 'a5a665ff33ec');
  assert.equal(shortId('abc'), 'abc');
});

test('formatPorts matches docker/cli TestDisplayablePorts', () => {
  const cases: [PortLike[], string][] = [
    [[{ PrivatePort: 9988, Type: 'tcp' }], '9988/tcp'],
    [[{ PrivatePort: 9988, Type: 'udp' }], '9988/udp'],
    [[{ IP: '0.0.0.0', PrivatePort: 9988, Type: 'tcp' }], '0.0.0.0:0->9988/tcp'],
    [[{ PrivatePort: 9988, PublicPort: 8899, Type: 'tcp' }], '9988/tcp'],
    [[{ IP: '4.3.2.1', PrivatePort: 9988, PublicPort: 8899, Type: 'tcp' }], '4.3.2.1:8899->9988/tcp'],
    [[{ IP: '4.3.2.1', PrivatePort: 9988, PublicPort: 9988, Type: 'tcp' }], '4.3.2.1:9988->9988/tcp'],
    [[{ PrivatePort: 9988, Type: 'udp' }, { PrivatePort: 9988, Type: 'udp' }], '9988/udp, 9988/udp'],
    [
      [
        { IP: '1.2.3.4', PublicPort: 9998, PrivatePort: 9998, Type: 'udp' },
        { IP: '1.2.3.4', PublicPort: 9999, PrivatePort: 9999, Type: 'udp' },
      ],
      '1.2.3.4:9998-9999->9998-9999/udp',
    ],
    [
      [
        { IP: '1.2.3.4', PublicPort: 8887, PrivatePort: 9998, Type: 'udp' },
        { IP: '1.2.3.4', PublicPort: 8888, PrivatePort: 9999, Type: 'udp' },
      ],
      '1.2.3.4:8887->9998/udp, 1.2.3.4:8888->9999/udp',
    ],
    [[{ PrivatePort: 9998, Type: 'udp' }, { PrivatePort: 9999, Type: 'udp' }], '9998-9999/udp'],
    [
      [
        { IP: '1.2.3.4', PrivatePort: 6677, PublicPort: 7766, Type: 'tcp' },
        { PrivatePort: 9988, PublicPort: 8899, Type: 'udp' },
      ],
      '9988/udp, 1.2.3.4:7766->6677/tcp',
    ],
    [
      [
        { IP: '1.2.3.4', PrivatePort: 9988, PublicPort: 8899, Type: 'udp' },
        { IP: '1.2.3.4', PrivatePort: 9988, PublicPort: 8899, Type: 'tcp' },
        { IP: '4.3.2.1', PrivatePort: 2233, PublicPort: 3322, Type: 'tcp' },
      ],
      '4.3.2.1:3322->2233/tcp, 1.2.3.4:8899->9988/tcp, 1.2.3.4:8899->9988/udp',
    ],
    [
      [
        { PrivatePort: 9988, PublicPort: 8899, Type: 'udp' },
        { IP: '1.2.3.4', PrivatePort: 6677, PublicPort: 7766, Type: 'tcp' },
        { IP: '4.3.2.1', PrivatePort: 2233, PublicPort: 3322, Type: 'tcp' },
      ],
      '9988/udp, 4.3.2.1:3322->2233/tcp, 1.2.3.4:7766->6677/tcp',
    ],
    [
      [
        { PrivatePort: 80, Type: 'tcp' },
        { PrivatePort: 1024, Type: 'tcp' },
        { PrivatePort: 80, Type: 'udp' },
        { PrivatePort: 1024, Type: 'udp' },
        { IP: '1.1.1.1', PublicPort: 80, PrivatePort: 1024, Type: 'tcp' },
        { IP: '1.1.1.1', PublicPort: 80, PrivatePort: 1024, Type: 'udp' },
        { IP: '1.1.1.1', PublicPort: 1024, PrivatePort: 80, Type: 'tcp' },
        { IP: '1.1.1.1', PublicPort: 1024, PrivatePort: 80, Type: 'udp' },
        { IP: '2.1.1.1', PublicPort: 80, PrivatePort: 1024, Type: 'tcp' },
        { IP: '2.1.1.1', PublicPort: 80, PrivatePort: 1024, Type: 'udp' },
        { IP: '2.1.1.1', PublicPort: 1024, PrivatePort: 80, Type: 'tcp' },
        { IP: '2.1.1.1', PublicPort: 1024, PrivatePort: 80, Type: 'udp' },
        { PrivatePort: 12345, Type: 'sctp' },
      ],
      '80/tcp, 80/udp, 1024/tcp, 1024/udp, 12345/sctp, 1.1.1.1:1024->80/tcp, 1.1.1.1:1024->80/udp, ' +
        '2.1.1.1:1024->80/tcp, 2.1.1.1:1024->80/udp, 1.1.1.1:80->1024/tcp, 1.1.1.1:80->1024/udp, ' +
        '2.1.1.1:80->1024/tcp, 2.1.1.1:80->1024/udp',
    ],
  ];
  for (const [ports, want] of cases) assert.equal(formatPorts(ports), want);
});

test('formatPorts brackets IPv6 addresses as docker v28 does', () => {
  assert.equal(
    formatPorts([
      { IP: '::', PrivatePort: 8080, PublicPort: 8080, Type: 'tcp' },
      { IP: '0.0.0.0', PrivatePort: 8080, PublicPort: 8080, Type: 'tcp' },
    ]),
    '0.0.0.0:8080->8080/tcp, [::]:8080->8080/tcp',
  );
  assert.equal(
    formatPorts([
      { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
      { IP: '::', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
    ]),
    '0.0.0.0:8080->80/tcp, [::]:8080->80/tcp',
  );
  assert.equal(
    formatPorts([
      { PrivatePort: 33060, Type: 'tcp' },
      { IP: '0.0.0.0', PrivatePort: 3306, PublicPort: 3307, Type: 'tcp' },
      { IP: '::', PrivatePort: 3306, PublicPort: 3307, Type: 'tcp' },
    ]),
    '33060/tcp, 0.0.0.0:3307->3306/tcp, [::]:3307->3306/tcp',
  );
  assert.equal(formatPorts([]), '');
});
