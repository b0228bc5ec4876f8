// Tests for units.ts; expected values come from go-units' size_test.go and
// duration_test.go and from docker/cli's formatter tests.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bytesSize,
  fromHumanSize,
  humanDuration,
  humanSize,
  humanSizeWithPrecision,
  imageSize,
  parseBytes,
} from './units.js';

const KB = 1000;
const MB = 1000 * KB;
const GB = 1000 * MB;
const TB = 1000 * GB;
const PB = 1000 * TB;
const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;
const PiB = 1024 * TiB;

test('bytesSize matches go-units TestBytesSize', () => {
  assert.equal(bytesSize(1024), '1KiB');
  assert.equal(bytesSize(1024 * 1024), '1MiB');
  assert.equal(bytesSize(1048576), '1MiB');
  assert.equal(bytesSize(2 * MiB), '2MiB');
  assert.equal(bytesSize(3.42 * GiB), '3.42GiB');
  assert.equal(bytesSize(5.372 * TiB), '5.372TiB');
  assert.equal(bytesSize(2.22 * PiB), '2.22PiB');
  assert.equal(bytesSize(KiB * KiB * KiB * KiB * KiB * PiB), '1.049e+06YiB');
  assert.equal(bytesSize(1.5 * MiB), '1.5MiB');
  assert.equal(bytesSize(0), '0B');
});

test('humanSize matches go-units TestHumanSize', () => {
  assert.equal(humanSize(1000), '1kB');
  assert.equal(humanSize(1024), '1.024kB');
  assert.equal(humanSize(1000000), '1MB');
  assert.equal(humanSize(1048576), '1.049MB');
  assert.equal(humanSize(2 * MB), '2MB');
  assert.equal(humanSize(3.42 * GB), '3.42GB');
  assert.equal(humanSize(5.372 * TB), '5.372TB');
  assert.equal(humanSize(2.22 * PB), '2.22PB');
  assert.equal(humanSize(10000000000000 * PB), '1e+04YB');
  // docker/cli image_test: VirtualSize 10000 -> "10kB", UniqueSize 20000-5000 -> "15kB"
  assert.equal(humanSize(10000), '10kB');
  assert.equal(humanSize(15000), '15kB');
});

test('imageSize is HumanSizeWithPrecision(size, 3)', () => {
  assert.equal(imageSize(0), '0B');
  assert.equal(imageSize(10), '10B');
  assert.equal(imageSize(4_260_000), '4.26MB');
  assert.equal(imageSize(4_264_999), '4.26MB');
  assert.equal(imageSize(1.2 * GB), '1.2GB');
  assert.equal(imageSize(976_000), '976kB');
  assert.equal(imageSize(999_999), '1e+03kB');
  assert.equal(imageSize(77_800_000), '77.8MB');
  assert.equal(humanSizeWithPrecision(123_456_789, 3), '123MB');
});

test('humanSizeWithPrecision rounds exact ties to even like Go', () => {
  // 12250/1000 = 12.25 exactly; Go's %.3g gives 12.2, JS toPrecision would give 12.3
  assert.equal(humanSizeWithPrecision(12250, 3), '12.2kB');
  assert.equal(humanSizeWithPrecision(12750, 3), '12.8kB');
  assert.equal(humanSizeWithPrecision(2500, 1), '2kB');
  assert.equal(humanSizeWithPrecision(3500, 1), '4kB');
});

test('fromHumanSize matches go-units TestFromHumanSize', () => {
  const ok: [string, number][] = [
    ['32', 32], ['32b', 32], ['32B', 32], ['32k', 32 * KB], ['32K', 32 * KB], ['32kb', 32 * KB],
    ['32Kb', 32 * KB], ['32Mb', 32 * MB], ['32Gb', 32 * GB], ['32Tb', 32 * TB], ['32Pb', 32 * PB],
    ['32.5kB', 32.5 * KB], ['32.5 kB', 32.5 * KB], ['32.5 B', 32], ['0.3 K', 300],
  ];
  for (const [s, want] of ok) assert.equal(fromHumanSize(s), want, s);
  for (const s of ['', 'hello', '-32', '.3kB', ' 32 ', '32m b', '32bm']) {
    assert.throws(() => fromHumanSize(s), /invalid size/, s);
  }
});

