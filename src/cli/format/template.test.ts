// Tests for template.ts: cases adapted from Go's text/template exec_test.go
// and from docker/cli's formatter tests (container_test.go).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatWithTemplate, parseFormat, renderTemplate, TemplateError } from './template.js';

// A JS stand-in for exec_test.go's tVal.
const tVal = {
  True: true,
  I: 17,
  U16: 16,
  X: 'x',
  FloatZero: 0,
  U: { V: 'v' },
  V0: { j: 6666 },
  MSI: { one: 1, two: 2, three: 3 },
  MSIone: { one: 1 },
  MSIEmpty: {},
  MXI: {},
  SMSI: [{ one: 1, two: 2 }, { eleven: 11, twelve: 12 }],
  SI: [3, 4, 5],
  SIEmpty: [],
  SB: [true, false],
  Empty0: null,
  Empty3: [7, 8],
  PSI: [21, 22, 23],
  Method0: () => 'M0',
  Method1: (a: number) => a,
  Method2: (a: number, b: string) => `Method2: ${a} ${b}`,
};

const execCases: [name: string, input: string, output: string, data?: unknown][] = [
  ['empty', '', ''],
  ['text', 'some text', 'some text'],
  ['.X', '-{{.X}}-', '-x-'],
  ['.U.V', '-{{.U.V}}-', '-v-'],
  ['dot int', '<{{.}}>', '<13>', 13],
  ['dot string', '<{{.}}>', '<hello>', 'hello'],
  ['dot slice', '<{{.}}>', '<[-1 -2 -3]>', [-1, -2, -3]],
  ['dot map', '<{{.}}>', '<map[two:22]>', { two: 22 }],
  ['dot nil', '<{{.}}>', '<<nil>>', null],
  ['$ int', '{{$}}', '123', 123],
  ['$.I', '{{$.I}}', '17'],
  ['$.U.V', '{{$.U.V}}', 'v'],
  ['declare in action', '{{$x := $.U.V}}{{$x}}', 'v'],
  ['simple assignment', '{{$x := 2}}{{$x = 3}}{{$x}}', '3'],
  ['nested assignment', '{{$x := 2}}{{if true}}{{$x = 3}}{{end}}{{$x}}', '3'],
  ['nested assignment changes the last declaration', '{{$x := 1}}{{if true}}{{$x := 2}}{{if true}}{{$x = 3}}{{end}}{{end}}{{$x}}', '1'],
  ['map .one', '{{.MSI.one}}', '1'],
  ['map .two', '{{.MSI.two}}', '2'],
  ['map .NO', '{{.MSI.NO}}', '<no value>'],
  ['empty nil', '{{.Empty0}}', '<nil>'],
  ['.Method0', '-{{.Method0}}-', '-M0-'],
  ['.Method1(1234)', '-{{.Method1 1234}}-', '-1234-'],
  ['.Method2(3, .X)', '-{{.Method2 3 .X}}-', '-Method2: 3 x-'],
  ['.Method2(.U16, $x)', '{{if $x := .X}}-{{.Method2 .U16 $x}}{{end}}-', '-Method2: 16 x-'],
  ['pipeline', '-{{.Method0 | .Method2 .U16}}-', '-Method2: 16 M0-'],
  ['parens: $ in paren', '{{($).X}}', 'x'],
  ['if true', '{{if true}}TRUE{{end}}', 'TRUE'],
  ['if false', '{{if false}}TRUE{{else}}FALSE{{end}}', 'FALSE'],
  ['if 1', '{{if 1}}NON-ZERO{{else}}ZERO{{end}}', 'NON-ZERO'],
  ['if 0', '{{if 0}}NON-ZERO{{else}}ZERO{{end}}', 'ZERO'],
  ['if 1.5', '{{if 1.5}}NON-ZERO{{else}}ZERO{{end}}', 'NON-ZERO'],
  ['if 0.0', '{{if .FloatZero}}NON-ZERO{{else}}ZERO{{end}}', 'ZERO'],
  ['if emptystring', '{{if ``}}NON-EMPTY{{else}}EMPTY{{end}}', 'EMPTY'],
  ['if string', '{{if `notempty`}}NON-EMPTY{{else}}EMPTY{{end}}', 'NON-EMPTY'],
  ['if emptyslice', '{{if .SIEmpty}}NON-EMPTY{{else}}EMPTY{{end}}', 'EMPTY'],
  ['if slice', '{{if .SI}}NON-EMPTY{{else}}EMPTY{{end}}', 'NON-EMPTY'],
  ['if emptymap', '{{if .MSIEmpty}}NON-EMPTY{{else}}EMPTY{{end}}', 'EMPTY'],
  ['if map', '{{if .MSI}}NON-EMPTY{{else}}EMPTY{{end}}', 'NON-EMPTY'],
  ['if map unset', '{{if .MXI.none}}NON-ZERO{{else}}ZERO{{end}}', 'ZERO'],
  ['if map not unset', '{{if not .MXI.none}}ZERO{{else}}NON-ZERO{{end}}', 'ZERO'],
  ['if $x with $y int', '{{if $x := true}}{{with $y := .I}}{{$x}},{{$y}}{{end}}{{end}}', 'true,17'],
  ['if $x with $x int', '{{if $x := true}}{{with $x := .I}}{{$x}},{{end}}{{$x}}{{end}}', '17,true'],
  ['if else if', '{{if false}}FALSE{{else if true}}TRUE{{end}}', 'TRUE'],
  ['if else chain', '{{if eq 1 3}}1{{else if eq 2 3}}2{{else if eq 3 3}}3{{end}}', '3'],
  ['print', '{{print "hello, print"}}', 'hello, print'],
  ['print 123', '{{print 1 2 3}}', '1 2 3'],
  ['print nil', '{{print nil}}', '<nil>'],
  ['println', '{{println 1 2 3}}', '1 2 3\n'],
  ['printf int', '{{printf "%04x" 127}}', '007f'],
  ['printf float', '{{printf "%g" 3.5}}', '3.5'],
  ['printf string', '{{printf "%s" "hello"}}', 'hello'],
  ['printf field', '{{printf "%s" .U.V}}', 'v'],
  ['printf method', '{{printf "%s" .Method0}}', 'M0'],
  ['printf dot', '{{with .I}}{{printf "%d" .}}{{end}}', '17'],
  ['printf var', '{{with $x := .I}}{{printf "%d" $x}}{{end}}', '17'],
  ['printf lots', '{{printf "%d %s %g %s" 127 "hello" 2.5 .Method0}}', '127 hello 2.5 M0'],
  ['printf final', '{{"x" | printf}}', 'x'],
  ['html', '{{html "<script>alert(\\"XSS\\");</script>"}}', '&lt;script&gt;alert(&#34;XSS&#34;);&lt;/script&gt;'],
  ['html pipeline', '{{printf "<script>alert(\\"XSS\\");</script>" | html}}', '&lt;script&gt;alert(&#34;XSS&#34;);&lt;/script&gt;'],
  ['js', '{{js .}}', "It\\'d be nice.", "It'd be nice."],
  ['urlquery', '{{"http://www.example.org/"|urlquery}}', 'http%3A%2F%2Fwww.example.org%2F'],
  ['not', '{{not true}} {{not false}}', 'false true'],
  ['and', '{{and false 0}} {{and 1 0}} {{and 0 true}} {{and 1 1}}', 'false 0 0 1'],
  ['or', '{{or 0 0}} {{or 1 0}} {{or 0 true}} {{or 1 1}}', '0 1 true 1'],
  ['boolean if', '{{if and true 1 `hi`}}TRUE{{else}}FALSE{{end}}', 'TRUE'],
  ['boolean if not', '{{if and true 1 `hi` | not}}TRUE{{else}}FALSE{{end}}', 'FALSE'],
  ['slice[0]', '{{index .SI 0}}', '3'],
  ['slice[1]', '{{index .SI 1}}', '4'],
  ['map[one]', '{{index .MSI `one`}}', '1'],
  ['double index', '{{index .SMSI 1 `eleven`}}', '11'],
  ['len slice', '{{len .SI}}', '3'],
  ['len map', '{{len .MSI }}', '3'],
  ['with true', '{{with true}}{{.}}{{end}}', 'true'],
  ['with false', '{{with false}}{{.}}{{else}}FALSE{{end}}', 'FALSE'],
  ['with 1', '{{with 1}}{{.}}{{else}}ZERO{{end}}', '1'],
  ['with 0', '{{with 0}}{{.}}{{else}}ZERO{{end}}', 'ZERO'],
  ['with 1.5', '{{with 1.5}}{{.}}{{else}}ZERO{{end}}', '1.5'],
  ['with emptystring', '{{with ``}}{{.}}{{else}}EMPTY{{end}}', 'EMPTY'],
  ['with string', '{{with `notempty`}}{{.}}{{else}}EMPTY{{end}}', 'notempty'],
  ['with slice', '{{with .SI}}{{.}}{{else}}EMPTY{{end}}', '[3 4 5]'],
  ['with emptymap', '{{with .MSIEmpty}}{{.}}{{else}}EMPTY{{end}}', 'EMPTY'],
  ['with map', '{{with .MSIone}}{{.}}{{else}}EMPTY{{end}}', 'map[one:1]'],
  ['with $x int', '{{with $x := .I}}{{$x}}{{end}}', '17'],
  ['with $x struct.U.V', '{{with $x := $}}{{$x.U.V}}{{end}}', 'v'],
  ['with variable and action', '{{with $x := $}}{{$y := $.U.V}}{{$y}}{{end}}', 'v'],
  ['else with', '{{with .MSIEmpty}}x{{else with .SI}}{{.}}{{end}}', '[3 4 5]'],
  ['range []int', '{{range .SI}}-{{.}}-{{end}}', '-3--4--5-'],
  ['range empty no else', '{{range .SIEmpty}}-{{.}}-{{end}}', ''],
  ['range []int else', '{{range .SI}}-{{.}}-{{else}}EMPTY{{end}}', '-3--4--5-'],
  ['range empty else', '{{range .SIEmpty}}-{{.}}-{{else}}EMPTY{{end}}', 'EMPTY'],
  ['range []bool', '{{range .SB}}-{{.}}-{{end}}', '-true--false-'],
  ['range map', '{{range .MSI}}-{{.}}-{{end}}', '-1--3--2-'],
  ['range empty map no else', '{{range .MSIEmpty}}-{{.}}-{{end}}', ''],
  ['range empty map else', '{{range .MSIEmpty}}-{{.}}-{{else}}EMPTY{{end}}', 'EMPTY'],
  ['range empty interface', '{{range .Empty3}}-{{.}}-{{else}}EMPTY{{end}}', '-7--8-'],
  ['range empty nil', '{{range .Empty0}}-{{.}}-{{end}}', ''],
  ['range $x SI', '{{range $x := .SI}}<{{$x}}>{{end}}', '<3><4><5>'],
  ['range $x $y SI', '{{range $x, $y := .SI}}<{{$x}}={{$y}}>{{end}}', '<0=3><1=4><2=5>'],
  ['range $x MSIone', '{{range $x := .MSIone}}<{{$x}}>{{end}}', '<1>'],
  ['range $x $y MSIone', '{{range $x, $y := .MSIone}}<{{$x}}={{$y}}>{{end}}', '<one=1>'],
  ['range $x PSI', '{{range $x := .PSI}}<{{$x}}>{{end}}', '<21><22><23>'],
  ['declare in range', '{{range $x := .PSI}}<{{$foo:=$x}}{{$x}}>{{end}}', '<21><22><23>'],
  ['range int', '{{range 3}}{{.}}{{end}}', '012'],
  ['range break', '{{range .SI}}{{if eq . 4}}{{break}}{{end}}<{{.}}>{{end}}', '<3>'],
  ['range continue', '{{range .SI}}{{if eq . 4}}{{continue}}{{end}}<{{.}}>{{end}}', '<3><5>'],
  ['or as if true', '{{or .SI "slice is empty"}}', '[3 4 5]'],
  ['or as if false', '{{or .SIEmpty "slice is empty"}}', 'slice is empty'],
  ['bug0', '{{range .MSIone}}{{if $.Method1 .}}X{{end}}{{end}}', 'X'],
  ['bug9', '{{.cause}}', 'neglect', { cause: 'neglect' }],
  ['bug16g', '{{"aaa" |printf "bbb%s"}}', 'bbbaaa'],
  ['bug16k', '{{"aaa"|printf }}', 'aaa'],
  ['comment', 'a{{/* a comment */}}b', 'ab'],
  ['trim markers', 'a  {{- "b" -}}  c', 'abc'],
  ['trim comment', 'a \n{{- /* x */ -}}\n b', 'ab'],
  ['trim keeps inner', '{{- 3 }} {{ 4 -}} ', '3 4'],
  ['char constant', "{{printf \"%c\" 'x'}}", 'x'],
  ['hex int', '{{0x1F}}', '31'],
  ['octal int', '{{017}}', '15'],
  ['eq multi', '{{eq 3 4 5 6 3}}', 'true'],
  ['lt strings', '{{lt `xy` `xyz`}}', 'true'],
  ['ge ints', '{{ge 2 1}}', 'true'],
  ['eq nil', '{{eq .Empty0 nil}}', 'true'],
  ['slice func', '{{slice "hello" 1 3}}', 'el'],
];

