/**
 * Reading the daemon's streaming bodies: stdcopy-multiplexed output
 * (attach/logs without a TTY), raw output (with a TTY), and newline-separated
 * JSON messages (import, pull), whose in-band errors become JsonMessageError.
 */
import type { Readable, Writable } from 'node:stream';
import { Demuxer, STDERR } from '../common/stdcopy.js';
import { JsonMessageError } from './errors.js';

/** Resets that end a stream the daemon closed abruptly after its last byte; not worth an error. */
function isBenignClose(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE';
}

/** Feeds every chunk of `src` to `onChunk`; resolves when the stream ends or closes. */
export function forEachChunk(src: Readable, onChunk: (b: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err?: unknown) => {
      if (done) return;
      done = true;
      if (err && !isBenignClose(err)) reject(err);
      else resolve();
    };
    src.on('data', (b: Buffer) => {
      try {
        onChunk(b);
      } catch (err) {
        finish(err);
        src.destroy();
      }
    });
    src.once('end', () => finish());
    src.once('close', () => finish());
    src.once('error', finish);
  });
}

/** Copies raw (TTY) output to `out` until the stream ends. */
export function copyRaw(src: Readable, out: Writable): Promise<void> {
  return forEachChunk(src, (b) => {
    out.write(b);
  });
}

/**
 * Splits stdcopy frames to stdout (stdin/stdout frames) and stderr until the
 * stream ends; a daemon error frame (stream 3) rejects with its text.
 */
export function demuxStream(src: Readable, stdout: Writable, stderr: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const demuxer = new Demuxer((stream, payload) => {
      (stream === STDERR ? stderr : stdout).write(payload);
    });
    demuxer.once('error', reject);
    // 'finish' comes once every written frame has been handled.
    demuxer.once('finish', resolve);
    forEachChunk(src, (b) => {
      demuxer.write(b);
    }).then(() => demuxer.end(), reject);
  });
}

export interface JsonMessage {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  stream?: string;
  error?: string;
  errorDetail?: { code?: number; message?: string };
  aux?: unknown;
}

/** Calls `onMessage` for each JSON message; an error message rejects with JsonMessageError. */
export async function readJsonMessages(src: Readable, onMessage: (m: JsonMessage) => void): Promise<void> {
  let buf = '';
  const handleLine = (line: string) => {
    if (!line.trim()) return;
    const m = JSON.parse(line) as JsonMessage;
    if (m.errorDetail || m.error) {
      throw new JsonMessageError(m.errorDetail?.message || m.error || 'unknown error', m.errorDetail?.code);
    }
    onMessage(m);
  };
  await forEachChunk(src, (b) => {
    buf += b.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      handleLine(line);
    }
  });
  handleLine(buf);
}
