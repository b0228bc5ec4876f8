// Go text/template for --format: a port of the lexer, parser and executor of
// Go's text/template (actions, pipelines, variables, if/else/with/range/
// break/continue, the builtin functions) plus docker's template functions
// (docker/cli templates/templates.go) and docker's formatter flow
// (cli/command/formatter/formatter.go): "table" prefix, header row from a
// header map, tabwriter alignment, "json" as {{json .}}.
// Error messages follow Go's wording, since users see them verbatim.
// Not supported: define/template/block, complex numbers, hex floats.

import { formatValue, goQuote, goTypeName, isPrint, sprint, sprintf, sprintln } from '../../common/gofmt.js';
import { tabwrite } from './table.js';

/** An error from parsing or executing a template, worded like Go's. */
export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

// ---------------------------------------------------------------------------
// Lexer (text/template/parse/lex.go)

type ItemType =
  | 'error' | 'bool' | 'char' | 'charConstant' | 'complex' | 'assign' | 'declare' | 'eof'
  | 'field' | 'identifier' | 'leftDelim' | 'leftParen' | 'number' | 'pipe' | 'rawString'
  | 'rightDelim' | 'rightParen' | 'space' | 'string' | 'text' | 'variable'
  // keywords
  | 'block' | 'break' | 'continue' | 'dot' | 'define' | 'else' | 'end' | 'if' | 'nil'
  | 'range' | 'template' | 'with';

const keywords: Record<string, ItemType> = {
  '.': 'dot', block: 'block', break: 'break', continue: 'continue', define: 'define', else: 'else',
  end: 'end', if: 'if', range: 'range', nil: 'nil', template: 'template', with: 'with',
};
const keywordTypes = new Set<ItemType>(Object.values(keywords));

interface Item {
  typ: ItemType;
  pos: number;
  val: string;
  line: number;
}

/** item.String() from lex.go, used in "unexpected ..." messages. */
function itemString(i: Item): string {
  if (i.typ === 'eof') return 'EOF';
  if (i.typ === 'error') return i.val;
  if (keywordTypes.has(i.typ)) return `<${i.val}>`;
  const runes = Array.from(i.val);
  if (runes.length > 10) return goQuote(runes.slice(0, 10).join('')) + '...';
  return goQuote(i.val);
}

const LEFT = '{{';
const RIGHT = '}}';
const LEFT_COMMENT = '/*';
const RIGHT_COMMENT = '*/';
const TRIM_MARKER_LEN = 2;

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

function isAlphaNumeric(c: string | undefined): boolean {
  if (c === undefined) return false;
  return c === '_' || /^[\p{L}\p{Nd}]$/u.test(c);
}

function hasLeftTrimMarker(s: string, at: number): boolean {
  return s.length - at >= 2 && s[at] === '-' && isSpace(s[at + 1]);
}

function hasRightTrimMarker(s: string, at: number): boolean {
  return s.length - at >= 2 && isSpace(s[at]) && s[at + 1] === '-';
}

/** %#U formatting: U+0041 'A'. */
function fmtSharpU(c: string): string {
  const cp = c.codePointAt(0) as number;
  const u = 'U+' + cp.toString(16).toUpperCase().padStart(4, '0');
  return isPrint(cp) ? `${u} '${c}'` : u;
}

