/**
 * @module fuzz/targets/dockerfile
 * The Dockerfile parser (src/engine/build: directives, continuations,
 * heredocs, flags, JSON and shell forms, then typed instructions and
 * stages) and variable expansion: any text either parses or fails with a
 * DockerfileParseError or ExpansionError, BuildKit's kinds of message.
 */
import { DockerfileParseError, parseDockerfile } from '../../src/engine/build/parser.js';
import { toDockerfile } from '../../src/engine/build/instructions.js';
import { expandWords, ExpansionError } from '../../src/engine/build/lex.js';

export const maxLen = 4096;
export const dictionary = [
  'FROM ', 'FROM busybox AS base\n', 'RUN ', 'CMD ', 'ENTRYPOINT ', 'COPY ', 'ADD ', 'ENV ', 'ARG ', 'LABEL ', 'EXPOSE ', 'VOLUME ', 'USER ', 'WORKDIR ', 'SHELL ',
  'HEALTHCHECK ', 'ONBUILD ', 'STOPSIGNAL ', 'MAINTAINER ', '# syntax=docker/dockerfile:1\n', '# escape=`\n', '\\\n', '`\n', '<<EOF\n', '<<-EOF\n', '<<"EOF"\n', 'EOF\n',
  '--mount=type=cache,target=/x ', '--from=base ', '--chown=1:1 ', '--chmod=755 ', '--link ', '--interval=1s ', 'CMD NONE', '["a", "b"]', '${A}', '${A:-x}', '${A:+y}',
  '${A#*}', '${A%%x}', '$', '\'', '"', '\n', ' ', '\t', '=',
];

const env = new Map([['A', 'alpha'], ['EMPTY', ''], ['PATH', '/usr/bin:/bin']]);

export function fuzz(data: Buffer): void {
  const text = data.toString('utf8');
  try {
    toDockerfile(parseDockerfile(text));
  } catch (err) {
    if (!(err instanceof DockerfileParseError)) throw err;
  }
  for (const line of text.split('\n').slice(0, 16)) {
    for (const escape of ['\\', '`']) {
      try {
        expandWords(line, env, escape);
      } catch (err) {
        if (!(err instanceof ExpansionError)) throw err;
      }
    }
  }
}
