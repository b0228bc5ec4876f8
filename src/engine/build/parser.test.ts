import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DockerfileParseError, parseDockerfile } from './parser.js';
import { toDockerfile } from './instructions.js';
import { envOf, expandWord, expandWords, ExpansionError } from './lex.js';

test('directives, comments, continuations, JSON and shell forms', () => {
  const r = parseDockerfile(
    [
      '# syntax=docker/dockerfile:1',
      '# escape=`',
      '',
      '# a comment',
      'FROM busybox AS base',
      'RUN echo a && `',
      '# comment inside',
      '    echo b',
      'CMD ["sh", "-c", "echo hi"]',
      'CMD [not json',
      'copy --from=base --chown=1:2 /a /b/',
    ].join('\n'),
  );
  assert.equal(r.escape, '`');
  assert.equal(r.directives.syntax, 'docker/dockerfile:1');
  assert.deepEqual(
    r.nodes.map((n) => n.name),
    ['from', 'run', 'cmd', 'cmd', 'copy'],
  );
  assert.equal(r.nodes[1]!.rest, 'echo a &&     echo b');
  assert.equal(r.nodes[1]!.line, 6);
  assert.deepEqual(r.nodes[2]!.json, ['sh', '-c', 'echo hi']);
  assert.equal(r.nodes[3]!.json, undefined);
  assert.deepEqual(r.nodes[4]!.flags, ['--from=base', '--chown=1:2']);
  assert.equal(r.nodes[4]!.rest, '/a /b/');
});

test('a directive after the first instruction is a comment', () => {
  const r = parseDockerfile('FROM x\n# escape=`\nRUN a \\\n b\n');
  assert.equal(r.escape, '\\');
  assert.equal(r.nodes[1]!.rest, 'a  b');
});

test('heredocs: several, quoted, with tab stripping', () => {
  const r = parseDockerfile('FROM x\nRUN <<EOF cat <<-"TWO"\necho $HOME\nEOF\n\t\tline\n\tTWO\nCOPY <<file.txt /x\nhello\nfile.txt\n'.replace('file.txt /x', 'F /x').replace('file.txt\n', 'F\n'));
  const run = r.nodes[1]!;
  assert.deepEqual(
    run.heredocs.map((h) => [h.name, h.content, h.quoted, h.chomp]),
    [
      ['EOF', 'echo $HOME\n', false, false],
      ['TWO', 'line\n', true, true],
    ],
  );
  assert.equal(r.nodes[2]!.heredocs[0]!.content, 'hello\n');
  assert.throws(() => parseDockerfile('FROM x\nRUN <<EOF\nno end\n'), /unterminated heredoc EOF/);
});

test('instructions: stages, meta ARGs, flags and errors as BuildKit words them', () => {
  const df = toDockerfile(parseDockerfile('ARG V=1\nFROM busybox:${V} AS one\nENV A=1 B="x y"\nENV old form value\nFROM one\nCOPY a b c/\n'));
  assert.equal(df.metaArgs.length, 1);
  assert.equal(df.stages.length, 2);
  assert.equal(df.stages[0]!.name, 'one');
  const env = df.stages[0]!.commands[0]!;
  assert.ok(env.kind === 'env');
  assert.deepEqual(env.pairs, [
    { key: 'A', value: '1' },
    { key: 'B', value: '"x y"' },
  ]);
  const old = df.stages[0]!.commands[1]!;
  assert.ok(old.kind === 'env');
  assert.deepEqual(old.pairs, [{ key: 'old', value: 'form value' }]);
  const cp = df.stages[1]!.commands[0]!;
  assert.ok(cp.kind === 'copy');
  assert.deepEqual(cp.sources, ['a', 'b']);
  assert.equal(cp.dest, 'c/');

  const err = (text: string) => assert.throws(() => toDockerfile(parseDockerfile(text)), DockerfileParseError);
  assert.throws(() => toDockerfile(parseDockerfile('FROM x\nFOO bar\n')), /dockerfile parse error on line 2: unknown instruction: FOO/);
  assert.throws(() => toDockerfile(parseDockerfile('FROM x\nCOPY --bogus=1 a b\n')), /unknown flag: bogus/);
  assert.throws(() => toDockerfile(parseDockerfile('FROM x\nCOPY a\n')), /COPY requires at least two arguments/);
  assert.throws(() => toDockerfile(parseDockerfile('RUN x\n')), /no build stage in current context/);
  err('FROM a b\n');
  err('FROM x\nWORKDIR a b\n');
  err('FROM x\nSHELL sh -c\n');
  err('FROM x\nONBUILD ONBUILD RUN x\n');
  err('FROM x\nRUN --mount=type=nope,target=/x true\n');
});

