/**
 * Printing a JSON-message stream (import, pull) the way docker's
 * jsonmessage.DisplayJSONMessagesStream does on a non-terminal: one line per
 * status ("id: status progress"), build output verbatim, errors raised.
 */
import type { Readable, Writable } from 'node:stream';
import { readJsonMessages, type JsonMessage } from '../client/streams.js';

function line(m: JsonMessage): string | undefined {
  if (m.stream !== undefined) return m.stream;
  if (m.status === undefined && m.progress === undefined) return undefined;
  let s = '';
  if (m.id) s += `${m.id}: `;
  s += m.status ?? '';
  if (m.progress) s += ` ${m.progress}`;
  return `${s}\n`;
}

/** Copies the messages to `out` until the stream ends; the first error message rejects. */
export function displayJsonMessages(src: Readable, out: Writable): Promise<void> {
  return readJsonMessages(src, (m) => {
    const text = line(m);
    if (text !== undefined) out.write(text);
  });
}