function lex(input: string): Item[] {
  const items: Item[] = [];
  let pos = 0;
  let start = 0;
  let parenDepth = 0;
  const EOF = '';

  const lineAt = (p: number): number => {
    let n = 1;
    for (let i = input.indexOf('\n'); i >= 0 && i < p; i = input.indexOf('\n', i + 1)) n++;
    return n;
  };
  const next = (): string => {
    if (pos >= input.length) return EOF;
    const c = String.fromCodePoint(input.codePointAt(pos) as number);
    pos += c.length;
    return c;
  };
  const backup = (c: string): void => {
    pos -= c.length;
  };
  const peek = (): string => {
    const c = next();
    backup(c);
    return c;
  };
  const accept = (valid: string): boolean => {
    const c = next();
    if (c !== EOF && valid.includes(c)) return true;
    backup(c);
    return false;
  };
  const acceptRun = (valid: string): void => {
    for (;;) {
      const c = next();
      if (c === EOF || !valid.includes(c)) {
        backup(c);
        return;
      }
    }
  };
  const push = (typ: ItemType, from: number, to: number): void => {
    items.push({ typ, pos: from, val: input.slice(from, to), line: lineAt(from) });
  };
  const emit = (typ: ItemType): void => {
    push(typ, start, pos);
    start = pos;
  };
  const errorf = (msg: string): null => {
    items.push({ typ: 'error', pos: start, val: msg, line: lineAt(start) });
    return null;
  };
  const atRightDelim = (): [boolean, boolean] => {
    if (hasRightTrimMarker(input, pos) && input.startsWith(RIGHT, pos + TRIM_MARKER_LEN)) return [true, true];
    if (input.startsWith(RIGHT, pos)) return [true, false];
    return [false, false];
  };
  const leftTrimLength = (from: number): number => {
    let i = from;
    while (i < input.length && isSpace(input[i])) i++;
    return i - from;
  };
  const atTerminator = (): boolean => {
    const r = peek();
    if (r === EOF || isSpace(r)) return true;
    if ('.,|:)('.includes(r)) return true;
    return r === RIGHT[0];
  };

  type State = () => State | null;

  const lexText: State = () => {
    const x = input.indexOf(LEFT, pos);
    if (x >= 0) {
      if (x > pos) {
        pos = x;
        // trailing space before "{{- " is trimmed
        let trimLength = 0;
        if (hasLeftTrimMarker(input, pos + LEFT.length)) {
          let i = pos;
          while (i > start && isSpace(input[i - 1])) i--;
          trimLength = pos - i;
        }
        pos -= trimLength;
        if (pos > start) push('text', start, pos);
        pos += trimLength;
        start = pos;
      }
      return lexLeftDelim;
    }
    pos = input.length;
    if (pos > start) emit('text');
    emit('eof');
    return null;
  };

  const lexLeftDelim: State = () => {
    pos += LEFT.length;
    const trimSpace = hasLeftTrimMarker(input, pos);
    const afterMarker = trimSpace ? TRIM_MARKER_LEN : 0;
    if (input.startsWith(LEFT_COMMENT, pos + afterMarker)) {
      pos += afterMarker;
      start = pos;
      return lexComment;
    }
    emit('leftDelim');
    pos += afterMarker;
    start = pos;
    parenDepth = 0;
    return lexInsideAction;
  };

  const lexComment: State = () => {
    pos += LEFT_COMMENT.length;
    const x = input.indexOf(RIGHT_COMMENT, pos);
    if (x < 0) return errorf('unclosed comment');
    pos = x + RIGHT_COMMENT.length;
    const [delim, trimSpace] = atRightDelim();
    if (!delim) return errorf('comment ends before closing delimiter');
    if (trimSpace) pos += TRIM_MARKER_LEN;
    pos += RIGHT.length;
    if (trimSpace) pos += leftTrimLength(pos);
    start = pos;
    return lexText;
  };

  const lexRightDelim: State = () => {
    const [, trimSpace] = atRightDelim();
    if (trimSpace) {
      pos += TRIM_MARKER_LEN;
      start = pos;
    }
    pos += RIGHT.length;
    emit('rightDelim');
    if (trimSpace) {
      pos += leftTrimLength(pos);
      start = pos;
    }
    return lexText;
  };

  const lexInsideAction: State = () => {
    const [delim] = atRightDelim();
    if (delim) {
      if (parenDepth === 0) return lexRightDelim;
      return errorf('unclosed left paren');
    }
    const r = next();
    if (r === EOF) return errorf('unclosed action');
    if (isSpace(r)) {
      backup(r); // the space may start " -}}"
      return lexSpace;
    }
    switch (r) {
      case '=':
        emit('assign');
        return lexInsideAction;
      case ':':
        if (next() !== '=') return errorf('expected :=');
        emit('declare');
        return lexInsideAction;
      case '|':
        emit('pipe');
        return lexInsideAction;
      case '"':
        return lexQuote;
      case '`':
        return lexRawQuote;
      case '$':
        return lexVariable;
      case "'":
        return lexChar;
      case '(':
        emit('leftParen');
        parenDepth++;
        return lexInsideAction;
      case ')':
        emit('rightParen');
        parenDepth--;
        if (parenDepth < 0) return errorf('unexpected right paren');
        return lexInsideAction;
    }
    if (r === '.') {
      // ".field" unless a digit follows (then it is a number like .5)
      if (pos < input.length) {
        const c = input[pos];
        if (c < '0' || c > '9') return lexField;
      }
      backup(r);
      return lexNumber;
    }
    if (r === '+' || r === '-' || (r >= '0' && r <= '9')) {
      backup(r);
      return lexNumber;
    }
    if (isAlphaNumeric(r)) {
      backup(r);
      return lexIdentifier;
    }
    const cp = r.codePointAt(0) as number;
    if (cp <= 0x7f && isPrint(cp)) {
      emit('char');
      return lexInsideAction;
    }
    return errorf(`unrecognized character in action: ${fmtSharpU(r)}`);
  };

  const lexSpace: State = () => {
    let numSpaces = 0;
    while (isSpace(peek())) {
      next();
      numSpaces++;
    }
    // a trim-marked right delimiter starts with a space: leave it for lexRightDelim
    if (hasRightTrimMarker(input, pos - 1) && input.startsWith(RIGHT, pos - 1 + TRIM_MARKER_LEN)) {
      pos -= 1;
      if (numSpaces === 1) return lexRightDelim;
    }
    emit('space');
    return lexInsideAction;
  };

  const lexIdentifier: State = () => {
    for (;;) {
      const r = next();
      if (isAlphaNumeric(r)) continue;
      backup(r);
      const word = input.slice(start, pos);
      if (!atTerminator()) return errorf(`bad character ${fmtSharpU(r)}`);
      if (Object.hasOwn(keywords, word) && word !== '.') emit(keywords[word]);
      else if (word === 'true' || word === 'false') emit('bool');
      else emit('identifier');
      return lexInsideAction;
    }
  };

  const lexFieldOrVariable = (typ: 'field' | 'variable'): State | null => {
    if (atTerminator()) {
      emit(typ === 'variable' ? 'variable' : 'dot');
      return lexInsideAction;
    }
    let r: string;
    for (;;) {
      r = next();
      if (!isAlphaNumeric(r)) {
        backup(r);
        break;
      }
    }
    if (!atTerminator()) return errorf(`bad character ${fmtSharpU(r)}`);
    emit(typ);
    return lexInsideAction;
  };
  const lexField: State = () => lexFieldOrVariable('field');
  const lexVariable: State = () => {
    if (atTerminator()) {
      emit('variable');
      return lexInsideAction;
    }
    return lexFieldOrVariable('variable');
  };

  const lexChar: State = () => {
    for (;;) {
      const c = next();
      if (c === '\\') {
        const r = next();
        if (r !== EOF && r !== '\n') continue;
        return errorf('unterminated character constant');
      }
      if (c === EOF || c === '\n') return errorf('unterminated character constant');
      if (c === "'") break;
    }
    emit('charConstant');
    return lexInsideAction;
  };

  const scanNumber = (): boolean => {
    accept('+-');
    let digits = '0123456789_';
    if (accept('0')) {
      if (accept('xX')) digits = '0123456789abcdefABCDEF_';
      else if (accept('oO')) digits = '01234567_';
      else if (accept('bB')) digits = '01_';
    }
    acceptRun(digits);
    if (accept('.')) acceptRun(digits);
    if (digits.length === 11 && accept('eE')) {
      accept('+-');
      acceptRun('0123456789_');
    }
    if (digits.length === 23 && accept('pP')) {
      accept('+-');
      acceptRun('0123456789_');
    }
    accept('i');
    if (isAlphaNumeric(peek())) {
      next();
      return false;
    }
    return true;
  };

  const lexNumber: State = () => {
    if (!scanNumber()) return errorf(`bad number syntax: ${goQuote(input.slice(start, pos))}`);
    const sign = peek();
    if (sign === '+' || sign === '-') {
      // complex constant like 1+2i
      if (!scanNumber() || input[pos - 1] !== 'i') return errorf(`bad number syntax: ${goQuote(input.slice(start, pos))}`);
      emit('complex');
    } else {
      emit('number');
    }
    return lexInsideAction;
  };

  const lexQuote: State = () => {
    for (;;) {
      const c = next();
      if (c === '\\') {
        const r = next();
        if (r !== EOF && r !== '\n') continue;
        return errorf('unterminated quoted string');
      }
      if (c === EOF || c === '\n') return errorf('unterminated quoted string');
      if (c === '"') break;
    }
    emit('string');
    return lexInsideAction;
  };

  const lexRawQuote: State = () => {
    for (;;) {
      const c = next();
      if (c === EOF) return errorf('unterminated raw quoted string');
      if (c === '`') break;
    }
    emit('rawString');
    return lexInsideAction;
  };

  let state: State | null = lexText;
  while (state) state = state();
  return items;
}

// ---------------------------------------------------------------------------
// Parse tree (text/template/parse/node.go)

interface FieldNode { kind: 'field'; pos: number; ident: string[] }
interface VariableNode { kind: 'variable'; pos: number; ident: string[] }
interface DotNode { kind: 'dot'; pos: number }
interface NilNode { kind: 'nil'; pos: number }
interface BoolNode { kind: 'bool'; pos: number; value: boolean }
interface NumberNode { kind: 'number'; pos: number; text: string; isInt: boolean; isFloat: boolean; value: number }
interface StringNode { kind: 'string'; pos: number; quoted: string; text: string }
interface IdentifierNode { kind: 'identifier'; pos: number; name: string }
interface ChainNode { kind: 'chain'; pos: number; node: ArgNode; field: string[] }
interface CommandNode { kind: 'command'; pos: number; args: ArgNode[] }
interface PipeNode { kind: 'pipe'; pos: number; line: number; isAssign: boolean; decl: VariableNode[]; cmds: CommandNode[] }
type ArgNode = FieldNode | VariableNode | DotNode | NilNode | BoolNode | NumberNode | StringNode | IdentifierNode | ChainNode | PipeNode;

interface TextNode { kind: 'text'; pos: number; text: string }
interface ActionNode { kind: 'action'; pos: number; line: number; pipe: PipeNode }
interface BranchNode { kind: 'if' | 'with' | 'range'; pos: number; line: number; pipe: PipeNode; list: ListNode; elseList?: ListNode }
interface ListNode { kind: 'list'; pos: number; nodes: Node[] }
interface LoopControlNode { kind: 'break' | 'continue'; pos: number; line: number }
interface ElseNode { kind: 'else'; pos: number; line: number }
interface EndNode { kind: 'end'; pos: number }
type Node = TextNode | ActionNode | BranchNode | ListNode | LoopControlNode | ElseNode | EndNode;
type AnyNode = Node | ArgNode | CommandNode;

/** node.String(): the text shown in "executing ... at <...>". */
function nodeString(n: AnyNode): string {
  switch (n.kind) {
    case 'field':
      return '.' + n.ident.join('.');
    case 'variable':
      return n.ident.join('.');
    case 'dot':
      return '.';
    case 'nil':
      return 'nil';
    case 'bool':
      return n.value ? 'true' : 'false';
    case 'number':
      return n.text;
    case 'string':
      return n.quoted;
    case 'identifier':
      return n.name;
    case 'chain': {
      const inner = n.node.kind === 'pipe' ? '(' + nodeString(n.node) + ')' : nodeString(n.node);
      return inner + '.' + n.field.join('.');
    }
    case 'command':
      return n.args.map((a) => (a.kind === 'pipe' ? '(' + nodeString(a) + ')' : nodeString(a))).join(' ');
    case 'pipe': {
      let s = '';
      if (n.decl.length > 0) s = n.decl.map(nodeString).join(', ') + (n.isAssign ? ' = ' : ' := ');
      return s + n.cmds.map(nodeString).join(' | ');
    }
    case 'text':
      return n.text.length > 10 ? goQuote(Array.from(n.text).slice(0, 10).join('')) + '...' : goQuote(n.text);
    case 'action':
      return '{{' + nodeString(n.pipe) + '}}';
    case 'if':
    case 'with':
    case 'range': {
      let s = `{{${n.kind} ${nodeString(n.pipe)}}}${nodeString(n.list)}`;
      if (n.elseList) s += '{{else}}' + nodeString(n.elseList);
      return s + '{{end}}';
    }
    case 'list':
      return n.nodes.map(nodeString).join('');
    case 'break':
    case 'continue':
      return `{{${n.kind}}}`;
    case 'else':
      return '{{else}}';
    case 'end':
      return '{{end}}';
  }
}

