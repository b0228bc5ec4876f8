/** Unit tests for the Go wire formats of the archive API: os.FileMode bits and time.Time's RFC 3339 text. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goFileMode, goTimeNs } from './archive.js';

test('goFileMode maps st_mode to Go os.FileMode bits', () => {
  assert.equal(goFileMode(0o100644), 0o644);
  assert.equal(goFileMode(0o40755), 2 ** 31 + 0o755);
  assert.equal(goFileMode(0o41777), 2 ** 31 + 2 ** 20 + 0o777); // sticky /tmp
  assert.equal(goFileMode(0o120777), 2 ** 27 + 0o777);
  assert.equal(goFileMode(0o104755), 2 ** 23 + 0o755); // setuid
  assert.equal(goFileMode(0o20620), 2 ** 26 + 2 ** 21 + 0o620); // char device
  assert.equal(goFileMode(0o60660), 2 ** 26 + 0o660); // block device
  assert.equal(goFileMode(0o10644), 2 ** 25 + 0o644); // fifo
});

test('goTimeNs formats like Go RFC3339Nano in UTC', () => {
  assert.equal(goTimeNs(0n), '1970-01-01T00:00:00Z');
  assert.equal(goTimeNs(1_700_000_000_123_456_789n), '2023-11-14T22:13:20.123456789Z');
  assert.equal(goTimeNs(1_700_000_000_500_000_000n), '2023-11-14T22:13:20.5Z');
  assert.equal(goTimeNs(-1_500_000_000n), '1969-12-31T23:59:58.5Z');
});
