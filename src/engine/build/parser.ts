/**
 * @module engine/build/parser
 * Dockerfile text → instructions, as BuildKit's frontend/dockerfile/parser
 * reads it: parser directives (`# syntax=`, `# escape=`) at the very top,
 * comment lines dropped (also inside a continued instruction), lines joined
 * where they end with the escape character, heredocs (`<<EOF`, `<<-EOF`,
 * quoted delimiters) for RUN, COPY and ADD, instruction flags (`--x=y`)
 * split off for the instructions that take them, and exec (JSON) form told
 * apart from shell form. Variable expansion is ./lex.ts's; what each
 * instruction means is ./instructions.ts's.
 *
 * The parser is one linear pass over the lines: malformed input of any size
 * ends in a DockerfileParseError, never a hang or another exception.
 */

export class DockerfileParseError extends Error {
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(line ? `dockerfile parse error on line ${line}: ${message}` : message);
  }
}

export interface Heredoc {
  name: string;
  content: string;
  /** `<<"EOF"` or `<<'EOF'`: no expansion in the content. */
  quoted: boolean;
  /** `<<-EOF`: leading tabs were stripped. */
  chomp: boolean;
}

export interface Node {
  /** Lower-cased instruction name (`run`, `copy`, …). */
  name: string;
  /** 1-based line the instruction starts on. */
  line: number;
  /** The instruction as written, continuation lines joined (what `Step n/m :` prints). */
  original: string;
  /** Flags as written (`--from=build`), in order. */
  flags: string[];
  /** The rest after the instruction name and its flags, trimmed. */
  rest: string;
  /** The rest as a JSON string array (exec form), when it is one. */
  json?: string[];
  heredocs: Heredoc[];
}

export interface ParseResult {
  nodes: Node[];
  escape: '\\' | '`';
  directives: Record<string, string>;
  warnings: string[];
}