// ---------------------------------------------------------------------------
// Parser (text/template/parse/parse.go)

/** strconv.Unquote for Go string and rune literals. */
function unquote(q: string): string {
  if (q.startsWith('`')) return q.slice(1, -1).replace(/\r/g, '');
  const quote = q[0];
  const body = q.slice(1, -1);
  let out = '';
  let bytes: number[] = [];
  const flushBytes = (): void => {
    if (bytes.length) {
      out += Buffer.from(bytes).toString('utf8');
      bytes = [];
    }
  };
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === quote) throw new Error('invalid syntax');
    if (c !== '\\') {
      flushBytes();
      out += c;
      continue;
    }
    const e = body[++i];
    const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };
    if (Object.hasOwn(simple, e)) {
      flushBytes();
      out += simple[e];
    } else if (e === quote) {
      flushBytes();
      out += e;
    } else if (e === 'x') {
      const h = body.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(h)) throw new Error('invalid syntax');
      bytes.push(parseInt(h, 16));
      i += 2;
    } else if (e >= '0' && e <= '7') {
      const o = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(o) || parseInt(o, 8) > 255) throw new Error('invalid syntax');
      bytes.push(parseInt(o, 8));
      i += 2;
    } else if (e === 'u' || e === 'U') {
      const n = e === 'u' ? 4 : 8;
      const h = body.slice(i + 1, i + 1 + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(h)) throw new Error('invalid syntax');
      const cp = parseInt(h, 16);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw new Error('invalid syntax');
      flushBytes();
      out += String.fromCodePoint(cp);
      i += n;
    } else {
      throw new Error('invalid syntax');
    }
  }
  flushBytes();
  return out;
}

