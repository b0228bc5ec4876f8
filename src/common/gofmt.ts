// Go fmt/strconv emulation: the number and value printing rules (%v, %g, %.*g,
// strconv.Quote, fmt.Sprintf) that docker's output is built from, so that
// sizes, template output and quoted commands come out byte-for-byte the same.

/**
 * A decimal number as Go's strconv keeps it: value = 0.d × 10^dp, with no
 * trailing zeros in d. d === '' means zero.
 */
interface Decimal {
  d: string;
  dp: number;
  neg: boolean;
}

/**
 * Exact decimal expansion of a double. Go rounds from the exact binary value
 * (ties to even), which JS's toPrecision does not do (it rounds ties up), so
 * we expand exactly with BigInt and round ourselves.
 */
function exactDecimal(x: number): Decimal {
  const neg = x < 0 || Object.is(x, -0);
  x = Math.abs(x);
  if (x === 0) return { d: '', dp: 0, neg };
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const expBits = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e: number;
  if (expBits === 0) {
    e = -1074;
  } else {
    mant |= 1n << 52n;
    e = expBits - 1075;
  }
  let s: string;
  let dp: number;
  if (e >= 0) {
    s = (mant << BigInt(e)).toString();
    dp = s.length;
  } else {
    // m / 2^k == m * 5^k / 10^k
    const k = -e;
    s = (mant * 5n ** BigInt(k)).toString();
    dp = s.length - k;
  }
  return { d: s.replace(/0+$/, ''), dp, neg };
}

/** Go's decimal.Round: round to nd digits, ties to even; nd < 0 is a no-op as in Go. */
function roundDecimal(a: Decimal, nd: number): Decimal {
  if (nd < 0 || nd >= a.d.length) return a;
  let up: boolean;
  if (a.d[nd] === '5' && nd + 1 === a.d.length) {
    // exactly half way: round to even
    up = nd > 0 && (a.d.charCodeAt(nd - 1) - 48) % 2 === 1;
  } else {
    up = a.d[nd] >= '5';
  }
  if (!up) {
    const d = a.d.slice(0, nd).replace(/0+$/, '');
    return { d, dp: d === '' ? 0 : a.dp, neg: a.neg };
  }
  const digits = a.d.slice(0, nd).split('');
  let i = nd - 1;
  while (i >= 0 && digits[i] === '9') i--;
  if (i < 0) {
    // all nines (or nothing): becomes 1 with a bumped exponent
    return { d: '1', dp: a.dp + 1, neg: a.neg };
  }
  digits[i] = String.fromCharCode(digits[i].charCodeAt(0) + 1);
  return { d: digits.slice(0, i + 1).join(''), dp: a.dp, neg: a.neg };
}

/** Shortest round-trip digits, as Go's 'shortest' mode produces (JS uses the same rule). */
function shortestDecimal(x: number): Decimal {
  const neg = x < 0 || Object.is(x, -0);
  x = Math.abs(x);
  if (x === 0) return { d: '', dp: 0, neg };
  const [mant, exp] = x.toExponential().split('e');
  const d = mant.replace('.', '').replace(/0+$/, '');
  return { d, dp: Number(exp) + 1, neg };
}

function fmtE(d: Decimal, prec: number, ch: string): string {
  let out = d.neg ? '-' : '';
  out += d.d.length ? d.d[0] : '0';
  if (prec > 0) {
    out += '.';
    const m = Math.min(d.d.length, prec + 1);
    let i = 1;
    if (i < m) {
      out += d.d.slice(i, m);
      i = m;
    }
    for (; i <= prec; i++) out += '0';
  }
  out += ch;
  let exp = d.d.length === 0 ? 0 : d.dp - 1;
  const sign = exp < 0 ? '-' : '+';
  exp = Math.abs(exp);
  return out + sign + (exp < 10 ? '0' + exp : String(exp));
}

function fmtF(d: Decimal, prec: number): string {
  let out = d.neg ? '-' : '';
  if (d.dp > 0) {
    const m = Math.min(d.d.length, d.dp);
    out += d.d.slice(0, m) + '0'.repeat(d.dp - m);
  } else {
    out += '0';
  }
  if (prec > 0) {
    out += '.';
    for (let i = 1; i <= prec; i++) {
      const j = d.dp + i - 1;
      out += j >= 0 && j < d.d.length ? d.d[j] : '0';
    }
  }
  return out;
}

/**
 * strconv.FormatFloat(x, fmt, prec, 64). prec < 0 means "shortest".
 * Supports the e/E/f/F/g/G formats.
 */