test('renderTemplate executes like Go text/template', () => {
  for (const [name, input, output, data] of execCases) {
    assert.equal(renderTemplate(input, data === undefined ? tVal : data), output, name);
  }
});

test('renderTemplate supports docker template functions', () => {
  const data = { Names: 'foobar_baz', Image: 'ubuntu:22.04', Status: 'Up 2 hours', Ports: '', L: ['a', 'b'], Labels: { 'com.example.x': 'y' } };
  const cases: [string, string][] = [
    ['{{json .Image}}', '"ubuntu:22.04"'],
    ['{{json .L}}', '["a","b"]'],
    ['{{json .Labels}}', '{"com.example.x":"y"}'],
    ['{{json "<&>"}}', '"<&>"'],
    ['{{split .Image ":"}}', '[ubuntu 22.04]'],
    ['{{join .L ","}}', 'a,b'],
    ['{{join (split .Image ":") "/"}}', 'ubuntu/22.04'],
    ['{{title .Status}}', 'Up 2 Hours'],
    ['{{title "hello wORLD_x-y"}}', 'Hello WORLD_x-Y'],
    ['{{lower .Status}}', 'up 2 hours'],
    ['{{upper .Names}}', 'FOOBAR_BAZ'],
    ['{{truncate .Names 3}}', 'foo'],
    ['{{truncate .Names 30}}', 'foobar_baz'],
    ['[{{pad .Names 2 1}}]', '[  foobar_baz ]'],
    ['[{{pad .Ports 2 1}}]', '[]'],
    ['{{index .Labels "com.example.x"}}', 'y'],
    ['[{{index .Labels "missing"}}]', '[]'],
    ['{{.Labels}}', 'map[com.example.x:y]'],
    ['{{printf "%-12s|" .Names}}', 'foobar_baz  |'],
    ['{{len .Names}}', '10'],
  ];
  for (const [tmpl, want] of cases) assert.equal(renderTemplate(tmpl, data), want, tmpl);
});

