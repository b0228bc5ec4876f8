// Column alignment for table output: a port of the text/tabwriter fork in
// docker/cli (cli/command/formatter/tabwriter), used by docker as
// tabwriter.NewWriter(out, 10, 1, 3, ' ', 0): cells are tab-terminated, each
// column is as wide as its widest cell plus 3 (at least 10), and the last cell
// of a line is not part of a column, so it is never padded.

/** Options of tabwriter.Writer.Init; flags use the values of Go's constants. */
export interface TabwriterOptions {
  minwidth: number;
  tabwidth: number;
  padding: number;
  padchar: string;
  flags: number;
}

export const AlignRight = 1 << 2;
export const DiscardEmptyColumns = 1 << 3;
export const TabIndent = 1 << 4;
export const Debug = 1 << 5;

/** The settings docker's formatter uses for every table. */
export const dockerTabwriter: TabwriterOptions = { minwidth: 10, tabwidth: 1, padding: 3, padchar: ' ', flags: 0 };

// Double-width ranges (East Asian Wide/Fullwidth and emoji presentation), the
// part of go-runewidth / x/text/width that matters for terminal alignment.
const wideRanges: [number, number][] = [
  [0x1100, 0x115f], [0x231a, 0x231b], [0x2329, 0x232a], [0x23e9, 0x23ec], [0x23f0, 0x23f0],
  [0x23f3, 0x23f3], [0x25fd, 0x25fe], [0x2614, 0x2615], [0x2648, 0x2653], [0x267f, 0x267f],
  [0x2693, 0x2693], [0x26a1, 0x26a1], [0x26aa, 0x26ab], [0x26bd, 0x26be], [0x26c4, 0x26c5],
  [0x26ce, 0x26ce], [0x26d4, 0x26d4], [0x26ea, 0x26ea], [0x26f2, 0x26f3], [0x26f5, 0x26f5],
  [0x26fa, 0x26fa], [0x26fd, 0x26fd], [0x2705, 0x2705], [0x270a, 0x270b], [0x2728, 0x2728],
  [0x274c, 0x274c], [0x274e, 0x274e], [0x2753, 0x2755], [0x2757, 0x2757], [0x2795, 0x2797],
  [0x27b0, 0x27b0], [0x27bf, 0x27bf], [0x2b1b, 0x2b1c], [0x2b50, 0x2b50], [0x2b55, 0x2b55],
  [0x2e80, 0x303e], [0x3041, 0x33ff], [0x3400, 0x4dbf], [0x4e00, 0x9fff], [0xa000, 0xa4cf],
  [0xa960, 0xa97f], [0xac00, 0xd7a3], [0xf900, 0xfaff], [0xfe10, 0xfe19], [0xfe30, 0xfe6f],
  [0xff00, 0xff60], [0xffe0, 0xffe6], [0x16fe0, 0x16fe4], [0x17000, 0x18aff], [0x1b000, 0x1b2ff],
  [0x1f004, 0x1f004], [0x1f0cf, 0x1f0cf], [0x1f18e, 0x1f18e], [0x1f191, 0x1f19a], [0x1f200, 0x1f251],
  [0x1f300, 0x1f320], [0x1f32d, 0x1f335], [0x1f337, 0x1f37c], [0x1f37e, 0x1f393], [0x1f3a0, 0x1f3ca],
  [0x1f3cf, 0x1f3d3], [0x1f3e0, 0x1f3f0], [0x1f3f4, 0x1f3f4], [0x1f3f8, 0x1f43e], [0x1f440, 0x1f440],
  [0x1f442, 0x1f4fc], [0x1f4ff, 0x1f53d], [0x1f54b, 0x1f54e], [0x1f550, 0x1f567], [0x1f57a, 0x1f57a],
  [0x1f595, 0x1f596], [0x1f5a4, 0x1f5a4], [0x1f5fb, 0x1f64f], [0x1f680, 0x1f6c5], [0x1f6cc, 0x1f6cc],
  [0x1f6d0, 0x1f6d2], [0x1f6d5, 0x1f6d7], [0x1f6eb, 0x1f6ec], [0x1f6f4, 0x1f6fc], [0x1f7e0, 0x1f7eb],
  [0x1f90c, 0x1f93a], [0x1f93c, 0x1f945], [0x1f947, 0x1f9ff], [0x1fa70, 0x1faff], [0x20000, 0x3fffd],
];

/** Whether a code point is East Asian Wide or Fullwidth (displayed two columns wide). */
export function isWide(cp: number): boolean {
  if (cp < 0x1100) return false;
  let lo = 0;
  let hi = wideRanges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [a, b] = wideRanges[mid];
    if (cp < a) hi = mid - 1;
    else if (cp > b) lo = mid + 1;
    else return true;
  }
  return false;
}