test('RUN --mount and --network', () => {
  const df = toDockerfile(parseDockerfile('FROM x\nRUN --mount=type=cache,target=/c,id=k --mount=type=bind,source=a,target=/a --network=none true\n'));
  const run = df.stages[0]!.commands[0]!;
  assert.ok(run.kind === 'run');
  assert.equal(run.network, 'none');
  assert.deepEqual(
    run.mounts.map((m) => [m.type, m.target, m.id ?? m.source, m.readonly]),
    [
      ['cache', '/c', 'k', false],
      ['bind', '/a', 'a', true],
    ],
  );
});

test('expansion: the shell.Lex rules', () => {
  const env = envOf(['A=a', 'E=', 'SP=x y', 'P=/usr/local/bin']);
  const x = (w: string) => expandWord(w, env);
  assert.equal(x('$A'), 'a');
  assert.equal(x('${A}b'), 'ab');
  assert.equal(x('${U:-dflt}'), 'dflt');
  assert.equal(x('${E:-dflt}'), 'dflt');
  assert.equal(x('${E-dflt}'), '');
  assert.equal(x('${A:+alt}'), 'alt');
  assert.equal(x('${U:+alt}'), '');
  assert.equal(x('${U:-${A}x}'), 'ax');
  assert.equal(x("'$A'"), '$A');
  assert.equal(x('"$A \\$A"'), 'a $A');
  assert.equal(x('\\$A'), '$A');
  assert.equal(x('$'), '$');
  assert.equal(x('${P#*/}'), 'usr/local/bin');
  assert.equal(x('${P##*/}'), 'bin');
  assert.equal(x('${P%/*}'), '/usr/local');
  assert.deepEqual(expandWords('$SP "q r" s', env), ['x', 'y', 'q r', 's']);
  assert.throws(() => x('${A'), ExpansionError);
  assert.throws(() => x('"open'), ExpansionError);
  assert.throws(() => x('${U:?must be set}'), /U: must be set/);
  assert.throws(() => x('${}'), ExpansionError);
});

/** A tiny deterministic PRNG, so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test('fuzz: random and mutated Dockerfiles parse or fail cleanly, quickly', () => {
  const pieces = ['FROM', 'RUN', 'COPY', 'ADD', 'ENV', 'ARG', 'LABEL', 'HEALTHCHECK', 'ONBUILD', 'SHELL', ' ', '\\', '\n', '`', '"', "'", '[', ']', '{', '}', '$', '${', ':-', '<<', '<<-EOF', 'EOF', '--', '--from=', '=', '#', '# escape=`\n', 'a', 'b/c', '*', '\t', '\r\n', '\u00e9', 'NONE', 'CMD', ',', 'type=cache'];
  const r = rng(42);
  const started = Date.now();
  for (let k = 0; k < 3000; k++) {
    let text = '';
    const len = Math.floor(r() * 60);
    for (let j = 0; j < len; j++) text += pieces[Math.floor(r() * pieces.length)];
    for (const attempt of [text, 'FROM busybox\n' + text]) {
      try {
        const df = toDockerfile(parseDockerfile(attempt));
        for (const s of df.stages)
          for (const c of s.commands) {
            if (c.kind === 'env' || c.kind === 'label') for (const p of c.pairs) expandWord(p.value ?? '', envOf(['A=1']));
          }
      } catch (err) {
        if (!(err instanceof DockerfileParseError) && !(err instanceof ExpansionError)) throw new Error(`seed 42 case ${k}: ${String(err)}\n${JSON.stringify(attempt)}`, { cause: err });
      }
    }
  }
  // Big garbage: linear, not quadratic.
  const garbage = Buffer.alloc(10 << 20);
  for (let k = 0; k < garbage.length; k++) garbage[k] = 32 + Math.floor(r() * 95);
  for (let k = 0; k < garbage.length; k += 997) garbage[k] = 10;
  try {
    toDockerfile(parseDockerfile(garbage.toString('latin1')));
  } catch (err) {
    assert.ok(err instanceof DockerfileParseError, String(err));
  }
  // Not a timed assertion on the feature, only a guard against a hang: minutes would mean a quadratic path.
  assert.ok(Date.now() - started < 120_000);
});