test('renderTemplate reports errors with Go wording', () => {
  const data = { A: 'x', N: 5, L: [1], M: { k: 'v' } };
  const cases: [string, string][] = [
    ['{{.Foo}}', 'template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type *formatter.ContainerContext'],
    ['{{InvalidFunction}}', 'template: :1: function "InvalidFunction" not defined'],
    ['{{nil}}', 'template: :1:2: executing "" at <nil>: nil is not a command'],
    ['{{.A', 'template: :1: unclosed action'],
    ['{{if .A}}', 'template: :1: unexpected EOF'],
    ['{{end}}', 'template: :1: unexpected {{end}}'],
    ['{{join .A}}', 'template: :1:2: executing "" at <join>: wrong number of args for join: want 2 got 1'],
    ['{{upper .N}}', 'template: :1:8: executing "" at <.N>: wrong type for value; expected string; got int'],
    ['{{index .L 5}}', 'template: :1:2: executing "" at <index .L 5>: error calling index: index out of range: 5'],
    ['line1\n{{.A.B}}', 'template: :2:4: executing "" at <.A.B>: can\'t evaluate field B in type string'],
    ['{{3 2}}', 'template: :1:2: executing "" at <3>: can\'t give argument to non-function 3'],
    ['{{$x}}', 'template: :1: undefined variable "$x"'],
    ['{{break}}', 'template: :1: {{break}} outside {{range}}'],
    ['{{len 3}}', 'template: :1:2: executing "" at <len 3>: error calling len: len of type int'],
    ['{{.M.k 1}}', 'template: :1:4: executing "" at <.M.k>: k is not a method but has arguments'],
    ['{{range .A}}{{end}}', 'template: :1:8: executing "" at <.A>: range can\'t iterate over x'],
    ['{{"unterminated}}', 'template: :1: unterminated quoted string'],
    ['{{(1}}', 'template: :1: unclosed left paren'],
    ['{{truncate .A "x"}}', 'template: :1:14: executing "" at <"x">: expected integer; found "x"'],
  ];
  for (const [tmpl, msg] of cases) {
    assert.throws(() => renderTemplate(tmpl, data, { typeName: '*formatter.ContainerContext' }), (e: unknown) => {
      assert.ok(e instanceof TemplateError, tmpl);
      assert.equal((e as Error).message, msg, tmpl);
      return true;
    });
  }
});

