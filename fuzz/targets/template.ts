/**
 * @module fuzz/targets/template
 * The CLI's Go text/template port (`--format`): any template either renders
 * or fails with a TemplateError, within the executor's work and output
 * bounds, against data shaped like `docker ps` and `docker inspect` rows.
 */
import { parseFormat, renderTemplate, TemplateError } from '../../src/cli/format/template.js';

export const maxLen = 2048;
export const dictionary = [
  '{{', '}}', '{{-', '-}}', '{{end}}', '{{else}}', 'range ', 'if ', 'with ', 'else if ', 'break', 'continue', '$', '$x := ', '$i, $e := ', ' = ', '|', '(', ')',
  '.', '.Names', '.Labels', '.Ports', '.Config.Env', '.State.Running', '.Size', 'json', 'pad', 'printf', '"%s"', '"%*d"', '"%.*f"', 'index', 'slice', 'len',
  'eq', 'and', 'or', 'not', 'split', 'join', 'upper', 'lower', 'title', 'truncate', 'html', 'js', 'urlquery', 'print', 'println', '1000000', '-1', '3.5', '1e9',
  'true', 'nil', "'a'", '`raw`', '"\\u00e9"', '0x1F', '/* c */', 'table ', '\\t', '\\n',
];

const row = {
  ID: '0123456789ab',
  Names: '/busy',
  Image: 'busybox:latest',
  Command: '"sh -c \'echo hi\'"',
  Size: 1024,
  Labels: { 'com.example': 'x', a: '' },
  Ports: [{ PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }],
  Config: { Env: ['PATH=/bin', 'A=1'], Cmd: ['sh'], Tty: false },
  State: { Running: true, ExitCode: 0, Pid: 42 },
  Mounts: null,
  Ratio: 0.25,
};

export function fuzz(data: Buffer): void {
  const { template } = parseFormat(data.toString('utf8'));
  try {
    renderTemplate(template, row, { typeName: 'container.Summary' });
  } catch (err) {
    if (err instanceof TemplateError) return;
    throw err;
  }
}
