// Table tests ported from distribution/reference's reference_test.go and
// normalize_test.go, plus Docker-specific cases (localhost, error messages).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  InvalidReferenceError,
  familiarName,
  familiarString,
  isDigest,
  isFullOrShortId,
  parse,
  parseDockerRef,
  parseNormalizedNamed,
  referenceString,
  repositoryName,
  withTag,
  type Reference,
} from './reference.js';

const HEX64 = '1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a';
const FFFF64 = 'f'.repeat(64);

function throwsRef(fn: () => unknown, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidReferenceError, `expected InvalidReferenceError, got ${String(err)}`);
    assert.equal(err.message, message);
    return true;
  });
}

describe('parse (TestReferenceParse)', () => {
  const cases: {
    input: string;
    err?: string;
    repository?: string;
    domain?: string;
    tag?: string;
    digest?: string;
  }[] = [
    { input: 'test_com', repository: 'test_com' },
    { input: 'test.com:tag', repository: 'test.com', tag: 'tag' },
    { input: 'test.com:5000', repository: 'test.com', tag: '5000' },
    { input: 'test.com/repo:tag', domain: 'test.com', repository: 'test.com/repo', tag: 'tag' },
    { input: 'test:5000/repo', domain: 'test:5000', repository: 'test:5000/repo' },
    { input: 'test:5000/repo:tag', domain: 'test:5000', repository: 'test:5000/repo', tag: 'tag' },
    {
      input: `test:5000/repo@sha256:${FFFF64}`,
      domain: 'test:5000',
      repository: 'test:5000/repo',
      digest: `sha256:${FFFF64}`,
    },
    {
      input: `test:5000/repo:tag@sha256:${FFFF64}`,
      domain: 'test:5000',
      repository: 'test:5000/repo',
      tag: 'tag',
      digest: `sha256:${FFFF64}`,
    },
    { input: '', err: 'repository name must have at least one component' },
    { input: ':justtag', err: 'invalid reference format' },
    { input: `@sha256:${FFFF64}`, err: 'invalid reference format' },
    { input: 'repo@sha256:ffffffffffffffffffffffffffffffffff', err: 'invalid checksum digest length' },
    { input: `validname@invaliddigest:${FFFF64}`, err: 'unsupported digest algorithm' },
    { input: 'Uppercase:tag', err: 'repository name must be lowercase' },
    // Upstream FIXME: "Uppercase/lowercase:tag" passes, "Uppercase" being taken as a domain.
    { input: 'Uppercase/lowercase:tag', domain: 'Uppercase', repository: 'Uppercase/lowercase', tag: 'tag' },
    { input: 'test:5000/Uppercase/lowercase:tag', err: 'repository name must be lowercase' },
    { input: 'lowercase:Uppercase', repository: 'lowercase', tag: 'Uppercase' },
    { input: `domain/${'a'.repeat(256)}:tag`, err: 'repository name must not be more than 255 characters' },
    {
      input: `${'a/'.repeat(127)}a:tag-puts-this-over-max`,
      domain: 'a',
      repository: `${'a/'.repeat(127)}a`,
      tag: 'tag-puts-this-over-max',
    },
    { input: 'aa/asdf$$^/aa', err: 'invalid reference format' },
    { input: 'sub-dom1.foo.com/bar/baz/quux', domain: 'sub-dom1.foo.com', repository: 'sub-dom1.foo.com/bar/baz/quux' },
    {
      input: 'sub-dom1.foo.com/bar/baz/quux:some-long-tag',
      domain: 'sub-dom1.foo.com',
      repository: 'sub-dom1.foo.com/bar/baz/quux',
      tag: 'some-long-tag',
    },
    {
      input: 'b.gcr.io/test.example.com/my-app:test.example.com',
      domain: 'b.gcr.io',
      repository: 'b.gcr.io/test.example.com/my-app',
      tag: 'test.example.com',
    },
    { input: 'xn--n3h.com/myimage:xn--n3h.com', domain: 'xn--n3h.com', repository: 'xn--n3h.com/myimage', tag: 'xn--n3h.com' },
    {
      input: `xn--7o8h.com/myimage:xn--7o8h.com@sha512:${'f'.repeat(128)}`,
      domain: 'xn--7o8h.com',
      repository: 'xn--7o8h.com/myimage',
      tag: 'xn--7o8h.com',
      digest: `sha512:${'f'.repeat(128)}`,
    },
    { input: 'foo_bar.com:8080', repository: 'foo_bar.com', tag: '8080' },
    { input: 'foo/foo_bar.com:8080', domain: 'foo', repository: 'foo/foo_bar.com', tag: '8080' },
    { input: '192.168.1.1', repository: '192.168.1.1' },
    { input: '192.168.1.1:tag', repository: '192.168.1.1', tag: 'tag' },
    { input: '192.168.1.1:5000', repository: '192.168.1.1', tag: '5000' },
    { input: '192.168.1.1/repo', domain: '192.168.1.1', repository: '192.168.1.1/repo' },
    { input: '192.168.1.1:5000/repo', domain: '192.168.1.1:5000', repository: '192.168.1.1:5000/repo' },
    { input: '192.168.1.1:5000/repo:5050', domain: '192.168.1.1:5000', repository: '192.168.1.1:5000/repo', tag: '5050' },
    { input: '[2001:db8::1]', err: 'invalid reference format' },
    { input: '[2001:db8::1]:5000', err: 'invalid reference format' },
    { input: '[2001:db8::1]:tag', err: 'invalid reference format' },
    { input: '[2001:db8::1]/repo', domain: '[2001:db8::1]', repository: '[2001:db8::1]/repo' },
    {
      input: '[2001:db8:1:2:3:4:5:6]/repo:tag',
      domain: '[2001:db8:1:2:3:4:5:6]',
      repository: '[2001:db8:1:2:3:4:5:6]/repo',
      tag: 'tag',
    },
    { input: '[2001:db8::1]:5000/repo', domain: '[2001:db8::1]:5000', repository: '[2001:db8::1]:5000/repo' },
    { input: '[2001:db8::1]:5000/repo:tag', domain: '[2001:db8::1]:5000', repository: '[2001:db8::1]:5000/repo', tag: 'tag' },
    {
      input: `[2001:db8::1]:5000/repo@sha256:${FFFF64}`,
      domain: '[2001:db8::1]:5000',
      repository: '[2001:db8::1]:5000/repo',
      digest: `sha256:${FFFF64}`,
    },
    {
      input: `[2001:db8::1]:5000/repo:tag@sha256:${FFFF64}`,
      domain: '[2001:db8::1]:5000',
      repository: '[2001:db8::1]:5000/repo',
      tag: 'tag',
      digest: `sha256:${FFFF64}`,
    },
    { input: '[2001:db8::]:5000/repo', domain: '[2001:db8::]:5000', repository: '[2001:db8::]:5000/repo' },
    { input: '[::1]:5000/repo', domain: '[::1]:5000', repository: '[::1]:5000/repo' },
    { input: '[fe80::1%eth0]:5000/repo', err: 'invalid reference format' },
    { input: '[fe80::1%@invalidzone]:5000/repo', err: 'invalid reference format' },
    {
      input: `example.com/${'a'.repeat(255)}:tag`,
      domain: 'example.com',
      repository: `example.com/${'a'.repeat(255)}`,
      tag: 'tag',
    },
  ];

  for (const tc of cases) {
    it(JSON.stringify(tc.input.length > 60 ? `${tc.input.slice(0, 60)}…` : tc.input), () => {
      if (tc.err !== undefined) {
        throwsRef(() => parse(tc.input), tc.err);
        return;
      }
      const ref = parse(tc.input);
      assert.equal(referenceString(ref), tc.input);
      assert.equal(repositoryName(ref), tc.repository);
      assert.equal(ref.domain, tc.domain ?? '');
      assert.equal(ref.tag, tc.tag);
      assert.equal(ref.digest, tc.digest);
    });
  }
});