/** strconv.ParseInt(s, 0, 64) rules: sign, 0x/0o/0b prefixes, leading-0 octal, underscores after a prefix. */
function parseGoInt(text: string): number | undefined {
  let s = text;
  let neg = false;
  if (s[0] === '+' || s[0] === '-') {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  let base = 10;
  let digits = s;
  if (/^0[xX]/.test(s)) {
    base = 16;
    digits = s.slice(2);
  } else if (/^0[oO]/.test(s)) {
    base = 8;
    digits = s.slice(2);
  } else if (/^0[bB]/.test(s)) {
    base = 2;
    digits = s.slice(2);
  } else if (/^0\d/.test(s) || /^0_/.test(s)) {
    base = 8;
    digits = s.slice(1);
  }
  if (base === 10 && digits.includes('_')) return undefined;
  digits = digits.replace(/_/g, '');
  const valid = { 2: /^[01]+$/, 8: /^[0-7]+$/, 10: /^\d+$/, 16: /^[0-9a-fA-F]+$/ }[base] as RegExp;
  if (!valid.test(digits)) return undefined;
  const v = Number(BigInt((base === 16 ? '0x' : base === 8 ? '0o' : base === 2 ? '0b' : '') + digits));
  return neg ? -v : v;
}

class Parser {
  private idx = 0;
  private maxIdx = 0;
  private vars: string[] = ['$'];
  private rangeDepth = 0;
  private actionLine = 0;

  constructor(
    private readonly items: Item[],
    private readonly hasFunction: (name: string) => boolean,
  ) {}

  private item(i: number): Item {
    return this.items[Math.min(i, this.items.length - 1)];
  }
  private next(): Item {
    const it = this.item(this.idx);
    this.idx = Math.min(this.idx + 1, this.items.length);
    this.maxIdx = Math.max(this.maxIdx, this.idx - 1);
    return it;
  }
  private backup(): void {
    this.idx--;
  }
  private peek(): Item {
    const it = this.next();
    this.backup();
    return it;
  }
  private nextNonSpace(): Item {
    let t: Item;
    do t = this.next();
    while (t.typ === 'space');
    return t;
  }
  private peekNonSpace(): Item {
    const t = this.nextNonSpace();
    this.backup();
    return t;
  }

  private errorf(msg: string): never {
    // Go reports the line of the most recently lexed token
    throw new TemplateError(`template: :${this.item(this.maxIdx).line}: ${msg}`);
  }
  private unexpected(token: Item, context: string): never {
    if (token.typ === 'error') {
      let extra = '';
      if (this.actionLine !== 0 && this.actionLine !== token.line) {
        extra = ` in action started at :${this.actionLine}`;
        if (token.val.endsWith(' action')) extra = extra.slice(' in action'.length);
      }
      this.errorf(token.val + extra);
    }
    this.errorf(`unexpected ${itemString(token)} in ${context}`);
  }
  private expect(typ: ItemType, context: string): Item {
    const token = this.nextNonSpace();
    if (token.typ !== typ) this.unexpected(token, context);
    return token;
  }

  parse(): ListNode {
    const root: ListNode = { kind: 'list', pos: this.peek().pos, nodes: [] };
    while (this.peek().typ !== 'eof') {
      const n = this.textOrAction();
      if (n.kind === 'end' || n.kind === 'else') this.errorf(`unexpected ${nodeString(n)}`);
      root.nodes.push(n);
    }
    return root;
  }

  private itemList(): [ListNode, Node] {
    const list: ListNode = { kind: 'list', pos: this.peekNonSpace().pos, nodes: [] };
    while (this.peekNonSpace().typ !== 'eof') {
      const n = this.textOrAction();
      if (n.kind === 'end' || n.kind === 'else') return [list, n];
      list.nodes.push(n);
    }
    this.errorf('unexpected EOF');
  }

  private textOrAction(): Node {
    const token = this.nextNonSpace();
    switch (token.typ) {
      case 'text':
        return { kind: 'text', pos: token.pos, text: token.val };
      case 'leftDelim': {
        const saved = this.actionLine;
        this.actionLine = token.line;
        try {
          return this.action();
        } finally {
          this.actionLine = saved;
        }
      }
      default:
        this.unexpected(token, 'input');
    }
  }

  private action(): Node {
    const token = this.nextNonSpace();
    switch (token.typ) {
      case 'block':
      case 'define':
      case 'template':
        this.errorf(`{{${token.val}}} is not supported`);
        break;
      case 'break':
      case 'continue':
        return this.loopControl(token);
      case 'else':
        return this.elseControl();
      case 'end':
        return { kind: 'end', pos: this.expect('rightDelim', 'end').pos };
      case 'if':
      case 'range':
      case 'with':
        return this.control(token.typ);
    }
    this.backup();
    const t = this.peek();
    return { kind: 'action', pos: t.pos, line: t.line, pipe: this.pipeline('command', 'rightDelim') };
  }

  private loopControl(kw: Item): LoopControlNode {
    const token = this.nextNonSpace();
    if (token.typ !== 'rightDelim') this.unexpected(token, `{{${kw.val}}}`);
    if (this.rangeDepth === 0) this.errorf(`{{${kw.val}}} outside {{range}}`);
    return { kind: kw.typ as 'break' | 'continue', pos: kw.pos, line: kw.line };
  }

  private elseControl(): ElseNode {
    const peek = this.peekNonSpace();
    // "else if" / "else with": leave the keyword for the enclosing control
    if (peek.typ === 'if' || peek.typ === 'with') return { kind: 'else', pos: peek.pos, line: peek.line };
    const token = this.expect('rightDelim', 'else');
    return { kind: 'else', pos: token.pos, line: token.line };
  }

  private control(context: 'if' | 'range' | 'with'): BranchNode {
    const nvars = this.vars.length;
    try {
      const pipe = this.pipeline(context, 'rightDelim');
      if (context === 'range') this.rangeDepth++;
      let list: ListNode;
      let next: Node;
      try {
        [list, next] = this.itemList();
      } finally {
        if (context === 'range') this.rangeDepth--;
      }
      let elseList: ListNode | undefined;
      if (next.kind === 'else') {
        const chained = this.peek().typ;
        if ((context === 'if' && chained === 'if') || (context === 'with' && chained === 'with')) {
          // {{else if x}} is {{else}}{{if x}}...{{end}} sharing one {{end}}
          this.next();
          elseList = { kind: 'list', pos: next.pos, nodes: [this.control(context)] };
        } else {
          [elseList, next] = this.itemList();
          if (next.kind !== 'end') this.errorf(`expected end; found ${nodeString(next)}`);
        }
      }
      return { kind: context, pos: pipe.pos, line: pipe.line, pipe, list, elseList };
    } finally {
      this.vars.length = nvars;
    }
  }

  private pipeline(context: string, end: ItemType): PipeNode {
    const token = this.peekNonSpace();
    const pipe: PipeNode = { kind: 'pipe', pos: token.pos, line: token.line, isAssign: false, decl: [], cmds: [] };
    decls: for (;;) {
      const v = this.peekNonSpace();
      if (v.typ !== 'variable') break;
      const vIdx = this.idx;
      this.next();
      const nxt = this.peekNonSpace();
      if (nxt.typ === 'assign' || nxt.typ === 'declare') {
        pipe.isAssign = nxt.typ === 'assign';
        this.nextNonSpace();
        pipe.decl.push({ kind: 'variable', pos: v.pos, ident: v.val.split('.') });
        this.vars.push(v.val);
      } else if (nxt.typ === 'char' && nxt.val === ',') {
        this.nextNonSpace();
        pipe.decl.push({ kind: 'variable', pos: v.pos, ident: v.val.split('.') });
        this.vars.push(v.val);
        if (context === 'range' && pipe.decl.length < 2) {
          const p = this.peekNonSpace().typ;
          if (p === 'variable' || p === 'rightDelim' || p === 'rightParen') continue decls;
          this.errorf('range can only initialize variables');
        }
        this.errorf(`too many declarations in ${context}`);
      } else {
        // "$x foo": $x is an operand, not a declaration
        this.idx = vIdx;
      }
      break;
    }
    for (;;) {
      const t = this.nextNonSpace();
      if (t.typ === end) {
        this.checkPipeline(pipe, context);
        return pipe;
      }
      switch (t.typ) {
        case 'bool': case 'charConstant': case 'complex': case 'dot': case 'field': case 'identifier':
        case 'number': case 'nil': case 'rawString': case 'string': case 'variable': case 'leftParen':
          this.backup();
          pipe.cmds.push(this.command());
          break;
        default:
          this.unexpected(t, context);
      }
    }
  }

  private checkPipeline(pipe: PipeNode, context: string): void {
    if (pipe.cmds.length === 0) this.errorf(`missing value for ${context}`);
    pipe.cmds.slice(1).forEach((c, i) => {
      const k = c.args[0].kind;
      if (k === 'bool' || k === 'dot' || k === 'nil' || k === 'number' || k === 'string') {
        this.errorf(`non executable command in pipeline stage ${i + 2}`);
      }
    });
  }

  private command(): CommandNode {
    const cmd: CommandNode = { kind: 'command', pos: this.peekNonSpace().pos, args: [] };
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand();
      if (operand) cmd.args.push(operand);
      const token = this.next();
      if (token.typ === 'space') continue;
      if (token.typ === 'rightDelim' || token.typ === 'rightParen') this.backup();
      else if (token.typ !== 'pipe') this.unexpected(token, 'operand');
      break;
    }
    if (cmd.args.length === 0) this.errorf('empty command');
    return cmd;
  }

  private operand(): ArgNode | null {
    const node = this.term();
    if (!node) return null;
    if (this.peek().typ !== 'field') return node;
    const chain: ChainNode = { kind: 'chain', pos: this.peek().pos, node, field: [] };
    while (this.peek().typ === 'field') chain.field.push(this.next().val.slice(1));
    switch (node.kind) {
      case 'field':
        return { kind: 'field', pos: chain.pos, ident: [...node.ident, ...chain.field] };
      case 'variable':
        return { kind: 'variable', pos: chain.pos, ident: [...node.ident, ...chain.field] };
      case 'bool':
      case 'string':
      case 'number':
      case 'nil':
      case 'dot':
        this.errorf(`unexpected . after term ${goQuote(nodeString(node))}`);
    }
    return chain;
  }

  private term(): ArgNode | null {
    const token = this.nextNonSpace();
    switch (token.typ) {
      case 'identifier':
        if (!this.hasFunction(token.val)) this.errorf(`function ${goQuote(token.val)} not defined`);
        return { kind: 'identifier', pos: token.pos, name: token.val };
      case 'dot':
        return { kind: 'dot', pos: token.pos };
      case 'nil':
        return { kind: 'nil', pos: token.pos };
      case 'variable': {
        const ident = token.val.split('.');
        if (!this.vars.includes(ident[0])) this.errorf(`undefined variable ${goQuote(ident[0])}`);
        return { kind: 'variable', pos: token.pos, ident };
      }
      case 'field':
        return { kind: 'field', pos: token.pos, ident: token.val.slice(1).split('.') };
      case 'bool':
        return { kind: 'bool', pos: token.pos, value: token.val === 'true' };
      case 'charConstant':
      case 'complex':
      case 'number':
        return this.newNumber(token);
      case 'leftParen':
        return this.pipeline('parenthesized pipeline', 'rightParen');
      case 'string':
      case 'rawString': {
        let text: string;
        try {
          text = unquote(token.val);
        } catch (e) {
          this.errorf((e as Error).message);
        }
        return { kind: 'string', pos: token.pos, quoted: token.val, text };
      }
    }
    this.backup();
    return null;
  }

  private newNumber(token: Item): NumberNode {
    const text = token.val;
    if (token.typ === 'charConstant') {
      let s: string;
      try {
        s = unquote(text);
      } catch (e) {
        this.errorf((e as Error).message);
      }
      const runes = Array.from(s);
      if (runes.length !== 1) this.errorf(`malformed character constant: ${text}`);
      return { kind: 'number', pos: token.pos, text, isInt: true, isFloat: true, value: runes[0].codePointAt(0) as number };
    }
    if (token.typ === 'complex' || text.endsWith('i')) this.errorf(`complex numbers are not supported: ${text}`);
    const asInt = parseGoInt(text);
    if (asInt !== undefined) return { kind: 'number', pos: token.pos, text, isInt: true, isFloat: true, value: asInt };
    const clean = text.replace(/_/g, '');
    const f = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(clean) ? Number(clean) : NaN;
    if (Number.isNaN(f)) this.errorf(`illegal number syntax: ${goQuote(text)}`);
    return { kind: 'number', pos: token.pos, text, isInt: Number.isInteger(f), isFloat: true, value: f };
  }
}

// ---------------------------------------------------------------------------
// Functions

type ParamType = 'any' | 'string' | 'int' | 'float' | 'bool' | '[]string';

const paramTypeName: Record<ParamType, string> = {
  any: 'interface {}', string: 'string', int: 'int', float: 'float64', bool: 'bool', '[]string': '[]string',
};

/** A template function with Go-style parameter types, so arity and type errors read like Go's. */
interface FuncSpec {
  fn: (...args: unknown[]) => unknown;
  params?: ParamType[];
  variadic?: ParamType;
  builtin?: boolean;
}

/** A plain function callable from templates; arguments are passed unchecked. */
export type TemplateFunc = (...args: never[]) => unknown;

function mapValues(o: object): unknown[] {
  return Object.keys(o).map((k) => (o as Record<string, unknown>)[k]);
}

