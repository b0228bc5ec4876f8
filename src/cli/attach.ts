/**
 * Attaching the terminal to a container (run and start -a): a hijacked
 * attach stream whose output is copied raw (TTY) or demultiplexed to
 * stdout/stderr, stdin forwarded and half-closed at EOF (or right away when
 * stdin is not attached, as docker does), the local terminal in raw mode
 * with ^P^Q detaching, the TTY size kept in sync, and signals forwarded.
 */
import { spawnSync } from 'node:child_process';
import { attachContainer, killContainer, resizeContainer } from '../client/containers.js';
import { copyRaw, demuxStream } from '../client/streams.js';
import type { Cli } from './cli.js';

export interface AttachRequest {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  /** The container has a TTY: output is one raw stream. */
  tty: boolean;
}

export interface Attachment {
  /** Settles when the daemon ended the output stream (the process exited), or on detach. */
  done: Promise<{ detached: boolean }>;
  /** Stops forwarding input and restores the terminal. */
  close(): void;
}

// docker's default detach sequence, ctrl-p ctrl-q.
const DETACH_KEYS = Buffer.from([0x10, 0x11]);

/** Opens the attach stream; it must be in place before the container starts so no output is lost. */
export async function attach(cli: Cli, id: string, req: AttachRequest): Promise<Attachment> {
  const { socket } = await attachContainer(cli.client, id, { stream: true, stdin: req.stdin, stdout: req.stdout, stderr: req.stderr });
  const input = cli.in;
  const rawTerminal = req.stdin && req.tty && input.isTTY === true;
  let closed = false;
  let detach: (() => void) | undefined;
  const detached = new Promise<{ detached: boolean }>((resolve) => {
    detach = () => resolve({ detached: true });
  });

  let lastByte = 0x0a;
  // A trailing ^P is held back until the next keystroke shows whether ^Q follows.
  let heldCtrlP = false;
  const onData = (chunk: Buffer) => {
    if (chunk.length) lastByte = chunk[chunk.length - 1]!;
    if (!rawTerminal) {
      socket.write(chunk);
      return;
    }
    let data = heldCtrlP ? Buffer.concat([DETACH_KEYS.subarray(0, 1), chunk]) : chunk;
    heldCtrlP = false;
    const at = data.indexOf(DETACH_KEYS);
    if (at >= 0) {
      if (at > 0) socket.write(data.subarray(0, at));
      detach?.();
      return;
    }
    if (data[data.length - 1] === DETACH_KEYS[0]) {
      heldCtrlP = true;
      data = data.subarray(0, -1);
    }
    if (data.length) socket.write(data);
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

  const output = req.tty ? copyRaw(socket, cli.out) : demuxStream(socket, cli.out, cli.err);
  const done = Promise.race([output.then(() => ({ detached: false })), detached]).finally(() => {
    close();
    socket.destroy();
  });
  return { done, close };
}

/**
 * Keeps the container's TTY the size of ours (only when stdout is a
 * terminal): once now, then on every SIGWINCH. Returns the stopper.
 */
export function monitorTtySize(cli: Cli, id: string): () => void {
  const out = cli.out;
  if (!out.isTTY) return () => undefined;
  const resize = () => {
    const [cols, rows] = out.getWindowSize();
    resizeContainer(cli.client, id, rows, cols).catch(() => undefined);
  };
  resize();
  out.on('resize', resize);
  return () => out.off('resize', resize);
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