/** Instructions that take `--flag`s before their arguments. */
const FLAGGED = new Set(['from', 'run', 'copy', 'add', 'healthcheck']);
/** Instructions whose arguments may hold heredocs. */
const HEREDOC_CAPABLE = new Set(['run', 'copy', 'add']);
const KNOWN_DIRECTIVES = new Set(['syntax', 'escape', 'check']);
const DIRECTIVE_RE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const HEREDOC_RE = /<<(-?)\s*(["']?)([a-zA-Z_][a-zA-Z0-9_]*)\2/g;

export function parseDockerfile(text: string): ParseResult {
  if (text.includes('\0')) throw new DockerfileParseError('file contains a NUL byte: not a Dockerfile');
  // A UTF-8 BOM is not part of the first instruction.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split(/\r?\n/);
  const directives: Record<string, string> = {};
  const warnings: string[] = [];
  let i = 0;
  // Directives: only before the first instruction, comment or blank line.
  for (; i < lines.length; i++) {
    const m = DIRECTIVE_RE.exec(lines[i]!);
    if (!m) break;
    const key = m[1]!.toLowerCase();
    if (!KNOWN_DIRECTIVES.has(key)) break;
    if (key in directives) throw new DockerfileParseError(`only one ${key} parser directive can be used`, i + 1);
    directives[key] = m[2]!;
  }
  const escapeDirective = directives.escape;
  if (escapeDirective !== undefined && escapeDirective !== '\\' && escapeDirective !== '`') {
    throw new DockerfileParseError(`invalid escape token '${escapeDirective}' does not match ` + '` or \\');
  }
  const escape = (escapeDirective ?? '\\') as '\\' | '`';

  const nodes: Node[] = [];
  while (i < lines.length) {
    const raw = lines[i]!;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) {
      i++;
      continue;
    }
    const startLine = i + 1;
    // Join continuation lines; comment lines and empty lines inside are skipped.
    let logical = '';
    let cur = trimStartWs(raw);
    i++;
    for (;;) {
      const { body, continued } = continuation(cur, escape);
      logical += body;
      if (!continued) break;
      let next: string | undefined;
      while (i < lines.length) {
        const l = lines[i]!;
        const t = l.trim();
        i++;
        if (t.startsWith('#')) continue;
        if (t === '') {
          // An empty continuation line is deprecated but accepted.
          continue;
        }
        next = l;
        break;
      }
      if (next === undefined) break;
      cur = next;
    }
    const node = splitInstruction(logical, startLine);
    if (HEREDOC_CAPABLE.has(node.name) && !node.json) {
      for (const h of heredocNames(node.rest)) {
        const content: string[] = [];
        let found = false;
        while (i < lines.length) {
          let l = lines[i]!;
          i++;
          if (h.chomp) l = l.replace(/^\t+/, '');
          if (l === h.name) {
            found = true;
            break;
          }
          content.push(l + '\n');
        }
        if (!found) throw new DockerfileParseError(`unterminated heredoc ${h.name}`, startLine);
        node.heredocs.push({ ...h, content: content.join('') });
      }
    }
    nodes.push(node);
  }
  return { nodes, escape, directives, warnings };
}

/** One physical line's contribution: without a trailing escape character, and whether it continues. */
function continuation(line: string, escape: string): { body: string; continued: boolean } {
  const t = line.replace(/[ \t]+$/, '');
  if (t.endsWith(escape)) return { body: t.slice(0, -1), continued: true };
  return { body: line, continued: false };
}

function trimStartWs(s: string): string {
  return s.replace(/^[ \t]+/, '');
}

function splitInstruction(logical: string, line: number): Node {
  const m = /^(\S+)\s*([\s\S]*)$/.exec(logical.trim());
  if (!m) throw new DockerfileParseError('empty instruction', line);
  const name = m[1]!.toLowerCase();
  let rest = m[2]!;
  const flags: string[] = [];
  if (FLAGGED.has(name)) {
    for (;;) {
      const f = /^(--[^\s=]+(?:=(?:"[^"]*"|'[^']*'|\S)*)?)\s*/.exec(rest);
      if (!f) break;
      // A bare "--" ends the flags.
      if (f[1] === '--') {
        rest = rest.slice(f[0].length);
        break;
      }
      flags.push(f[1]!);
      rest = rest.slice(f[0].length);
    }
  }
  rest = rest.trim();
  const node: Node = { name, line, original: logical.trim().replace(/\s+$/, ''), flags, rest, heredocs: [] };
  const json = maybeJson(rest);
  if (json) node.json = json;
  return node;
}

/** The exec form: a JSON array of strings. Anything else is shell form. */
export function maybeJson(rest: string): string[] | undefined {
  if (!rest.startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(rest);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch {
    // Shell form that happens to start with "[".
  }
  return undefined;
}

/** Heredoc openers in an instruction's arguments, in order. */
export function heredocNames(rest: string): Omit<Heredoc, 'content'>[] {
  const out: Omit<Heredoc, 'content'>[] = [];
  for (const m of rest.matchAll(HEREDOC_RE)) out.push({ name: m[3]!, quoted: m[2] !== '', chomp: m[1] === '-' });
  return out;
}

/**
 * Splits on whitespace outside quotes, keeping quotes and escapes in the
 * words (they are removed later, by expansion): BuildKit's parseWords,
 * which ENV, LABEL and ARG go through before `key=value` is taken apart.
 */
export function splitWords(rest: string, escape: string): string[] {
  const words: string[] = [];
  let word = '';
  let quote = '';
  let inWord = false;
  for (let k = 0; k < rest.length; k++) {
    const ch = rest[k]!;
    if (!quote && (ch === ' ' || ch === '\t' || ch === '\n')) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (ch === escape && k + 1 < rest.length && quote !== "'") {
      word += ch + rest[k + 1];
      k++;
      continue;
    }
    if (quote) {
      if (ch === quote) quote = '';
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    }
    word += ch;
  }
  if (quote) throw new DockerfileParseError('unmatched quote in: ' + rest.slice(0, 80));
  if (inWord) words.push(word);
  return words;
}