function isTrue(v: unknown, isMap: (o: object) => boolean): [boolean, boolean] {
  if (v === undefined || v === null) return [false, true];
  switch (typeof v) {
    case 'boolean':
      return [v, true];
    case 'number':
      return [v !== 0, true];
    case 'bigint':
      return [v !== 0n, true];
    case 'string':
      return [v.length > 0, true];
    case 'function':
      return [true, true];
  }
  if (Array.isArray(v)) return [v.length > 0, true];
  if (typeof v === 'object') return [isMap(v) ? Object.keys(v).length > 0 : true, true];
  return [false, false];
}

type BasicKind = 'bool' | 'number' | 'string' | 'invalid';

function basicKind(v: unknown): BasicKind {
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'number':
    case 'bigint':
      return 'number';
    case 'string':
      return 'string';
  }
  return 'invalid';
}

function eqFn(arg1: unknown, ...rest: unknown[]): boolean {
  if (rest.length === 0) throw new Error('missing argument for comparison');
  const k1 = basicKind(arg1);
  for (const arg of rest) {
    const k2 = basicKind(arg);
    if (k1 !== k2) {
      if (arg1 !== undefined && arg1 !== null && arg !== undefined && arg !== null) {
        throw new Error('incompatible types for comparison');
      }
      if ((arg1 ?? null) === (arg ?? null)) return true;
      continue;
    }
    if (arg1 === arg) return true;
  }
  return false;
}

function ltFn(a: unknown, b: unknown): boolean {
  const k1 = basicKind(a);
  const k2 = basicKind(b);
  if (k1 === 'invalid' || k2 === 'invalid') throw new Error('invalid type for comparison');
  if (k1 !== k2) throw new Error('incompatible types for comparison');
  if (k1 === 'bool') throw new Error('invalid type for comparison');
  return (a as number | string) < (b as number | string);
}

function indexFn(item: unknown, ...indices: unknown[]): unknown {
  if (item === undefined) throw new Error('index of untyped nil');
  let v: unknown = item;
  for (const index of indices) {
    if (v === null) throw new Error('index of nil pointer');
    if (typeof v === 'string' || Array.isArray(v)) {
      if (index === null || index === undefined) throw new Error('cannot index slice/array with nil');
      if (typeof index !== 'number' || !Number.isInteger(index)) {
        throw new Error(`cannot index slice/array with type ${goTypeName(index)}`);
      }
      const len = typeof v === 'string' ? Buffer.byteLength(v) : v.length;
      if (index < 0 || index >= len) throw new Error(`index out of range: ${index}`);
      // Go indexes strings by byte
      v = typeof v === 'string' ? Buffer.from(v)[index] : v[index];
    } else if (typeof v === 'object') {
      if (typeof index !== 'string') {
        throw new Error(`${goTypeName(index)} is not index type for ${goTypeName(v)}`);
      }
      const o = v as Record<string, unknown>;
      if (Object.prototype.hasOwnProperty.call(o, index)) {
        v = o[index];
      } else {
        // a missing key yields the zero value: "" for string maps such as Labels
        const vals = mapValues(o);
        v = vals.every((x) => typeof x === 'string') ? '' : undefined;
      }
    } else {
      throw new Error(`can't index item of type ${goTypeName(v)}`);
    }
  }
  return v;
}

function sliceFn(item: unknown, ...indexes: unknown[]): unknown {
  if (item === undefined || item === null) throw new Error('slice of untyped nil');
  if (indexes.length > 3) throw new Error(`too many slice indexes: ${indexes.length}`);
  const isStr = typeof item === 'string';
  if (!isStr && !Array.isArray(item)) throw new Error(`can't slice item of type ${goTypeName(item)}`);
  if (isStr && indexes.length > 2) throw new Error('cannot 3-index slice a string');
  const seq: unknown[] | Buffer = isStr ? Buffer.from(item as string) : (item as unknown[]);
  const cap = seq.length;
  const idx = [0, cap];
  indexes.forEach((x, i) => {
    if (typeof x !== 'number' || !Number.isInteger(x)) throw new Error(`cannot index slice/array with type ${goTypeName(x)}`);
    if (x < 0 || x > cap) throw new Error(`index out of range: ${x}`);
    idx[i] = x;
  });
  if (idx[0] > idx[1]) throw new Error(`invalid slice index: ${idx[0]} > ${idx[1]}`);
  const out = seq.slice(idx[0], idx[1]);
  return isStr ? (out as Buffer).toString('utf8') : out;
}

function lenFn(item: unknown): number {
  if (item === undefined) throw new Error('len of untyped nil');
  if (item === null) throw new Error('len of nil pointer');
  if (typeof item === 'string') return Buffer.byteLength(item);
  if (Array.isArray(item)) return item.length;
  if (typeof item === 'object') return Object.keys(item).length;
  throw new Error(`len of type ${goTypeName(item)}`);
}

/** evalArgs in funcs.go: a lone string is used as is, anything else goes through fmt.Sprint. */
function evalArgs(args: unknown[]): string {
  if (args.length === 1 && typeof args[0] === 'string') return args[0];
  return sprint(...args.map((a) => (a === undefined ? '<no value>' : a)));
}

function htmlEscape(s: string): string {
  return s.replace(/[\0"'&<>]/g, (c) =>
    ({ '\0': '\ufffd', '"': '&#34;', "'": '&#39;', '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c] as string,
  );
}

function jsEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    switch (ch) {
      case '\\': out += '\\\\'; continue;
      case "'": out += "\\'"; continue;
      case '"': out += '\\"'; continue;
      case '<': out += '\\u003C'; continue;
      case '>': out += '\\u003E'; continue;
      case '&': out += '\\u0026'; continue;
      case '=': out += '\\u003D'; continue;
    }
    if (cp < 0x20) out += '\\u00' + cp.toString(16).toUpperCase().padStart(2, '0');
    else if (cp < 0x80 || isPrint(cp)) out += ch;
    else out += '\\u' + cp.toString(16).toUpperCase().padStart(4, '0');
  }
  return out;
}

/** url.QueryEscape. */
function queryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** unicode.ToUpper / ToLower / ToTitle map one rune to one rune; JS may expand (ß → SS). */
function mapRunes(s: string, f: (c: string) => string, keepOnExpand: boolean): string {
  let out = '';
  for (const ch of s) {
    const m = f(ch);
    const runes = Array.from(m);
    out += runes.length === 1 ? m : keepOnExpand ? ch : runes[0];
  }
  return out;
}

function isTitleSeparator(ch: string): boolean {
  const cp = ch.codePointAt(0) as number;
  if (cp <= 0x7f) return !/[0-9a-zA-Z_]/.test(ch);
  if (/[\p{L}\p{Nd}]/u.test(ch)) return false;
  return /\s/u.test(ch);
}

/** strings.Title: upper-case the first letter of each word. */
function title(s: string): string {
  let prev = ' ';
  let out = '';
  for (const ch of s) {
    out += isTitleSeparator(prev) ? mapRunes(ch, (c) => c.toUpperCase(), true) : ch;
    prev = ch;
  }
  return out;
}

/** The json template function: encoding/json without HTML escaping, trailing newline trimmed. */
function jsonFn(v: unknown): string {
  if (v === undefined) return 'null';
  const s = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x));
  if (s === undefined) return 'null';
  // Go always escapes these two line separators
  return s.replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** strings.Split; an empty separator splits into runes. */
function split(s: string, sep: string): string[] {
  if (sep === '') return Array.from(s);
  return s.split(sep);
}