/** Terminal width of one code point, as go-runewidth counts it. */
function runeWidth(cp: number): number {
  if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp === 0xad) return 0;
  if (cp < 0x300) return 1;
  if (isWide(cp)) return 2;
  // combining marks, zero-width spaces/joiners and variation selectors take no column
  if (cp === 0x200b || cp === 0x200c || cp === 0x200d || cp === 0x2060 || cp === 0xfeff) return 0;
  if ((cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0xe0100 && cp <= 0xe01ef)) return 0;
  if (/\p{M}/u.test(String.fromCodePoint(cp))) return 0;
  return 1;
}

/** Terminal display width of a string (runewidth.StringWidth). */
export function stringWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += runeWidth(ch.codePointAt(0) as number);
  return w;
}

interface Cell {
  text: string;
  width: number;
  htab: boolean;
}

/**
 * Run text through a tabwriter and flush it, like writing it all to
 * tabwriter.Writer and calling Flush. Escapes and HTML filtering are not
 * supported (docker never enables them).
 */
export function tabwrite(text: string, opts: TabwriterOptions = dockerTabwriter): string {
  let out = '';
  let lines: Cell[][] = [[]];
  let cell = '';
  let widths: number[] = [];

  const writePadding = (textw: number, cellw: number, useTabs: boolean): void => {
    if (opts.padchar === '\t' || useTabs) {
      if (opts.tabwidth === 0) return;
      cellw = Math.ceil(cellw / opts.tabwidth) * opts.tabwidth;
      const n = cellw - textw;
      out += '\t'.repeat(Math.ceil(n / opts.tabwidth));
      return;
    }
    out += opts.padchar.repeat(Math.max(cellw - textw, 0));
  };

  const writeLines = (line0: number, line1: number): void => {
    for (let i = line0; i < line1; i++) {
      const line = lines[i];
      let useTabs = (opts.flags & TabIndent) !== 0;
      line.forEach((c, j) => {
        if (j > 0 && opts.flags & Debug) out += '|';
        if (c.text.length === 0) {
          if (j < widths.length) writePadding(c.width, widths[j], useTabs);
        } else {
          useTabs = false;
          if ((opts.flags & AlignRight) === 0) {
            out += c.text;
            if (j < widths.length) writePadding(c.width, widths[j], false);
          } else {
            if (j < widths.length) writePadding(c.width, widths[j], false);
            out += c.text;
          }
        }
      });
      if (i + 1 === lines.length) {
        // last buffered line: no newline, just the incomplete cell
        out += cell;
      } else {
        out += '\n';
      }
    }
  };

  const format = (line0: number, line1: number): void => {
    const column = widths.length;
    for (let t = line0; t < line1; t++) {
      let line = lines[t];
      if (column >= line.length - 1) continue;
      // this line has a cell in this column: print the lines above it, then
      // measure the block of consecutive lines that share the column
      writeLines(line0, t);
      line0 = t;
      let width = opts.minwidth;
      let discardable = true;
      for (; t < line1; t++) {
        line = lines[t];
        if (column >= line.length - 1) break;
        const c = line[column];
        if (c.width + opts.padding > width) width = c.width + opts.padding;
        if (c.width > 0 || c.htab) discardable = false;
      }
      if (discardable && opts.flags & DiscardEmptyColumns) width = 0;
      widths.push(width);
      format(line0, t);
      widths.pop();
      line0 = t;
    }
    writeLines(line0, line1);
  };

  const flush = (): void => {
    if (cell.length > 0) terminateCell(false);
    format(0, lines.length);
    lines = [[]];
    cell = '';
    widths = [];
  };

  const terminateCell = (htab: boolean): number => {
    const line = lines[lines.length - 1];
    line.push({ text: cell, width: stringWidth(cell), htab });
    cell = '';
    return line.length;
  };

  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\t' || ch === '\v' || ch === '\n' || ch === '\f') {
      cell += text.slice(start, i);
      start = i + 1;
      const ncells = terminateCell(ch === '\t');
      if (ch === '\n' || ch === '\f') {
        lines.push([]);
        // a line with a single cell cannot affect later columns, so Go
        // flushes there; that also ends any column block
        if (ch === '\f' || ncells === 1) {
          flush();
          if (ch === '\f' && opts.flags & Debug) out += '---\n';
        }
      }
    }
  }
  cell += text.slice(start);
  flush();
  return out;
}

/**
 * Align rows of cells the way docker prints tables: rows[0] is the header;
 * each row becomes one line of tab-separated cells ending in a newline.
 */
export function formatTable(rows: string[][]): string {
  if (rows.length === 0) return '';
  return tabwrite(rows.map((r) => r.join('\t') + '\n').join(''));
}