describe('parseNormalizedNamed (TestValidateReferenceName)', () => {
  const valid = [
    'docker/docker',
    'library/debian',
    'debian',
    'docker.io/docker/docker',
    'docker.io/library/debian',
    'docker.io/debian',
    'index.docker.io/docker/docker',
    'index.docker.io/library/debian',
    'index.docker.io/debian',
    '127.0.0.1:5000/docker/docker',
    '127.0.0.1:5000/library/debian',
    '127.0.0.1:5000/debian',
    '192.168.0.1',
    '192.168.0.1:80',
    '192.168.0.1:8/debian',
    '192.168.0.2:25000/debian',
    'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev',
    '[fc00::1]:5000/docker',
    '[fc00::1]:5000/docker/docker',
    '[fc00:1:2:3:4:5:6:7]:5000/library/debian',
    // Valid with a hostname: that removes the identifier/name ambiguity.
    `docker.io/${HEX64}`,
    'Docker/docker',
    'DOCKER/docker',
  ];
  const invalid = [
    'https://github.com/docker/docker',
    'docker/Docker',
    '-docker',
    '-docker/docker',
    '-docker.io/docker/docker',
    'docker///docker',
    'docker.io/docker/Docker',
    'docker.io/docker///docker',
    '[fc00::1]',
    '[fc00::1]:5000',
    'fc00::1:5000/debian',
    '[fe80::1%eth0]:5000/debian',
    '[2001:db8:3:4::192.0.2.33]:5000/debian',
    HEX64,
  ];
  for (const name of valid) {
    it(`accepts ${name}`, () => {
      parseNormalizedNamed(name);
    });
  }
  for (const name of invalid) {
    it(`rejects ${name}`, () => {
      assert.throws(() => parseNormalizedNamed(name), InvalidReferenceError);
    });
  }
});