const builtinFuncs: Record<string, FuncSpec> = {
  and: { fn: () => undefined, params: ['any'], variadic: 'any', builtin: true },
  or: { fn: () => undefined, params: ['any'], variadic: 'any', builtin: true },
  call: {
    fn: (f: unknown, ...args: unknown[]) => {
      if (typeof f !== 'function') throw new Error(`non-function of type ${goTypeName(f)}`);
      return (f as (...a: unknown[]) => unknown)(...args);
    },
    params: ['any'], variadic: 'any', builtin: true,
  },
  html: { fn: (...args: unknown[]) => htmlEscape(evalArgs(args)), params: [], variadic: 'any', builtin: true },
  index: { fn: indexFn as FuncSpec['fn'], params: ['any'], variadic: 'any', builtin: true },
  slice: { fn: sliceFn as FuncSpec['fn'], params: ['any'], variadic: 'any', builtin: true },
  js: { fn: (...args: unknown[]) => jsEscape(evalArgs(args)), params: [], variadic: 'any', builtin: true },
  len: { fn: lenFn as FuncSpec['fn'], params: ['any'], builtin: true },
  not: { fn: () => undefined, params: ['any'], builtin: true },
  print: { fn: (...args: unknown[]) => sprint(...args), params: [], variadic: 'any', builtin: true },
  printf: { fn: (f: unknown, ...args: unknown[]) => sprintf(f as string, ...args), params: ['string'], variadic: 'any', builtin: true },
  println: { fn: (...args: unknown[]) => sprintln(...args), params: [], variadic: 'any', builtin: true },
  urlquery: { fn: (...args: unknown[]) => queryEscape(evalArgs(args)), params: [], variadic: 'any', builtin: true },
  eq: { fn: eqFn as FuncSpec['fn'], params: ['any'], variadic: 'any', builtin: true },
  ne: { fn: (a: unknown, b: unknown) => !eqFn(a, b), params: ['any', 'any'], builtin: true },
  lt: { fn: ltFn as FuncSpec['fn'], params: ['any', 'any'], builtin: true },
  le: { fn: (a: unknown, b: unknown) => ltFn(a, b) || eqFn(a, b), params: ['any', 'any'], builtin: true },
  gt: { fn: (a: unknown, b: unknown) => !(ltFn(a, b) || eqFn(a, b)), params: ['any', 'any'], builtin: true },
  ge: { fn: (a: unknown, b: unknown) => !ltFn(a, b), params: ['any', 'any'], builtin: true },
};

/** docker/cli templates.basicFunctions. */
const dockerFuncs: Record<string, FuncSpec> = {
  json: { fn: jsonFn as FuncSpec['fn'], params: ['any'] },
  split: { fn: split as FuncSpec['fn'], params: ['string', 'string'] },
  join: { fn: ((a: string[] | null, sep: string) => (a ?? []).join(sep)) as FuncSpec['fn'], params: ['[]string', 'string'] },
  title: { fn: title as FuncSpec['fn'], params: ['string'] },
  lower: { fn: ((s: string) => mapRunes(s, (c) => c.toLowerCase(), false)) as FuncSpec['fn'], params: ['string'] },
  upper: { fn: ((s: string) => mapRunes(s, (c) => c.toUpperCase(), true)) as FuncSpec['fn'], params: ['string'] },
  pad: {
    fn: ((s: string, prefix: number, suffix: number) => (s === '' ? s : ' '.repeat(Math.max(prefix, 0)) + s + ' '.repeat(Math.max(suffix, 0)))) as FuncSpec['fn'],
    params: ['string', 'int', 'int'],
  },
  truncate: {
    // byte-based, like Go's source[:length]
    fn: ((s: string, n: number) => {
      const b = Buffer.from(s, 'utf8');
      return b.length < n ? s : b.subarray(0, n).toString('utf8');
    }) as FuncSpec['fn'],
    params: ['string', 'int'],
  },
};

/** docker/cli templates.HeaderFunctions: keep the header text as is. */
const headerFuncs: Record<string, FuncSpec> = {
  json: { fn: (v: unknown) => v, params: ['string'] },
  split: { fn: (v: unknown) => v, params: ['string', 'string'] },
  join: { fn: (v: unknown) => v, params: ['string', 'string'] },
  title: { fn: (v: unknown) => v, params: ['string'] },
  lower: { fn: (v: unknown) => v, params: ['string'] },
  upper: { fn: (v: unknown) => v, params: ['string'] },
  truncate: { fn: (v: unknown) => v, params: ['string', 'int'] },
};

// ---------------------------------------------------------------------------
// Executor (text/template/exec.go)

const MISSING = Symbol('missing');
type Final = unknown;

class BreakSignal {}
class ContinueSignal {}

export interface RenderOptions {
  /** Extra or overriding template functions (plain JS functions, arguments unchecked). */
  funcs?: Record<string, TemplateFunc>;
  /**
   * Whether an object is a Go map (missing keys print "<no value>") rather
   * than a struct (missing fields are an error). By default objects that are
   * empty or have a key not starting with an upper-case letter are maps.
   */
  isMap?: (o: object) => boolean;
  /** Go type name of the data, for "can't evaluate field X in type T" errors. */
  typeName?: string;
}

function defaultIsMap(o: object): boolean {
  const proto = Object.getPrototypeOf(o);
  if (proto !== Object.prototype && proto !== null) return false;
  const keys = Object.keys(o);
  return keys.length === 0 || keys.some((k) => !/^[A-Z]/.test(k));
}

/** A parsed template, ready to execute. */
interface Template {
  text: string;
  root: ListNode;
}

function parseTemplate(text: string, funcs: Record<string, FuncSpec>): Template {
  const items = lex(text);
  const root = new Parser(items, (name) => Object.hasOwn(funcs, name)).parse();
  return { text, root };
}

class ExecState {
  out = '';
  private node: AnyNode | undefined;
  private vars: { name: string; value: unknown }[];

  constructor(
    private readonly tmpl: Template,
    private readonly funcs: Record<string, FuncSpec>,
    private readonly isMap: (o: object) => boolean,
    private readonly rootData: unknown,
    private readonly typeName: string | undefined,
  ) {
    this.vars = [{ name: '$', value: rootData }];
  }

  private at(n: AnyNode): void {
    this.node = n;
  }

  private errorf(msg: string): never {
    if (!this.node) throw new TemplateError(`template: : ${msg}`);
    // location is line:column, the column a byte offset within the line
    const pos = this.node.pos;
    const before = this.tmpl.text.slice(0, pos);
    const nl = before.lastIndexOf('\n');
    const line = before.split('\n').length;
    const col = Buffer.byteLength(nl < 0 ? before : before.slice(nl + 1), 'utf8');
    throw new TemplateError(`template: :${line}:${col}: executing "" at <${nodeString(this.node)}>: ${msg}`);
  }

