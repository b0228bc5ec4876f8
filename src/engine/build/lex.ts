/**
 * @module engine/build/lex
 * Variable substitution in Dockerfile words, BuildKit's shell.Lex rules:
 * `$v`, `${v}`, `${v:-w}` `${v-w}` (default), `${v:+w}` `${v+w}`
 * (alternative), `${v:?msg}` `${v?msg}` (required), `${v#p}` `${v##p}`
 * `${v%p}` `${v%%p}` (prefix/suffix removal, `*` and `?` patterns);
 * single quotes are literal, double quotes allow substitution, the escape
 * character makes the next character literal. Quotes are removed from the
 * result. Unset variables expand to nothing.
 *
 * `words()` also splits the result at unquoted whitespace (EXPOSE, VOLUME
 * and COPY source lists go through it after the instruction parser split them).
 */

export class ExpansionError extends Error {}

export type Env = Map<string, string>;

/** `KEY=VALUE` strings → lookup; later entries win, as for a process environment. */
export function envOf(list: readonly string[]): Env {
  const m = new Map<string, string>();
  for (const kv of list) {
    const i = kv.indexOf('=');
    if (i < 0) m.set(kv, '');
    else m.set(kv.slice(0, i), kv.slice(i + 1));
  }
  return m;
}

class Scanner {
  pos = 0;
  constructor(readonly s: string) {}
  peek(): string | undefined {
    return this.s[this.pos];
  }
  next(): string | undefined {
    return this.s[this.pos++];
  }
  eof(): boolean {
    return this.pos >= this.s.length;
  }
}

/** One word: substitution done, quotes and escapes removed. */
export function expandWord(word: string, env: Env, escape = '\\'): string {
  const sc = new Scanner(word);
  return process(sc, env, escape, undefined).value;
}

/** Like expandWord, but split at unquoted whitespace into several words. */
export function expandWords(word: string, env: Env, escape = '\\'): string[] {
  const sc = new Scanner(word);
  return process(sc, env, escape, undefined, true).words;
}

function process(sc: Scanner, env: Env, escape: string, stopOn: string | undefined, split = false): { value: string; words: string[] } {
  let out = '';
  const words: string[] = [];
  let inWord = false;
  while (!sc.eof()) {
    const ch = sc.peek()!;
    if (stopOn !== undefined && ch === stopOn) {
      sc.next();
      return { value: out, words: finish() };
    }
    if (split && (ch === ' ' || ch === '\t' || ch === '\n')) {
      sc.next();
      if (inWord) words.push(out);
      out = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (ch === "'") {
      sc.next();
      out += singleQuoted(sc);
    } else if (ch === '"') {
      sc.next();
      out += doubleQuoted(sc, env, escape);
    } else if (ch === '$') {
      sc.next();
      const v = dollar(sc, env, escape);
      if (split && v.length && !/^\S*$/.test(v)) {
        // Unquoted expansions split too.
        const parts = v.split(/[ \t\n]+/);
        out += parts[0];
        for (let k = 1; k < parts.length; k++) {
          if (out !== '') words.push(out);
          out = parts[k]!;
        }
      } else {
        out += v;
      }
    } else if (ch === escape) {
      sc.next();
      // An escape at the very end is dropped.
      if (!sc.eof()) out += sc.next();
    } else {
      out += sc.next();
    }
  }
  if (stopOn !== undefined) throw new ExpansionError(`missing '${stopOn}' in substitution`);
  return { value: out, words: finish() };

  function finish(): string[] {
    if (inWord) words.push(out);
    return words;
  }
}

function singleQuoted(sc: Scanner): string {
  let out = '';
  for (;;) {
    const ch = sc.next();
    if (ch === undefined) throw new ExpansionError('unexpected end of statement while looking for matching single-quote');
    if (ch === "'") return out;
    out += ch;
  }
}

function doubleQuoted(sc: Scanner, env: Env, escape: string): string {
  let out = '';
  for (;;) {
    const ch = sc.peek();
    if (ch === undefined) throw new ExpansionError('unexpected end of statement while looking for matching double-quote');
    if (ch === '"') {
      sc.next();
      return out;
    }
    if (ch === '$') {
      sc.next();
      out += dollar(sc, env, escape);
      continue;
    }
    sc.next();
    if (ch === escape) {
      const n = sc.peek();
      if (n === undefined) continue;
      // Only these can be escaped inside double quotes; other escapes stay as written.
      if (n === '"' || n === '$' || n === escape) {
        out += sc.next();
        continue;
      }
    }
    out += ch;
  }
}

function isNameChar(ch: string | undefined): boolean {
  return ch !== undefined && /[A-Za-z0-9_]/.test(ch);
}

function dollar(sc: Scanner, env: Env, escape: string): string {
  const ch = sc.peek();
  if (ch === '{') {
    sc.next();
    const name = readName(sc);
    if (name === '') throw new ExpansionError('bad substitution: missing variable name');
    const c = sc.peek();
    if (c === '}') {
      sc.next();
      return env.get(name) ?? '';
    }
    if (c === undefined) throw new ExpansionError("missing '}' in substitution");
    let op = sc.next()!;
    if (op === ':') {
      const o2 = sc.next();
      if (o2 !== '-' && o2 !== '+' && o2 !== '?') throw new ExpansionError(`unsupported modifier (:${o2 ?? ''}) in substitution`);
      op = ':' + o2;
    } else if ((op === '#' || op === '%') && sc.peek() === op) {
      op += sc.next();
    }
    const word = process(sc, env, escape, '}').value;
    const set = env.has(name);
    const value = env.get(name) ?? '';
    switch (op) {
      case ':-':
        return set && value !== '' ? value : word;
      case '-':
        return set ? value : word;
      case ':+':
        return set && value !== '' ? word : '';
      case '+':
        return set ? word : '';
      case ':?':
        if (!set || value === '') throw new ExpansionError(`${name}: ${word || 'parameter null or not set'}`);
        return value;
      case '?':
        if (!set) throw new ExpansionError(`${name}: ${word || 'parameter not set'}`);
        return value;
      case '#':
      case '##':
        return trimPattern(value, word, 'prefix', op === '##');
      case '%':
      case '%%':
        return trimPattern(value, word, 'suffix', op === '%%');
      default:
        throw new ExpansionError(`unsupported modifier (${op}) in substitution`);
    }
  }
  if (isNameChar(ch) && !/[0-9]/.test(ch!)) {
    return env.get(readName(sc)) ?? '';
  }
  // "$" followed by anything else is itself.
  return '$';
}

function readName(sc: Scanner): string {
  let n = '';
  while (isNameChar(sc.peek())) n += sc.next();
  return n;
}

/** Shell pattern prefix/suffix removal (`*`, `?`; shortest or longest match). */
function trimPattern(value: string, pattern: string, side: 'prefix' | 'suffix', longest: boolean): string {
  const re = new RegExp(
    '^' +
      pattern
        .split('')
        .map((c) => (c === '*' ? '[\\s\\S]*' : c === '?' ? '[\\s\\S]' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
        .join('') +
      '$',
  );
  const n = value.length;
  if (side === 'prefix') {
    for (let k = longest ? n : 0; longest ? k >= 0 : k <= n; k += longest ? -1 : 1) if (re.test(value.slice(0, k))) return value.slice(k);
  } else {
    for (let k = longest ? 0 : n; longest ? k <= n : k >= 0; k += longest ? 1 : -1) if (re.test(value.slice(k))) return value.slice(0, k);
  }
  return value;
}