test('renderTemplate accepts extra functions', () => {
  assert.equal(renderTemplate('{{twice .}}', 'ab', { funcs: { twice: (s: string) => s + s } }), 'abab');
  // function-valued data is called like a Go method; call takes a function value
  const binary = (a: string, b: string): string => `[${a}=${b}]`;
  assert.equal(renderTemplate('{{call binaryFunc `1` `2`}}', null, { funcs: { binaryFunc: () => binary } }), '[1=2]');
});

test('parseFormat mirrors docker Context.preFormat', () => {
  assert.deepEqual(parseFormat('table {{.ID}}\\t{{.Image}}'), { table: true, template: '{{.ID}}\t{{.Image}}' });
  assert.deepEqual(parseFormat('json'), { table: false, template: '{{json .}}' });
  assert.deepEqual(parseFormat('  {{.ID}}\\n  '), { table: false, template: '{{.ID}}\n' });
  assert.deepEqual(parseFormat('table'), { table: true, template: '' });
});

// docker/cli container_test.go fixtures
const containerHeaders = {
  ID: 'CONTAINER ID',
  Names: 'NAMES',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Ports: 'PORTS',
  State: 'STATE',
  Status: 'STATUS',
  Size: 'SIZE',
  Labels: 'LABELS',
  Mounts: 'MOUNTS',
  LocalVolumes: 'LOCAL VOLUMES',
  Networks: 'NETWORKS',
};
const row = (id: string, name: string): Record<string, unknown> => ({
  ID: id,
  Names: name,
  Image: 'ubuntu',
  Command: '""',
  CreatedAt: '2024-05-01 12:00:00 +0000 UTC',
  RunningFor: '24 hours ago',
  Ports: '',
  State: 'running',
  Status: '',
  Size: '0B',
  Labels: '',
  Mounts: '',
  LocalVolumes: '0',
  Networks: '',
  Label: (name: string) => (name === 'com.example.x' ? 'y' : ''),
});
const rows = [row('containerID1', 'foobar_baz'), row('containerID2', 'foobar_bar')];
const defaultTable = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';

