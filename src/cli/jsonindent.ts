/**
 * Go's json.Indent, which `docker inspect` runs over the daemon's raw JSON:
 * insignificant whitespace goes, every element starts on its own line with
 * the indent repeated per level, empty objects/arrays stay "{}"/"[]", and
 * strings and numbers are copied byte for byte (so the output matches
 * docker's exactly, whatever escaping the daemon used).
 */

export function jsonIndent(src: string, prefix: string, indent: string): string {
  let out = '';
  let depth = 0;
  // A '{' or '[' was written; its newline waits until we know it is not empty.
  let needIndent = false;
  const newline = () => {
    out += '\n' + prefix + indent.repeat(depth);
  };
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') continue;
    if (needIndent && c !== ']' && c !== '}') {
      needIndent = false;
      depth++;
      newline();
    }
    if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      out += src.slice(i, j + 1);
      i = j;
      continue;
    }
    switch (c) {
      case '{':
      case '[':
        out += c;
        needIndent = true;
        break;
      case ',':
        out += c;
        newline();
        break;
      case ':':
        out += ': ';
        break;
      case '}':
      case ']':
        if (needIndent) {
          // empty: "{}" / "[]"
          needIndent = false;
        } else {
          depth--;
          newline();
        }
        out += c;
        break;
      default:
        out += c;
    }
  }
  return out;
}

/** Go's json.Compact: the same bytes without insignificant whitespace (`inspect --format json`). */
export function jsonCompact(src: string): string {
  let out = '';
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') continue;
    if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      out += src.slice(i, j + 1);
      i = j;
      continue;
    }
    out += c;
  }
  return out;
}