describe('parseNormalizedNamed (TestValidateRemoteName)', () => {
  const valid = [
    'docker/docker',
    'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev',
    'docker-rules/docker',
    'docker---rules/docker',
    'doc/docker',
    'd/docker',
    'jess/t',
    'dock__er/docker',
  ];
  const invalid = [
    'docker/Docker',
    'docker///docker',
    HEX64,
    '-docker/docker',
    'docker-/docker',
    '-docker-/docker',
    '____/____',
    '_docker/_docker',
    'dock..er/docker',
    'dock_.er/docker',
    'dock-.er/docker',
    'docker/',
    'this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255/docker',
  ];
  for (const name of valid) {
    it(`accepts ${name}`, () => {
      parseNormalizedNamed(name);
    });
  }
  for (const name of invalid) {
    it(`rejects ${name.slice(0, 40)}`, () => {
      assert.throws(() => parseNormalizedNamed(name), InvalidReferenceError);
    });
  }
});

describe('parseNormalizedNamed error messages', () => {
  it('64-hex identifier', () => {
    throwsRef(
      () => parseNormalizedNamed(HEX64),
      `invalid repository name (${HEX64}), cannot specify 64-byte hexadecimal strings`,
    );
  });
  it('uppercase familiar name', () => {
    throwsRef(
      () => parseNormalizedNamed('Busybox'),
      'invalid reference format: repository name (library/Busybox) must be lowercase',
    );
  });
  it('uppercase after a domain', () => {
    throwsRef(
      () => parseNormalizedNamed('docker.io/docker/Docker:tag'),
      'invalid reference format: repository name (docker/Docker) must be lowercase',
    );
  });
  it('uppercase tag is fine', () => {
    assert.equal(referenceString(parseNormalizedNamed('busybox:LATEST')), 'docker.io/library/busybox:LATEST');
  });
  it('invalid format', () => {
    throwsRef(() => parseNormalizedNamed('-docker'), 'invalid reference format');
    throwsRef(() => parseNormalizedNamed('busybox:'), 'invalid reference format');
    throwsRef(() => parseNormalizedNamed(''), 'invalid reference format');
  });
  it('length limit applies to the path only', () => {
    throwsRef(
      () => parseNormalizedNamed(`example.com/${'a'.repeat(256)}`),
      'repository name must not be more than 255 characters',
    );
    // "library/" counts toward the limit once normalised.
    throwsRef(
      () => parseNormalizedNamed('a'.repeat(248)),
      'repository name must not be more than 255 characters',
    );
    assert.equal(parseNormalizedNamed('a'.repeat(247)).path, `library/${'a'.repeat(247)}`);
    assert.equal(parseNormalizedNamed(`example.com/${'a'.repeat(255)}`).path, 'a'.repeat(255));
  });
  it('digest errors keep go-digest messages', () => {
    throwsRef(() => parseNormalizedNamed('busybox@sha256:abcd'), 'invalid reference format');
    throwsRef(() => parseNormalizedNamed(`busybox@sha256:${'a'.repeat(63)}`), 'invalid checksum digest length');
    throwsRef(() => parseNormalizedNamed(`busybox@sha256:${'A'.repeat(64)}`), 'invalid checksum digest format');
    throwsRef(() => parseNormalizedNamed(`busybox@md5:${'a'.repeat(32)}`), 'unsupported digest algorithm');
  });
});

