/**
 * Wiring the terminal to a hijacked stream — a container's attach stream
 * (run, start -a, attach) or an exec session's (exec): output copied raw
 * (TTY) or demultiplexed to stdout/stderr, stdin forwarded and half-closed
 * at EOF (or right away when stdin is not attached, as docker does), the
 * local terminal in raw mode with the detach keys (^P^Q unless overridden)
 * ending the session, the TTY size kept in sync, and signals forwarded.
 */
import { spawnSync } from 'node:child_process';
import { Writable, type Duplex } from 'node:stream';
import { attachContainer, killContainer, resizeContainer } from '../client/containers.js';
import { copyRaw, demuxStream } from '../client/streams.js';
import type { Cli } from './cli.js';

export interface AttachRequest {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  /** The container (or exec session) has a TTY: output is one raw stream. */
  tty: boolean;
  /** --detach-keys as given ("ctrl-p,ctrl-q"); the default when empty or invalid. */
  detachKeys?: string;
}

export interface Attachment {
  /** Settles when the daemon ended the output stream (the process exited), or on detach. */
  done: Promise<{ detached: boolean }>;
  /** Stops forwarding input and restores the terminal. */
  close(): void;
}

/** What docker prints (and exits 1 with) when exec or attach is left with the detach keys. */
export const DETACHED_MESSAGE = 'read escape sequence';

// docker's default detach sequence, ctrl-p ctrl-q.
const DEFAULT_DETACH_KEYS = Buffer.from([0x10, 0x11]);

/**
 * moby/term's ToBytes: comma-separated keys, each a single character,
 * "ctrl-<a-z @ [ \ ] ^ _>" or "DEL". Throws "Unknown character: 'x'".
 */
export function parseDetachKeys(keys: string): Buffer {
  const ctrl = '@abcdefghijklmnopqrstuvwxyz[\\]^_';
  const codes: number[] = [];
  for (const key of keys.split(',')) {
    if (Buffer.byteLength(key) === 1) {
      codes.push(key.charCodeAt(0));
      continue;
    }
    const i = key.startsWith('ctrl-') && key.length === 6 ? ctrl.indexOf(key[5]!) : -1;
    if (i >= 0) codes.push(i);
    else if (key === 'DEL') codes.push(127);
    else throw new Error(`Unknown character: '${key}'`);
  }
  return Buffer.from(codes);
}

function detachSequence(keys: string | undefined): Buffer {
  if (!keys) return DEFAULT_DETACH_KEYS;
  try {
    return parseDetachKeys(keys);
  } catch {
    // docker falls back to the default too (the daemon has already refused such keys).
    return DEFAULT_DETACH_KEYS;
  }
}

/** Opens a container's attach stream; it must be in place before the container starts so no output is lost. */
export async function attach(cli: Cli, id: string, req: AttachRequest): Promise<Attachment> {
  const { socket } = await attachContainer(cli.client, id, {
    stream: true,
    stdin: req.stdin,
    stdout: req.stdout,
    stderr: req.stderr,
    detachKeys: req.detachKeys,
  });
  return streamHijacked(cli, socket, req);
}

/**
 * Copies a hijacked connection to and from the terminal (docker's
 * hijackedIOStreamer). With a TTY, stdin attached and a terminal on our
 * side, the terminal goes raw and the detach keys are watched for.
 */
export function streamHijacked(cli: Cli, socket: Duplex, req: AttachRequest): Attachment {
  const input = cli.in;
  const rawTerminal = req.stdin && req.tty && input.isTTY === true;
  const keys = detachSequence(req.detachKeys);
  let closed = false;
  let detach: (() => void) | undefined;
  const detached = new Promise<{ detached: boolean }>((resolve) => {
    detach = () => resolve({ detached: true });
  });

  let lastByte = 0x0a;
  // How many bytes of the detach sequence the input ended with: held back
  // until the next keystroke shows whether the rest follows.
  let held = 0;
  const onData = (chunk: Buffer) => {
    if (chunk.length) lastByte = chunk[chunk.length - 1]!;
    if (!rawTerminal) {
      socket.write(chunk);
      return;
    }
    const data = held ? Buffer.concat([keys.subarray(0, held), chunk]) : chunk;
    held = 0;
    const at = data.indexOf(keys);
    if (at >= 0) {
      if (at > 0) socket.write(data.subarray(0, at));
      detach?.();
      return;
    }
    // The longest tail of the data that starts the sequence.
    for (let n = Math.min(keys.length - 1, data.length); n > 0; n--) {
      if (data.subarray(data.length - n).equals(keys.subarray(0, n))) {
        held = n;
        break;
      }
    }
    if (data.length > held) socket.write(data.subarray(0, data.length - held));
  };
  // Half-close: the daemon sees EOF on the process's stdin and keeps sending output.
  // A TTY has no EOF of its own, so piped input into one ends the way a
  // terminal user would end it: ^D (twice if a partial line is pending).
  const onEnd = () => {
    if (req.tty && !input.isTTY) socket.write(lastByte === 0x0a ? '\x04' : '\x04\x04');
    socket.end();
  };

  const close = () => {
    if (closed) return;
    closed = true;
    if (req.stdin) {
      input.off('data', onData);
      input.off('end', onEnd);
      input.pause();
    }
    if (rawTerminal) input.setRawMode(false);
  };

  if (req.stdin) {
    if (rawTerminal) {
      input.setRawMode(true);
      // libuv's raw mode keeps output post-processing (\n → \r\n), which
      // doubles the container TTY's own \r; cfmakeraw, as docker uses, turns it off.
      // setRawMode(false) restores the saved settings, opost included.
      spawnSync('stty', ['-opost'], { stdio: ['inherit', 'ignore', 'ignore'] });
    }
    input.on('data', onData);
    input.once('end', onEnd);
    input.resume();
  } else {
    socket.end();
  }

  const output = req.tty ? copyRaw(socket, cli.out) : demuxStream(socket, req.stdout ? cli.out : discard(), req.stderr ? cli.err : discard());
  const done = Promise.race([output.then(() => ({ detached: false })), detached]).finally(() => {
    close();
    socket.destroy();
  });
  return { done, close };
}

function discard(): Writable {
  return new Writable({ write: (_chunk, _enc, cb) => cb() });
}

/**
 * Keeps a TTY the size of ours (only when stdout is a terminal): once now,
 * then on every SIGWINCH. `resize` sends the size (container or exec).
 * Returns the stopper.
 */
export function monitorTtySize(cli: Cli, resize: (height: number, width: number) => Promise<void>): () => void {
  const out = cli.out;
  if (!out.isTTY) return () => undefined;
  const send = () => {
    const [cols, rows] = out.getWindowSize();
    resize(rows, cols).catch(() => undefined);
  };
  send();
  out.on('resize', send);
  return () => out.off('resize', send);
}

/** monitorTtySize for a container's TTY. */
export function monitorContainerTtySize(cli: Cli, id: string): () => void {
  return monitorTtySize(cli, (h, w) => resizeContainer(cli.client, id, h, w));
}

// What docker's ForwardAllSignals relays, minus the ones Node cannot catch.
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/** --sig-proxy: signals the CLI receives go to the container instead. Returns the stopper. */
export function forwardSignals(cli: Cli, id: string): () => void {
  const handlers = FORWARDED.map((sig) => {
    const h = () => {
      killContainer(cli.client, id, sig.slice(3)).catch(() => undefined);
    };
    process.on(sig, h);
    return [sig, h] as const;
  });
  return () => {
    for (const [sig, h] of handlers) process.off(sig, h);
  };
}