  private typeOf(v: unknown): string {
    if (v === this.rootData && this.typeName) return this.typeName;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && !this.isMap(v)) return 'struct';
    return goTypeName(v);
  }

  private varValue(name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i].name === name) return this.vars[i].value;
    this.errorf(`undefined variable: ${name}`);
  }

  private setVar(name: string, value: unknown): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i].name === name) {
        this.vars[i].value = value;
        return;
      }
    }
    this.errorf(`undefined variable: ${name}`);
  }

  walk(dot: unknown, node: Node): void {
    this.at(node);
    switch (node.kind) {
      case 'action': {
        const val = this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.printValue(node, val);
        return;
      }
      case 'if':
      case 'with':
        return this.walkIfOrWith(node, dot);
      case 'list':
        for (const n of node.nodes) this.walk(dot, n);
        return;
      case 'range':
        return this.walkRange(dot, node);
      case 'text':
        this.out += node.text;
        return;
      case 'break':
        throw new BreakSignal();
      case 'continue':
        throw new ContinueSignal();
      default:
        this.errorf(`unknown node: ${nodeString(node)}`);
    }
  }

  private walkIfOrWith(node: BranchNode, dot: unknown): void {
    const mark = this.vars.length;
    try {
      const val = this.evalPipeline(dot, node.pipe);
      const [truth, ok] = isTrue(val, this.isMap);
      if (!ok) this.errorf(`if/with can't use ${formatValue(val)}`);
      if (truth) this.walk(node.kind === 'with' ? val : dot, node.list);
      else if (node.elseList) this.walk(dot, node.elseList);
    } finally {
      this.vars.length = mark;
    }
  }

  private walkRange(dot: unknown, r: BranchNode): void {
    this.at(r);
    const outer = this.vars.length;
    try {
      const val = this.evalPipeline(dot, r.pipe);
      const mark = this.vars.length;
      const decl = r.pipe.decl;
      const oneIteration = (index: unknown, elem: unknown): void => {
        if (decl.length > 0) {
          if (r.pipe.isAssign) this.setVar(decl[0].ident[0], decl.length > 1 ? index : elem);
          else this.vars[this.vars.length - 1].value = elem;
        }
        if (decl.length > 1) {
          if (r.pipe.isAssign) this.setVar(decl[1].ident[0], elem);
          else this.vars[this.vars.length - 2].value = index;
        }
        try {
          this.walk(elem, r.list);
        } catch (e) {
          if (!(e instanceof ContinueSignal)) throw e;
        } finally {
          this.vars.length = mark;
        }
      };
      let iterated = false;
      try {
        if (Array.isArray(val)) {
          val.forEach((e, i) => oneIteration(i, e));
          iterated = val.length > 0;
        } else if (typeof val === 'number' && Number.isInteger(val)) {
          // Go 1.22: range over an integer
          if (decl.length > 1) this.errorf(`can't use ${val} to iterate over more than one variable`);
          for (let i = 0; i < val; i++) oneIteration(i, i);
          iterated = val > 0;
        } else if (val !== null && val !== undefined && typeof val === 'object') {
          // maps iterate in sorted key order
          const o = val as Record<string, unknown>;
          const keys = Object.keys(o).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
          keys.forEach((k) => oneIteration(k, o[k]));
          iterated = keys.length > 0;
        } else if (val !== null && val !== undefined) {
          this.errorf(`range can't iterate over ${formatValue(val)}`);
        }
      } catch (e) {
        if (e instanceof BreakSignal) return;
        throw e;
      }
      if (!iterated && r.elseList) this.walk(dot, r.elseList);
    } finally {
      this.vars.length = outer;
    }
  }

  private evalPipeline(dot: unknown, pipe: PipeNode): unknown {
    this.at(pipe);
    let value: Final = MISSING;
    for (const cmd of pipe.cmds) value = this.evalCommand(dot, cmd, value);
    for (const v of pipe.decl) {
      if (pipe.isAssign) this.setVar(v.ident[0], value);
      else this.vars.push({ name: v.ident[0], value });
    }
    return value;
  }

  private notAFunction(args: ArgNode[], final: Final): void {
    if (args.length > 1 || final !== MISSING) this.errorf(`can't give argument to non-function ${nodeString(args[0])}`);
  }

  private evalCommand(dot: unknown, cmd: CommandNode, final: Final): unknown {
    const first = cmd.args[0];
    switch (first.kind) {
      case 'field':
        return this.evalFieldNode(dot, first, cmd.args, final);
      case 'chain':
        return this.evalChainNode(dot, first, cmd.args, final);
      case 'identifier':
        return this.evalFunction(dot, first, cmd, cmd.args, final);
      case 'pipe':
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, first);
      case 'variable':
        return this.evalVariableNode(dot, first, cmd.args, final);
    }
    this.at(first);
    this.notAFunction(cmd.args, final);
    switch (first.kind) {
      case 'bool':
        return first.value;
      case 'dot':
        return dot;
      case 'nil':
        this.errorf('nil is not a command');
        break;
      case 'number':
        return first.value;
      case 'string':
        return first.text;
    }
    this.errorf(`can't evaluate command ${goQuote(nodeString(first))}`);
  }

  private evalFieldNode(dot: unknown, field: FieldNode, args: ArgNode[] | null, final: Final): unknown {
    this.at(field);
    return this.evalFieldChain(dot, dot, field, field.ident, args, final);
  }

  private evalChainNode(dot: unknown, chain: ChainNode, args: ArgNode[] | null, final: Final): unknown {
    this.at(chain);
    if (chain.node.kind === 'nil') this.errorf(`indirection through explicit nil in ${nodeString(chain)}`);
    const pipe = this.evalArg(dot, 'any', chain.node);
    return this.evalFieldChain(dot, pipe, chain, chain.field, args, final);
  }

  private evalVariableNode(dot: unknown, v: VariableNode, args: ArgNode[] | null, final: Final): unknown {
    this.at(v);
    const value = this.varValue(v.ident[0]);
    if (v.ident.length === 1) {
      this.notAFunction(args ?? [v], final);
      return value;
    }
    return this.evalFieldChain(dot, value, v, v.ident.slice(1), args, final);
  }

  private evalFieldChain(dot: unknown, receiver: unknown, node: AnyNode, ident: string[], args: ArgNode[] | null, final: Final): unknown {
    const n = ident.length;
    for (let i = 0; i < n - 1; i++) receiver = this.evalField(dot, ident[i], node, null, MISSING, receiver);
    return this.evalField(dot, ident[n - 1], node, args, final, receiver);
  }

  private evalField(dot: unknown, fieldName: string, node: AnyNode, args: ArgNode[] | null, final: Final, receiver: unknown): unknown {
    if (receiver === undefined) return undefined;
    if (receiver === null) this.errorf(`nil pointer evaluating interface {}.${fieldName}`);
    const hasArgs = (args !== null && args.length > 1) || final !== MISSING;
    if (typeof receiver === 'object' && !Array.isArray(receiver)) {
      const o = receiver as Record<string, unknown>;
      // own properties, or getters/methods of class instances, but never Object.prototype's
      const own = Object.prototype.hasOwnProperty.call(o, fieldName) || (fieldName in o && !(fieldName in Object.prototype));
      const member = own ? o[fieldName] : undefined;
      if (typeof member === 'function') {
        // a method: call it with the arguments
        return this.evalCall(dot, { fn: (member as (...a: unknown[]) => unknown).bind(o) }, node, fieldName, args, final);
      }
      const map = this.isMap(o);
      if (own) {
        if (hasArgs) {
          this.errorf(map ? `${fieldName} is not a method but has arguments` : `${fieldName} has arguments but cannot be invoked as function`);
        }
        return o[fieldName] === undefined ? null : o[fieldName];
      }
      if (map) {
        if (hasArgs) this.errorf(`${fieldName} is not a method but has arguments`);
        return undefined;
      }
    }
    this.errorf(`can't evaluate field ${fieldName} in type ${this.typeOf(receiver)}`);
  }

  private evalFunction(dot: unknown, node: IdentifierNode, cmd: AnyNode, args: ArgNode[] | null, final: Final): unknown {
    this.at(node);
    const fn = Object.hasOwn(this.funcs, node.name) ? this.funcs[node.name] : undefined;
    if (!fn) this.errorf(`${goQuote(node.name)} is not a defined function`);
    return this.evalCall(dot, fn, cmd, node.name, args, final);
  }

  private evalCall(dot: unknown, fun: FuncSpec, node: AnyNode, name: string, argNodes: ArgNode[] | null, final: Final): unknown {
    const args = argNodes ? argNodes.slice(1) : [];
    let argv: unknown[];
    if (fun.params) {
      const params = fun.params;
      const numIn = args.length + (final !== MISSING ? 1 : 0);
      let numFixed = args.length;
      if (fun.variadic) {
        numFixed = params.length;
        if (numIn < numFixed) this.errorf(`wrong number of args for ${name}: want at least ${params.length} got ${args.length}`);
      } else if (numIn !== params.length) {
        this.errorf(`wrong number of args for ${name}: want ${params.length} got ${numIn}`);
      }
      if (fun.builtin && (name === 'and' || name === 'or')) {
        // and/or short-circuit: stop at the first false/true argument
        let v: unknown;
        for (const a of args) {
          v = this.evalArg(dot, 'any', a);
          if (isTrue(v, this.isMap)[0] === (name === 'or')) return v;
        }
        if (final !== MISSING) v = this.validateType(final, 'any');
        return v;
      }
      argv = [];
      let i = 0;
      for (; i < numFixed && i < args.length; i++) argv.push(this.evalArg(dot, params[i], args[i]));
      if (fun.variadic) for (; i < args.length; i++) argv.push(this.evalArg(dot, fun.variadic, args[i]));
      if (final !== MISSING) {
        const t = fun.variadic && numIn - 1 >= numFixed ? fun.variadic : params[numIn - 1];
        argv.push(this.validateType(final, t));
      }
      if (fun.builtin && name === 'not') return !isTrue(argv[0], this.isMap)[0];
    } else {
      argv = args.map((a) => this.evalArg(dot, 'any', a));
      if (final !== MISSING) argv.push(final);
    }
    try {
      return fun.fn(...argv);
    } catch (e) {
      if (e instanceof TemplateError || e instanceof BreakSignal || e instanceof ContinueSignal) throw e;
      this.at(node);
      this.errorf(`error calling ${name}: ${(e as Error).message ?? String(e)}`);
    }
  }

  private validateType(value: unknown, typ: ParamType): unknown {
    if (value === undefined) {
      if (typ === 'any' || typ === '[]string') return null;
      this.errorf(`invalid value; expected ${paramTypeName[typ]}`);
    }
    const wrong = (): never => this.errorf(`wrong type for value; expected ${paramTypeName[typ]}; got ${this.typeOf(value)}`);
    switch (typ) {
      case 'any':
        return value;
      case 'string':
        return typeof value === 'string' ? value : wrong();
      case 'int':
        return typeof value === 'number' && Number.isInteger(value) ? value : wrong();
      case 'float':
        return typeof value === 'number' ? value : wrong();
      case 'bool':
        return typeof value === 'boolean' ? value : wrong();
      case '[]string':
        return value === null || (Array.isArray(value) && value.every((e) => typeof e === 'string')) ? value : wrong();
    }
  }

  private evalArg(dot: unknown, typ: ParamType, n: ArgNode): unknown {
    this.at(n);
    switch (n.kind) {
      case 'dot':
        return this.validateType(dot, typ);
      case 'nil':
        if (typ === 'any' || typ === '[]string') return null;
        this.errorf(`cannot assign nil to ${paramTypeName[typ]}`);
        break;
      case 'field':
        return this.validateType(this.evalFieldNode(dot, n, [n], MISSING), typ);
      case 'variable':
        return this.validateType(this.evalVariableNode(dot, n, null, MISSING), typ);
      case 'pipe':
        return this.validateType(this.evalPipeline(dot, n), typ);
      case 'identifier':
        return this.validateType(this.evalFunction(dot, n, n, null, MISSING), typ);
      case 'chain':
        return this.validateType(this.evalChainNode(dot, n, null, MISSING), typ);
    }
    switch (typ) {
      case 'bool':
        if (n.kind === 'bool') return n.value;
        this.errorf(`expected bool; found ${nodeString(n)}`);
        break;
      case 'float':
        if (n.kind === 'number' && n.isFloat) return n.value;
        this.errorf(`expected float; found ${nodeString(n)}`);
        break;
      case 'int':
        if (n.kind === 'number' && n.isInt) return n.value;
        this.errorf(`expected integer; found ${nodeString(n)}`);
        break;
      case 'string':
        if (n.kind === 'string') return n.text;
        this.errorf(`expected string; found ${nodeString(n)}`);
        break;
      case 'any':
        if (n.kind === 'bool') return n.value;
        if (n.kind === 'number') return n.value;
        if (n.kind === 'string') return n.text;
        break;
    }
    this.errorf(`can't handle ${nodeString(n)} for arg of type ${paramTypeName[typ]}`);
  }

  private printValue(n: AnyNode, v: unknown): void {
    this.at(n);
    if (typeof v === 'function') this.errorf(`can't print ${nodeString(n)} of type ${goTypeName(v)}`);
    this.out += v === undefined ? '<no value>' : formatValue(v);
  }
}