export function formatFloat(x: number, fmt: 'e' | 'E' | 'f' | 'F' | 'g' | 'G', prec: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  const shortest = prec < 0;
  let digs: Decimal;
  if (shortest) {
    digs = shortestDecimal(x);
    switch (fmt) {
      case 'e':
      case 'E':
        prec = Math.max(digs.d.length - 1, 0);
        break;
      case 'f':
      case 'F':
        prec = Math.max(digs.d.length - digs.dp, 0);
        break;
      default:
        prec = digs.d.length;
    }
  } else {
    const exact = exactDecimal(x);
    switch (fmt) {
      case 'e':
      case 'E':
        digs = roundDecimal(exact, prec + 1);
        break;
      case 'f':
      case 'F':
        digs = roundDecimal(exact, exact.dp + prec);
        break;
      default:
        if (prec === 0) prec = 1;
        digs = roundDecimal(exact, prec);
    }
  }
  switch (fmt) {
    case 'e':
    case 'E':
      return fmtE(digs, prec, fmt);
    case 'f':
    case 'F':
      return fmtF(digs, prec);
    default: {
      let eprec = prec;
      const nd = digs.d.length;
      if (eprec > nd && nd >= digs.dp) eprec = nd;
      // %e is used if the exponent from the conversion is less than -4 or
      // greater than or equal to the precision; shortest uses 6 for this.
      if (shortest) eprec = 6;
      const exp = digs.dp - 1;
      if (exp < -4 || exp >= eprec) {
        if (prec > nd) prec = nd;
        return fmtE(digs, prec - 1, fmt === 'g' ? 'e' : 'E');
      }
      if (prec > digs.dp) prec = nd;
      return fmtF(digs, Math.max(prec - digs.dp, 0));
    }
  }
}

/** unicode.IsPrint, approximately: letters, marks, numbers, punctuation, symbols and ASCII space. */
export function isPrint(cp: number): boolean {
  if (cp === 0x20) return true;
  return /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(String.fromCodePoint(cp));
}

/** strconv.Quote: a double-quoted Go string literal with Go's escapes. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (cp >= 0xd800 && cp <= 0xdfff) {
      // a lone surrogate is not valid UTF-8; Go would have seen U+FFFD
      out += '\ufffd';
    } else if (isPrint(cp)) {
      out += ch;
    } else if (cp < 0x20 || cp === 0x7f) {
      out += '\\x' + cp.toString(16).padStart(2, '0');
    } else if (cp < 0x10000) {
      out += '\\u' + cp.toString(16).padStart(4, '0');
    } else {
      out += '\\U' + cp.toString(16).padStart(8, '0');
    }
  }
  return out + '"';
}

/** The Go type name a JS value stands for, as used in fmt's and template's messages. */
export function goTypeName(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
    case 'number':
      return Number.isInteger(v) && !Object.is(v, -0) ? 'int' : 'float64';
    case 'bigint':
      return 'int64';
    case 'function':
      return 'func(...) interface {}';
  }
  if (Array.isArray(v)) {
    return v.length > 0 && v.every((e) => typeof e === 'string') ? '[]string' : '[]interface {}';
  }
  return 'map[string]interface {}';
}