test('formatWithTemplate renders docker ps tables', () => {
  assert.equal(
    formatWithTemplate(defaultTable + '\t{{.Size}}', rows, containerHeaders),
    `CONTAINER ID   IMAGE     COMMAND   CREATED        STATUS    PORTS     NAMES        SIZE
containerID1   ubuntu    ""        24 hours ago                       foobar_baz   0B
containerID2   ubuntu    ""        24 hours ago                       foobar_bar   0B
`,
  );
  assert.equal(
    formatWithTemplate(defaultTable, rows, containerHeaders),
    `CONTAINER ID   IMAGE     COMMAND   CREATED        STATUS    PORTS     NAMES
containerID1   ubuntu    ""        24 hours ago                       foobar_baz
containerID2   ubuntu    ""        24 hours ago                       foobar_bar
`,
  );
  assert.equal(formatWithTemplate('table {{.Image}}', rows, containerHeaders), 'IMAGE\nubuntu\nubuntu\n');
  assert.equal(formatWithTemplate('table {{.State}}', rows, containerHeaders), 'STATE\nrunning\nrunning\n');
  assert.equal(formatWithTemplate('{{.Image}}', rows, containerHeaders), 'ubuntu\nubuntu\n');
  assert.equal(formatWithTemplate('table {{split .Image ":"}}', rows, containerHeaders), 'IMAGE\n[ubuntu]\n[ubuntu]\n');
  // special headers for customized table format
  assert.equal(
    formatWithTemplate(
      'table {{truncate .ID 5}}\\t{{json .Image}} {{.RunningFor}}/{{title .Status}}/{{pad .Ports 2 2}}.{{upper .Names}} {{lower .Status}}',
      rows,
      containerHeaders,
    ),
    'CONTAINER ID   IMAGE CREATED/STATUS/  PORTS  .NAMES STATUS\n' +
      'conta          "ubuntu" 24 hours ago//.FOOBAR_BAZ \n' +
      'conta          "ubuntu" 24 hours ago//.FOOBAR_BAR \n',
  );
  // {{.Label "x"}}: the header is the last dotted part of the name
  assert.equal(
    formatWithTemplate('table {{.Names}}\t{{.Label "com.example.x"}}', rows, containerHeaders),
    'NAMES        x\nfoobar_baz   y\nfoobar_bar   y\n',
  );
});

