/**
 * @module cli/format/template/funcs
 * The functions a template can call: Go's builtins (and, or, not, len,
 * index, slice, eq/ne/lt/le/gt/ge, print*, html, js, urlquery) with Go's
 * parameter checks, and docker/cli's (json, split, join, title, lower,
 * upper, pad, truncate), plus the header-row variants docker uses.
 */
import { goTypeName, isPrint, sprint, sprintf, sprintln } from '../../../common/gofmt.js';

export type ParamType = 'any' | 'string' | 'int' | 'float' | 'bool' | '[]string';

export const paramTypeName: Record<ParamType, string> = {
  any: 'interface {}', string: 'string', int: 'int', float: 'float64', bool: 'bool', '[]string': '[]string',
};

/** The most characters one template execution may write (see ./exec.ts). */
export const MAX_TEMPLATE_OUTPUT = 64 << 20;

/** A template function with Go-style parameter types, so arity and type errors read like Go's. */
export interface FuncSpec {
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

export function isTrue(v: unknown, isMap: (o: object) => boolean): [boolean, boolean] {
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

export const builtinFuncs: Record<string, FuncSpec> = {
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
export const dockerFuncs: Record<string, FuncSpec> = {
  json: { fn: jsonFn as FuncSpec['fn'], params: ['any'] },
  split: { fn: split as FuncSpec['fn'], params: ['string', 'string'] },
  join: { fn: ((a: string[] | null, sep: string) => (a ?? []).join(sep)) as FuncSpec['fn'], params: ['[]string', 'string'] },
  title: { fn: title as FuncSpec['fn'], params: ['string'] },
  lower: { fn: ((s: string) => mapRunes(s, (c) => c.toLowerCase(), false)) as FuncSpec['fn'], params: ['string'] },
  upper: { fn: ((s: string) => mapRunes(s, (c) => c.toUpperCase(), true)) as FuncSpec['fn'], params: ['string'] },
  pad: {
    fn: ((s: string, prefix: number, suffix: number) => {
      if (s === '') return s;
      // Padding past a template's whole output bound (./exec.ts) is refused before it is allocated.
      if (prefix > MAX_TEMPLATE_OUTPUT || suffix > MAX_TEMPLATE_OUTPUT) throw new Error(`padding over ${MAX_TEMPLATE_OUTPUT} characters`);
      return ' '.repeat(Math.max(prefix, 0)) + s + ' '.repeat(Math.max(suffix, 0));
    }) as FuncSpec['fn'],
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
export const headerFuncs: Record<string, FuncSpec> = {
  json: { fn: (v: unknown) => v, params: ['string'] },
  split: { fn: (v: unknown) => v, params: ['string', 'string'] },
  join: { fn: (v: unknown) => v, params: ['string', 'string'] },
  title: { fn: (v: unknown) => v, params: ['string'] },
  lower: { fn: (v: unknown) => v, params: ['string'] },
  upper: { fn: (v: unknown) => v, params: ['string'] },
  truncate: { fn: (v: unknown) => v, params: ['string', 'int'] },
};