describe('normalisation (TestParseRepositoryInfo)', () => {
  const cases = [
    { remoteName: 'fooo/bar', familiarName: 'fooo/bar', fullName: 'docker.io/fooo/bar', ambiguousName: 'index.docker.io/fooo/bar', domain: 'docker.io' },
    { remoteName: 'library/ubuntu', familiarName: 'ubuntu', fullName: 'docker.io/library/ubuntu', ambiguousName: 'library/ubuntu', domain: 'docker.io' },
    { remoteName: 'nonlibrary/ubuntu', familiarName: 'nonlibrary/ubuntu', fullName: 'docker.io/nonlibrary/ubuntu', ambiguousName: '', domain: 'docker.io' },
    { remoteName: 'other/library', familiarName: 'other/library', fullName: 'docker.io/other/library', ambiguousName: '', domain: 'docker.io' },
    { remoteName: 'private/moonbase', familiarName: '127.0.0.1:8000/private/moonbase', fullName: '127.0.0.1:8000/private/moonbase', ambiguousName: '', domain: '127.0.0.1:8000' },
    { remoteName: 'privatebase', familiarName: '127.0.0.1:8000/privatebase', fullName: '127.0.0.1:8000/privatebase', ambiguousName: '', domain: '127.0.0.1:8000' },
    { remoteName: 'private/moonbase', familiarName: 'example.com/private/moonbase', fullName: 'example.com/private/moonbase', ambiguousName: '', domain: 'example.com' },
    { remoteName: 'privatebase', familiarName: 'example.com/privatebase', fullName: 'example.com/privatebase', ambiguousName: '', domain: 'example.com' },
    { remoteName: 'private/moonbase', familiarName: 'example.com:8000/private/moonbase', fullName: 'example.com:8000/private/moonbase', ambiguousName: '', domain: 'example.com:8000' },
    { remoteName: 'privatebasee', familiarName: 'example.com:8000/privatebasee', fullName: 'example.com:8000/privatebasee', ambiguousName: '', domain: 'example.com:8000' },
    { remoteName: 'library/ubuntu-12.04-base', familiarName: 'ubuntu-12.04-base', fullName: 'docker.io/library/ubuntu-12.04-base', ambiguousName: 'index.docker.io/library/ubuntu-12.04-base', domain: 'docker.io' },
    { remoteName: 'library/foo', familiarName: 'foo', fullName: 'docker.io/library/foo', ambiguousName: 'docker.io/foo', domain: 'docker.io' },
    { remoteName: 'library/foo/bar', familiarName: 'library/foo/bar', fullName: 'docker.io/library/foo/bar', ambiguousName: '', domain: 'docker.io' },
    { remoteName: 'store/foo/bar', familiarName: 'store/foo/bar', fullName: 'docker.io/store/foo/bar', ambiguousName: '', domain: 'docker.io' },
    { remoteName: 'bar', familiarName: 'Foo/bar', fullName: 'Foo/bar', ambiguousName: '', domain: 'Foo' },
    { remoteName: 'bar', familiarName: 'FOO/bar', fullName: 'FOO/bar', ambiguousName: '', domain: 'FOO' },
    // Not upstream: localhost is always a domain, even without a port or dot.
    { remoteName: 'app', familiarName: 'localhost/app', fullName: 'localhost/app', ambiguousName: '', domain: 'localhost' },
    { remoteName: 'team/app', familiarName: 'localhost:5000/team/app', fullName: 'localhost:5000/team/app', ambiguousName: '', domain: 'localhost:5000' },
  ];
  for (const tc of cases) {
    const inputs = [tc.familiarName, tc.fullName];
    if (tc.ambiguousName !== '') {
      inputs.push(tc.ambiguousName);
    }
    for (const input of inputs) {
      it(`${input} → ${tc.fullName}`, () => {
        const ref = parseNormalizedNamed(input);
        assert.equal(familiarName(ref), tc.familiarName);
        assert.equal(referenceString(ref), tc.fullName);
        assert.equal(repositoryName(ref), tc.fullName);
        assert.equal(ref.domain, tc.domain);
        assert.equal(ref.path, tc.remoteName);
        assert.equal(ref.tag, undefined, 'no tag is added');
      });
    }
  }
});