test('formatWithTemplate with no rows prints only the header', () => {
  assert.equal(formatWithTemplate('{{.Image}}', [], containerHeaders), '');
  assert.equal(formatWithTemplate('table {{.Image}}', [], containerHeaders), 'IMAGE\n');
  assert.equal(formatWithTemplate('table {{.Image}}\t{{.Size}}', [], containerHeaders), 'IMAGE     SIZE\n');
});

test('formatWithTemplate raw format with trim markers', () => {
  const raw = `container_id: {{.ID}}
image: {{.Image}}
command: {{.Command}}
created_at: {{.CreatedAt}}
state: {{- pad .State 1 0}}
status: {{- pad .Status 1 0}}
names: {{.Names}}
labels: {{- pad .Labels 1 0}}
ports: {{- pad .Ports 1 0}}
`;
  assert.equal(
    formatWithTemplate(raw, rows.slice(0, 1), containerHeaders),
    `container_id: containerID1
image: ubuntu
command: ""
created_at: 2024-05-01 12:00:00 +0000 UTC
state: running
status:
names: foobar_baz
labels:
ports:

`,
  );
});

test('formatWithTemplate json prints one object per line with sorted keys', () => {
  const out = formatWithTemplate('json', [{ Image: 'ubuntu', ID: 'c1', Label: () => '' }], containerHeaders);
  assert.equal(out, '{"ID":"c1","Image":"ubuntu"}\n');
  assert.equal(formatWithTemplate('{{json .ID}}', rows, containerHeaders), '"containerID1"\n"containerID2"\n');
});

test('formatWithTemplate wraps errors like docker', () => {
  assert.throws(() => formatWithTemplate('{{InvalidFunction}}', rows, containerHeaders), {
    message: 'template parsing error: template: :1: function "InvalidFunction" not defined',
  });
  assert.throws(() => formatWithTemplate('{{nil}}', rows, containerHeaders), {
    message: 'template parsing error: template: :1:2: executing "" at <nil>: nil is not a command',
  });
  assert.throws(() => formatWithTemplate('table {{.Foo}}', rows, containerHeaders, { typeName: '*formatter.ContainerContext' }), {
    message: 'template parsing error: template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type *formatter.ContainerContext',
  });
});

// A --format is user input: a template that would loop for hours or print gigabytes stops with an error.
test('a template\'s work and output are bounded', () => {
  assert.throws(() => renderTemplate('{{range 1000000000}}{{end}}', {}), (e: unknown) => e instanceof TemplateError && /exceeded its work limit of 1000000 steps/.test(e.message));
  assert.throws(() => renderTemplate('{{range 100000}}{{range 100000}}x{{end}}{{end}}', {}), TemplateError);
  assert.throws(() => renderTemplate('{{range 1000}}{{pad "x" 100000 0}}{{end}}', {}), (e: unknown) => e instanceof TemplateError && /template output exceeded 67108864 characters/.test(e.message));
  assert.throws(() => renderTemplate('{{pad "x" 1000000000 0}}', {}), (e: unknown) => e instanceof TemplateError && /error calling pad: padding over 67108864 characters/.test(e.message));
  // Go's fmt refuses widths and precisions past a million, and gives up on the rest of a format whose number overflows.
  assert.equal(renderTemplate('{{printf "%*d" 2000000 1}}', {}), '%!(BADWIDTH)1');
  assert.equal(renderTemplate('{{printf "%.*f" 2000000 1.5}}', {}), '%!(BADPREC)1.500000');
  assert.equal(renderTemplate('{{printf "%99999999999d|" 1}}', {}), '%!(NOVERB)%!(EXTRA int=1)');
  assert.equal(renderTemplate('{{printf "%5d|" 1}}', {}), '    1|');
});