/** Sort keys the way Go's fmt (internal/fmtsort) orders map keys: all our keys are strings. */
function sortedKeys(o: object): string[] {
  return Object.keys(o)
    .filter((k) => typeof (o as Record<string, unknown>)[k] !== 'function')
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** fmt's %v for a JS value: numbers as int or %g, slices as [a b], maps as map[k:v]. */
export function formatValue(v: unknown): string {
  return formatVerb(v, 'v', {});
}

interface FmtFlags {
  plus?: boolean;
  minus?: boolean;
  sharp?: boolean;
  space?: boolean;
  zero?: boolean;
  width?: number;
  prec?: number;
}

function pad(s: string, f: FmtFlags, zeroOk = false): string {
  if (f.width === undefined) return s;
  const n = [...s].length;
  if (n >= f.width) return s;
  const fill = f.width - n;
  if (f.minus) return s + ' '.repeat(fill);
  if (f.zero && zeroOk) {
    // the sign goes before the zeros
    const m = /^[+\- ]/.exec(s);
    if (m) return m[0] + '0'.repeat(fill) + s.slice(1);
    return '0'.repeat(fill) + s;
  }
  return ' '.repeat(fill) + s;
}

function badVerb(verb: string, v: unknown): string {
  if (v === null || v === undefined) return `%!${verb}(<nil>)`;
  return `%!${verb}(${goTypeName(v)}=${formatValue(v)})`;
}

function fmtInteger(n: number | bigint, verb: string, f: FmtFlags): string {
  const big = BigInt(n);
  const neg = big < 0n;
  const abs = neg ? -big : big;
  let digits: string;
  let prefix = '';
  switch (verb) {
    case 'b':
      digits = abs.toString(2);
      if (f.sharp) prefix = '0b';
      break;
    case 'o':
      digits = abs.toString(8);
      if (f.sharp && digits !== '0') prefix = '0';
      break;
    case 'O':
      digits = abs.toString(8);
      prefix = '0o';
      break;
    case 'x':
      digits = abs.toString(16);
      if (f.sharp) prefix = '0x';
      break;
    case 'X':
      digits = abs.toString(16).toUpperCase();
      if (f.sharp) prefix = '0X';
      break;
    default:
      digits = abs.toString(10);
  }
  if (f.prec !== undefined) {
    if (f.prec === 0 && abs === 0n) digits = '';
    else digits = digits.padStart(f.prec, '0');
  }
  const sign = neg ? '-' : f.plus ? '+' : f.space ? ' ' : '';
  const body = prefix + digits;
  if (f.zero && !f.minus && f.prec === undefined && f.width !== undefined) {
    const fill = f.width - sign.length - body.length;
    if (fill > 0) return sign + prefix + '0'.repeat(fill) + digits;
  }
  return pad(sign + body, f);
}

function fmtFloatVerb(x: number, verb: string, f: FmtFlags): string {
  let fmt: 'e' | 'E' | 'f' | 'F' | 'g' | 'G';
  let prec: number;
  switch (verb) {
    case 'v':
      fmt = 'g';
      prec = -1;
      break;
    case 'g':
    case 'G':
      fmt = verb;
      prec = -1;
      break;
    case 'e':
    case 'E':
    case 'f':
    case 'F':
      fmt = verb;
      prec = 6;
      break;
    default:
      return badVerb(verb, x);
  }
  if (f.prec !== undefined) prec = f.prec;
  let num = formatFloat(x, fmt, prec);
  if (num === 'NaN' || num === '+Inf' || num === '-Inf') {
    if (num === '+Inf' && !f.plus) num = f.space ? ' Inf' : 'Inf';
    if (num === 'NaN' && (f.plus || f.space)) num = (f.plus ? '+' : ' ') + num;
    return pad(num, f);
  }
  if (!num.startsWith('-')) {
    if (f.plus) num = '+' + num;
    else if (f.space) num = ' ' + num;
  }
  return pad(num, f, true);
}

function fmtString(s: string, verb: string, f: FmtFlags): string {
  switch (verb) {
    case 'v':
    case 's': {
      if (f.prec !== undefined) s = [...s].slice(0, f.prec).join('');
      return pad(s, f, true);
    }
    case 'q':
      return pad(goQuote(s), f);
    case 'x':
    case 'X': {
      let hex = Buffer.from(s, 'utf8').toString('hex');
      if (verb === 'X') hex = hex.toUpperCase();
      return pad(hex, f);
    }
    default:
      return badVerb(verb, s);
  }
}

/** Format one operand for one verb, the way fmt's printArg does. */
function formatVerb(v: unknown, verb: string, f: FmtFlags): string {
  if (v === null || v === undefined) {
    return verb === 'v' ? pad('<nil>', f) : badVerb(verb, v);
  }
  switch (typeof v) {
    case 'boolean':
      return verb === 'v' || verb === 't' ? pad(String(v), f) : badVerb(verb, v);
    case 'bigint':
      if ('vdboOxX'.includes(verb)) return fmtInteger(v, verb, f);
      return badVerb(verb, v);
    case 'number':
      if (Number.isInteger(v) && !Object.is(v, -0)) {
        switch (verb) {
          case 'v':
          case 'd':
          case 'b':
          case 'o':
          case 'O':
          case 'x':
          case 'X':
            return fmtInteger(v, verb, f);
          case 'c':
            return pad(String.fromCodePoint(v), f);
          case 'q':
            return pad("'" + goQuote(String.fromCodePoint(v)).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'") + "'", f);
          case 'U':
            return pad('U+' + v.toString(16).toUpperCase().padStart(4, '0'), f);
          case 'e':
          case 'E':
          case 'f':
          case 'F':
          case 'g':
          case 'G':
            // JS cannot tell 5 from 5.0; a float verb means the value was a float
            return fmtFloatVerb(v, verb, f);
          default:
            return badVerb(verb, v);
        }
      }
      return fmtFloatVerb(v, verb, f);
    case 'string':
      return fmtString(v, verb, f);
    case 'function':
      return badVerb(verb, '<func>');
  }
  if (Array.isArray(v)) {
    if (verb === 'x' || verb === 'X') {
      // not worth emulating Go's hex dump of slices
      return badVerb(verb, v);
    }
    return pad('[' + v.map((e) => formatVerb(e, verb, {})).join(' ') + ']', f);
  }
  if (v instanceof Date) return pad(v.toISOString(), f);
  // values with their own toString play the part of Go's fmt.Stringer
  const toStr = (v as { toString?: unknown }).toString;
  if ((verb === 'v' || verb === 's') && typeof toStr === 'function' && toStr !== Object.prototype.toString) {
    return pad(String(v), f);
  }
  const o = v as Record<string, unknown>;
  const parts = sortedKeys(o).map((k) => formatVerb(k, verb, {}) + ':' + formatVerb(o[k], verb, {}));
  return pad('map[' + parts.join(' ') + ']', f);
}

/** fmt.Sprint: spaces between operands when neither side is a string. */
export function sprint(...args: unknown[]): string {
  let out = '';
  let prevString = false;
  args.forEach((a, i) => {
    const isString = typeof a === 'string';
    if (i > 0 && !isString && !prevString) out += ' ';
    out += formatValue(a);
    prevString = isString;
  });
  return out;
}

/** fmt.Sprintln: always spaces between operands, newline appended. */
export function sprintln(...args: unknown[]): string {
  return args.map((a) => formatValue(a)).join(' ') + '\n';
}

/** Go's fmt refuses widths and precisions beyond a million (a crazy number, most likely). */
function tooLarge(x: number): boolean {
  return x > 1e6 || x < -1e6;
}

/** Go's fmt parsenum: digits from `start`; on overflow the rest of the format is consumed, as in Go. */
function parseNum(s: string, start: number): [num: number, isNum: boolean, next: number] {
  let num = 0;
  let isNum = false;
  let i = start;
  for (; i < s.length && s[i]! >= '0' && s[i]! <= '9'; i++) {
    if (tooLarge(num)) return [0, false, s.length];
    num = num * 10 + (s.charCodeAt(i) - 48);
    isNum = true;
  }
  return [num, isNum, i];
}

/** fmt.Sprintf with the common verbs and flags, including Go's %!verb(...) error forms. */
export function sprintf(format: string, ...args: unknown[]): string {
  let out = '';
  let argNum = 0;
  let i = 0;
  const n = format.length;
  while (i < n) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    const f: FmtFlags = {};
    flags: for (; i < n; i++) {
      switch (format[i]) {
        case '+':
          f.plus = true;
          break;
        case '-':
          f.minus = true;
          f.zero = false;
          break;
        case '#':
          f.sharp = true;
          break;
        case ' ':
          f.space = true;
          break;
        case '0':
          f.zero = !f.minus;
          break;
        default:
          break flags;
      }
    }
    if (format[i] === '*') {
      i++;
      const w = args[argNum++];
      if (typeof w === 'number' && Number.isInteger(w) && !tooLarge(w)) {
        f.width = Math.abs(w);
        if (w < 0) {
          f.minus = true;
          f.zero = false;
        }
      } else {
        out += '%!(BADWIDTH)';
      }
    } else {
      const [num, isNum, next] = parseNum(format, i);
      if (isNum) f.width = num;
      i = next;
    }
    if (format[i] === '.') {
      i++;
      if (format[i] === '*') {
        i++;
        const p = args[argNum++];
        if (typeof p === 'number' && Number.isInteger(p) && p >= 0 && !tooLarge(p)) f.prec = p;
        else out += '%!(BADPREC)';
      } else {
        const [num, , next] = parseNum(format, i);
        f.prec = num;
        i = next;
      }
    }
    if (i >= n) {
      out += '%!(NOVERB)';
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i) as number);
    i += verb.length;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argNum >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += formatVerb(args[argNum++], verb, f);
  }
  if (argNum < args.length) {
    const extra = args.slice(argNum).map((a) => (a === null || a === undefined ? '<nil>' : `${goTypeName(a)}=${formatValue(a)}`));
    out += '%!(EXTRA ' + extra.join(', ') + ')';
  }
  return out;
}