function buildFuncs(base: Record<string, FuncSpec>, extra?: Record<string, TemplateFunc>): Record<string, FuncSpec> {
  const funcs: Record<string, FuncSpec> = { ...builtinFuncs, ...base };
  for (const [name, fn] of Object.entries(extra ?? {})) funcs[name] = { fn: fn as FuncSpec['fn'] };
  return funcs;
}

/** Execute a parsed template; returns the output so far and the error, if any (docker keeps partial headers). */
function execute(
  tmpl: Template,
  data: unknown,
  funcs: Record<string, FuncSpec>,
  isMap: (o: object) => boolean,
  typeName?: string,
): { out: string; error?: TemplateError } {
  const state = new ExecState(tmpl, funcs, isMap, data, typeName);
  try {
    state.walk(data, tmpl.root);
    return { out: state.out };
  } catch (e) {
    if (e instanceof TemplateError) return { out: state.out, error: e };
    throw e;
  }
}

/**
 * Render a Go text/template against data with docker's template functions
 * (json, split, join, title, lower, upper, pad, truncate) and Go's builtins.
 * Throws TemplateError with Go's wording on parse or execution errors.
 */
export function renderTemplate(tmpl: string, data: unknown, options: RenderOptions = {}): string {
  const funcs = buildFuncs(dockerFuncs, options.funcs);
  const parsed = parseTemplate(tmpl, funcs);
  const { out, error } = execute(parsed, data, funcs, options.isMap ?? defaultIsMap, options.typeName);
  if (error) throw error;
  return out;
}

/**
 * docker's Context.preFormat: "table ..." (prefix stripped) or "json"
 * ({{json .}}), spaces trimmed, and literal \t and \n turned into a tab and a
 * newline.
 */
export function parseFormat(format: string): { table: boolean; template: string } {
  let template = format;
  const table = format.startsWith('table');
  if (table) template = format.slice('table'.length);
  else if (format === 'json') template = '{{json .}}';
  template = template.replace(/^ +| +$/g, '');
  template = template.replace(/\\[tn]/g, (m) => (m === '\\t' ? '\t' : '\n'));
  return { table, template };
}

export interface FormatOptions {
  /** Extra template functions. */
  funcs?: Record<string, TemplateFunc>;
  /** Go type name for "can't evaluate field X in type T", e.g. "*formatter.ContainerContext". */
  typeName?: string;
}

function sortKeys(row: Record<string, unknown>): Record<string, unknown> {
  // docker marshals its row contexts through a map, so {{json .}} has sorted keys
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(row).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) out[k] = row[k];
  return out;
}

/** SubHeaderContext.Label: the header for {{.Label "com.example.name"}} is "name". */
function headerLabel(name: string): string {
  const n = name.split('.');
  return n[n.length - 1].replace(/[-_]/g, ' ');
}

/**
 * docker's formatter Context.Write: render every row with the --format
 * template (one line per row); for "table" formats, add the header row
 * rendered from the headers map (e.g. { ID: 'CONTAINER ID' }) and align the
 * columns with the tabwriter. "json" gives one JSON object per line.
 * Row fields missing from headers fall back to the upper-cased field name.
 * Errors are thrown as TemplateError("template parsing error: ...") like docker.
 */
export function formatWithTemplate(
  format: string,
  rows: Record<string, unknown>[],
  headers: Record<string, string>,
  options: FormatOptions = {},
): string {
  const { table, template } = parseFormat(format);
  const funcs = buildFuncs(dockerFuncs, options.funcs);
  let parsed: Template;
  try {
    parsed = parseTemplate(template, funcs);
  } catch (e) {
    if (e instanceof TemplateError) throw new TemplateError(`template parsing error: ${e.message}`);
    throw e;
  }
  let body = '';
  for (const row of rows) {
    const { out, error } = execute(parsed, sortKeys(row), funcs, defaultIsMap, options.typeName);
    if (error) throw new TemplateError(`template parsing error: ${error.message}`);
    body += out + '\n';
  }
  if (!table) return body;

  const headerData: Record<string, unknown> = {};
  for (const row of rows.slice(0, 1)) {
    for (const k of Object.keys(row)) if (typeof row[k] !== 'function') headerData[k] = k.toUpperCase();
  }
  Object.assign(headerData, headers);
  if (typeof headerData.Label !== 'function') headerData.Label = headerLabel;
  const headerFuncSet = buildFuncs({ ...dockerFuncs, ...headerFuncs }, options.funcs);
  // docker ignores errors while rendering the header and keeps what was written
  const header = execute(parsed, headerData, headerFuncSet, () => true).out;
  return tabwrite(header + '\n' + body);
}
