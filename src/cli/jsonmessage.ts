/**
 * Printing a JSON-message stream (import, load, pull, push) the way docker's
 * jsonmessage.DisplayJSONMessagesStream does:
 * - on a terminal, every message with an id and progress owns a line, which
 *   later messages for that id redraw in place (cursor up, clear, print,
 *   cursor down): the per-layer progress bars; a message without an id
 *   starts the bookkeeping over;
 * - elsewhere, one line per status ("id: status"), progress-bar updates left
 *   out;
 * build output verbatim, `aux` messages to the caller, errors raised.
 */
import type { Readable, Writable } from 'node:stream';
import { readJsonMessages, type JsonMessage } from '../client/streams.js';

export interface DisplayOptions {
  /** Draw progress bars in place (default: whether `out` is a TTY). */
  terminal?: boolean;
  /** Called with each message's `aux` (push's digest, build's image ID). */
  onAux?: (aux: unknown) => void;
}

function hasProgress(m: JsonMessage): boolean {
  return m.progressDetail !== undefined || m.progress !== undefined;
}

function progressShown(m: JsonMessage): boolean {
  const d = m.progressDetail;
  return !!m.progress || !!(d && ((d.current ?? 0) > 0 || (d.total ?? 0) > 0));
}

function render(m: JsonMessage, terminal: boolean): string | undefined {
  let s = '';
  let endl = '';
  if (terminal && m.stream === undefined && hasProgress(m)) {
    s += '\r\x1b[2K';
    endl = '\r';
  } else if (!terminal && progressShown(m)) {
    // docker draws no progress bars off a terminal.
    return undefined;
  }
  if (m.stream !== undefined) return s + m.stream + endl;
  if (m.status === undefined && m.progress === undefined) return undefined;
  if (m.id) s += `${m.id}: `;
  if (terminal && hasProgress(m)) s += `${m.status ?? ''} ${m.progress ?? ''}${endl}`;
  else s += `${m.status ?? ''}${endl}\n`;
  return s;
}

/** Copies the messages to `out` until the stream ends; the first error message rejects. */
export function displayJsonMessages(src: Readable, out: Writable, o: DisplayOptions = {}): Promise<void> {
  const terminal = o.terminal ?? !!(out as { isTTY?: boolean }).isTTY;
  let ids = new Map<string, number>();
  return readJsonMessages(src, (m) => {
    if (m.aux !== undefined) {
      o.onAux?.(m.aux);
      return;
    }
    let diff = 0;
    if (m.id && hasProgress(m)) {
      let line = ids.get(m.id);
      if (line === undefined) {
        line = ids.size;
        ids.set(m.id, line);
        if (terminal) out.write('\n');
      }
      diff = ids.size - line;
      if (terminal && diff > 0) out.write(`\x1b[${diff}A`);
    } else {
      ids = new Map();
    }
    const text = render(m, terminal);
    if (text !== undefined) out.write(text);
    if (m.id && terminal && diff > 0) out.write(`\x1b[${diff}B`);
  });
}