describe('normalisation (TestNormalizedSplitHostname)', () => {
  const cases = [
    { input: 'test.com/foo', domain: 'test.com', path: 'foo' },
    { input: 'test_com/foo', domain: 'docker.io', path: 'test_com/foo' },
    { input: 'docker/migrator', domain: 'docker.io', path: 'docker/migrator' },
    { input: 'test.com:8080/foo', domain: 'test.com:8080', path: 'foo' },
    { input: 'test-com:8080/foo', domain: 'test-com:8080', path: 'foo' },
    { input: 'foo', domain: 'docker.io', path: 'library/foo' },
    { input: 'xn--n3h.com/foo', domain: 'xn--n3h.com', path: 'foo' },
    { input: 'xn--n3h.com:18080/foo', domain: 'xn--n3h.com:18080', path: 'foo' },
    { input: 'docker.io/foo', domain: 'docker.io', path: 'library/foo' },
    { input: 'docker.io/library/foo', domain: 'docker.io', path: 'library/foo' },
    { input: 'docker.io/library/foo/bar', domain: 'docker.io', path: 'library/foo/bar' },
    // Not upstream: Docker's localhost handling and the bare-name FIXME.
    { input: 'localhost/foo', domain: 'localhost', path: 'foo' },
    { input: 'localhost', domain: 'docker.io', path: 'library/localhost' },
    { input: 'localhost:5000', domain: 'docker.io', path: 'library/localhost' },
  ];
  for (const tc of cases) {
    it(tc.input, () => {
      const ref = parseNormalizedNamed(tc.input);
      assert.equal(ref.domain, tc.domain);
      assert.equal(ref.path, tc.path);
    });
  }
});

describe('tag and digest (TestParseReferenceWithTagAndDigest)', () => {
  it('keeps both in the normalised form', () => {
    const shortRef = 'busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa';
    const ref = parseNormalizedNamed(shortRef);
    assert.equal(referenceString(ref), `docker.io/library/${shortRef}`);
    assert.equal(ref.tag, 'latest');
    assert.equal(ref.digest, 'sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa');
    assert.equal(familiarString(ref), shortRef);
  });
});