test('parseBytes matches go-units TestRAMInBytes', () => {
  const ok: [string, number][] = [
    ['32', 32], ['32b', 32], ['32B', 32], ['32k', 32 * KiB], ['32K', 32 * KiB], ['32kb', 32 * KiB],
    ['32Kb', 32 * KiB], ['32Kib', 32 * KiB], ['32KIB', 32 * KiB], ['32Mb', 32 * MiB], ['32Gb', 32 * GiB],
    ['32Tb', 32 * TiB], ['32Pb', 32 * PiB], ['32PB', 32 * PiB], ['32P', 32 * PiB], ['32.3', 32],
    ['32.3 mb', Math.trunc(32.3 * MiB)], ['0.3MB', Math.trunc(0.3 * MiB)],
    ['512m', 512 * MiB], ['1g', GiB], ['100k', 100 * KiB],
  ];
  for (const [s, want] of ok) assert.equal(parseBytes(s), want, s);
  for (const s of ['', 'hello', '-32', ' 32 ', '32m b', '32bm']) {
    assert.throws(() => parseBytes(s), /invalid size/, s);
  }
  assert.throws(() => parseBytes('x'), { message: "invalid size: 'x'" });
  assert.throws(() => parseBytes('1.2.3k'), { message: 'strconv.ParseFloat: parsing "1.2.3": invalid syntax' });
});

test('humanDuration matches go-units TestHumanDuration', () => {
  const second = 1000;
  const minute = 60 * second;
  const hour = 60 * minute;
  const day = 24 * hour;
  const week = 7 * day;
  const month = 30 * day;
  const year = 365 * day;
  const cases: [number, string][] = [
    [450, 'Less than a second'],
    [1 * second, '1 second'],
    [45 * second, '45 seconds'],
    [46 * second, '46 seconds'],
    [59 * second, '59 seconds'],
    [60 * second, 'About a minute'],
    [1 * minute, 'About a minute'],
    [3 * minute, '3 minutes'],
    [35 * minute, '35 minutes'],
    [35 * minute + 40 * second, '35 minutes'],
    [45 * minute, '45 minutes'],
    [45 * minute + 40 * second, '45 minutes'],
    [46 * minute, '46 minutes'],
    [59 * minute, '59 minutes'],
    [1 * hour, 'About an hour'],
    [1 * hour + 29 * minute, 'About an hour'],
    [1 * hour + 31 * minute, '2 hours'],
    [1 * hour + 59 * minute, '2 hours'],
    [3 * hour, '3 hours'],
    [3 * hour + 29 * minute, '3 hours'],
    [3 * hour + 31 * minute, '4 hours'],
    [3 * hour + 59 * minute, '4 hours'],
    [3 * hour + 60 * minute, '4 hours'],
    [24 * hour, '24 hours'],
    [1 * day + 12 * hour, '36 hours'],
    [2 * day, '2 days'],
    [7 * day, '7 days'],
    [13 * day + 5 * hour, '13 days'],
    [2 * day + 17 * hour, '3 days'],
    [13 * day + 12 * hour, '14 days'],
    [2 * week, '2 weeks'],
    [2 * week + 4 * day, '3 weeks'],
    [3 * week, '3 weeks'],
    [3 * week + 6 * day, '4 weeks'],
    [4 * week, '4 weeks'],
    [4 * week + 3 * day, '4 weeks'],
    [1 * month, '4 weeks'],
    [8 * week + 3 * day, '8 weeks'],
    [1 * month + 2 * week, '6 weeks'],
    [2 * month, '2 months'],
    [2 * month + 2 * week, '2 months'],
    [3 * month, '3 months'],
    [3 * month + 1 * week, '3 months'],
    [3 * month + 20 * day, '4 months'],
    [5 * month + 2 * week, '5 months'],
    [13 * month, '13 months'],
    [23 * month, '23 months'],
    [24 * month, '24 months'],
    [24 * month + 2 * week, '2 years'],
    [3 * year + 2 * month, '3 years'],
    [3 * year + 8 * month, '4 years'],
    [3 * year + 200 * day, '4 years'],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `${ms}ms`);
  assert.equal(humanDuration(-5000), 'Less than a second');
});
