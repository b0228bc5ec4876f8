/**
 * @module engine/runtime/detach-keys
 * Detach keys (`ctrl-p,ctrl-q` by default): on an attach to a TTY container
 * or an exec with a TTY, the daemon watches the client's stdin for the
 * sequence and, when it comes, ends that client's stream while the process
 * keeps running — as moby's container/stream copyEscapable does with its
 * term.NewEscapeProxy. Clients that do not look for the keys themselves
 * (the SDKs; the docker CLI does when its stdin is a terminal) rely on it.
 */

/** ctrl-p, ctrl-q: dockerd's default when a client names none. */
export const DEFAULT_DETACH_KEYS = Buffer.from([16, 17]);

/** moby term.ASCII: the names `ctrl-@` … `ctrl-_` stand for the bytes 0 … 31. */
const CTRL = '@abcdefghijklmnopqrstuvwxyz[\\]^_';

/**
 * moby term.ToBytes: "ctrl-p,ctrl-q" → [16, 17]; one character stands for
 * itself, `DEL` for 127. Undefined when a key is not one of those.
 */
export function parseDetachKeys(keys: string): Buffer | undefined {
  const out: number[] = [];
  for (const key of keys.split(',')) {
    if (key.length === 1) {
      out.push(key.charCodeAt(0));
      continue;
    }
    const m = /^ctrl-(.)$/.exec(key.toLowerCase());
    const code = m ? CTRL.indexOf(m[1]!) : -1;
    if (code >= 0) out.push(code);
    else if (key === 'DEL') out.push(127);
    else return undefined;
  }
  return Buffer.from(out);
}

/**
 * Finds the detach sequence in a client's stdin, across reads. Bytes that
 * might begin the sequence are held back until the next byte tells; when it
 * does not continue the sequence they go through after all. Unlike moby's
 * proxy, which only matches keys read one at a time (keystrokes), a sequence
 * that arrives in one packet (an SDK writing it at once) counts too.
 */
export class DetachKeyMatcher {
  private held = 0;

  constructor(private readonly keys: Buffer) {}

  /**
   * What of `chunk` goes on to the process, and whether the sequence has
   * been completed (nothing after it is passed on).
   */
  feed(chunk: Buffer): { pass: Buffer; detach: boolean } {
    if (this.keys.length === 0) return { pass: chunk, detach: false };
    const out: number[] = [];
    for (const b of chunk) {
      if (b === this.keys[this.held]) {
        this.held++;
        if (this.held === this.keys.length) {
          this.held = 0;
          return { pass: Buffer.from(out), detach: true };
        }
        continue;
      }
      if (this.held > 0) {
        out.push(...this.keys.subarray(0, this.held));
        this.held = 0;
        if (b === this.keys[0]) {
          this.held = 1;
          if (this.keys.length === 1) return { pass: Buffer.from(out), detach: true };
          continue;
        }
      }
      out.push(b);
    }
    return { pass: Buffer.from(out), detach: false };
  }

  /** Bytes held back when the input ends: they were stdin after all. */
  flush(): Buffer {
    const rest = this.keys.subarray(0, this.held);
    this.held = 0;
    return Buffer.from(rest);
  }
}