describe('parseDockerRef (TestParseDockerRef)', () => {
  const dgst = 'sha256:e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582';
  const cases = [
    { name: 'nothing', input: 'busybox', expected: 'docker.io/library/busybox:latest' },
    { name: 'tag only', input: 'busybox:latest', expected: 'docker.io/library/busybox:latest' },
    { name: 'digest only', input: `busybox@${dgst}`, expected: `docker.io/library/busybox@${dgst}` },
    { name: 'path only', input: 'library/busybox', expected: 'docker.io/library/busybox:latest' },
    { name: 'hostname only', input: 'docker.io/busybox', expected: 'docker.io/library/busybox:latest' },
    { name: 'no tag', input: 'docker.io/library/busybox', expected: 'docker.io/library/busybox:latest' },
    { name: 'no path', input: 'docker.io/busybox:latest', expected: 'docker.io/library/busybox:latest' },
    { name: 'no hostname', input: 'library/busybox:latest', expected: 'docker.io/library/busybox:latest' },
    { name: 'full reference with tag', input: 'docker.io/library/busybox:latest', expected: 'docker.io/library/busybox:latest' },
    { name: 'gcr reference without tag', input: 'gcr.io/library/busybox', expected: 'gcr.io/library/busybox:latest' },
    { name: 'both tag and digest', input: `gcr.io/library/busybox:latest@${dgst}`, expected: `gcr.io/library/busybox@${dgst}` },
    // Not upstream: registries with ports and localhost.
    { name: 'port domain', input: '127.0.0.1:5000/x', expected: '127.0.0.1:5000/x:latest' },
    { name: 'localhost', input: 'localhost/app:v1', expected: 'localhost/app:v1' },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      const out = referenceString(parseDockerRef(tc.input));
      assert.equal(out, tc.expected);
      // The result must itself be a valid reference.
      parse(out);
    });
  }
  it('drops the tag when a digest is present', () => {
    const ref = parseDockerRef(`busybox:1.36@${dgst}`);
    assert.deepEqual(ref, { domain: 'docker.io', path: 'library/busybox', digest: dgst });
  });
  it('parses ID-like strings as names, as Go does (callers must try IDs first)', () => {
    assert.deepEqual(parseDockerRef(`sha256:${HEX64}`), { domain: 'docker.io', path: 'library/sha256', tag: HEX64 });
    assert.equal(referenceString(parseDockerRef('1a3f')), 'docker.io/library/1a3f:latest');
  });
  it('propagates validation errors', () => {
    throwsRef(() => parseDockerRef('library/Busybox'), 'invalid reference format: repository name (library/Busybox) must be lowercase');
  });
});

describe('familiar forms', () => {
  const dgst = `sha256:${FFFF64}`;
  const cases: { input: string; name: string; str: string }[] = [
    { input: 'busybox', name: 'busybox', str: 'busybox' },
    { input: 'busybox:latest', name: 'busybox', str: 'busybox:latest' },
    { input: `busybox@${dgst}`, name: 'busybox', str: `busybox@${dgst}` },
    { input: 'docker.io/library/busybox:1', name: 'busybox', str: 'busybox:1' },
    { input: 'myuser/app:v2', name: 'myuser/app', str: 'myuser/app:v2' },
    { input: 'library/foo/bar:x', name: 'library/foo/bar', str: 'library/foo/bar:x' },
    { input: '127.0.0.1:5000/x', name: '127.0.0.1:5000/x', str: '127.0.0.1:5000/x' },
    { input: '127.0.0.1:5000/x:5000', name: '127.0.0.1:5000/x', str: '127.0.0.1:5000/x:5000' },
    { input: 'localhost/app:dev', name: 'localhost/app', str: 'localhost/app:dev' },
    { input: `ghcr.io/o/r:t@${dgst}`, name: 'ghcr.io/o/r', str: `ghcr.io/o/r:t@${dgst}` },
  ];
  for (const tc of cases) {
    it(tc.input, () => {
      const ref = parseNormalizedNamed(tc.input);
      assert.equal(familiarName(ref), tc.name);
      assert.equal(familiarString(ref), tc.str);
    });
  }
  it('works on hand-built references', () => {
    const ref: Reference = { domain: 'docker.io', path: 'library/redis', tag: '7' };
    assert.equal(familiarString(ref), 'redis:7');
    assert.equal(referenceString(ref), 'docker.io/library/redis:7');
  });
});

describe('withTag (TestWithTag, TestInvalidReferenceComponents)', () => {
  const cases = [
    { name: 'test.com/foo', tag: 'tag', combined: 'test.com/foo:tag' },
    { name: 'foo', tag: 'tag2', combined: 'foo:tag2' },
    { name: 'test.com:8000/foo', tag: 'tag4', combined: 'test.com:8000/foo:tag4' },
    { name: 'test.com:8000/foo', tag: 'TAG5', combined: 'test.com:8000/foo:TAG5' },
    {
      name: 'test.com:8000/foo@sha256:1234567890098765432112345667890098765432112345667890098765432112',
      tag: 'TAG5',
      combined: 'test.com:8000/foo:TAG5@sha256:1234567890098765432112345667890098765432112345667890098765432112',
    },
  ];
  for (const tc of cases) {
    it(tc.combined, () => {
      assert.equal(referenceString(withTag(parse(tc.name), tc.tag)), tc.combined);
    });
  }
  it('replaces an existing tag', () => {
    const ref = withTag(parseNormalizedNamed('busybox:1'), 'latest');
    assert.deepEqual(ref, { domain: 'docker.io', path: 'library/busybox', tag: 'latest' });
  });
  it('rejects invalid tags', () => {
    const ref = parseNormalizedNamed('busybox');
    for (const tag of ['-foo', '', '.x', 'a:b', 'a/b', 'x'.repeat(129)]) {
      throwsRef(() => withTag(ref, tag), 'invalid tag format');
    }
    assert.equal(withTag(ref, 'x'.repeat(128)).tag, 'x'.repeat(128));
    assert.equal(withTag(ref, '_x.Y-1').tag, '_x.Y-1');
  });
  it('does not mutate its input', () => {
    const ref = parseNormalizedNamed('busybox:1');
    withTag(ref, '2');
    assert.equal(ref.tag, '1');
  });
});

describe('isDigest', () => {
  it('follows the reference grammar', () => {
    assert.equal(isDigest(`sha256:${FFFF64}`), true);
    assert.equal(isDigest(`sha512:${'f'.repeat(128)}`), true);
    assert.equal(isDigest(`sha256:${'A'.repeat(64)}`), true, 'grammar allows uppercase hex');
    assert.equal(isDigest(`md5:${'0'.repeat(32)}`), true, 'any algorithm with ≥32 hex digits');
    assert.equal(isDigest(`sha256+b64u.x:${'0'.repeat(32)}`), true);
    assert.equal(isDigest(`sha256:${'0'.repeat(31)}`), false);
    assert.equal(isDigest(FFFF64), false);
    assert.equal(isDigest(`sha256:${FFFF64}x`), false);
    assert.equal(isDigest(`1sha:${FFFF64}`), false);
    assert.equal(isDigest(''), false);
  });
});

describe('isFullOrShortId', () => {
  it('accepts ids and prefixes', () => {
    assert.equal(isFullOrShortId(HEX64), true);
    assert.equal(isFullOrShortId(`sha256:${HEX64}`), true);
    assert.equal(isFullOrShortId('1a3f'), true);
    assert.equal(isFullOrShortId('sha256:1a3f'), true);
    assert.equal(isFullOrShortId('a'), true);
  });
  it('rejects everything else', () => {
    assert.equal(isFullOrShortId(''), false);
    assert.equal(isFullOrShortId('sha256:'), false);
    assert.equal(isFullOrShortId(`${HEX64}0`), false);
    assert.equal(isFullOrShortId('1A3F'), false);
    assert.equal(isFullOrShortId('busybox'), false);
    assert.equal(isFullOrShortId('sha512:1a3f'), false);
  });
});

describe('pathological input', () => {
  it('rejects long near-miss names quickly', () => {
    const inputs = [
      `${'a'.repeat(100_000)}!`,
      `${'a-'.repeat(50_000)}!`,
      `${'a.'.repeat(50_000)}/!`,
      `${'a/'.repeat(50_000)}!`,
      `${'a__'.repeat(30_000)}_`,
      `[${':'.repeat(100_000)}`,
    ];
    const start = process.hrtime.bigint();
    for (const s of inputs) {
      assert.throws(() => parseNormalizedNamed(s), InvalidReferenceError);
    }
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    assert.ok(ms < 2000, `took ${ms}ms`);
  });
});
