/**
 * A tmux server of a test's own (its socket in a temp dir the test owns):
 * programs run in a pane of a fixed size, keys are typed into it, and the
 * screen is read back. kill() ends the server and everything in it.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Single-quotes a word for sh. */
export const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export class Tmux {
  constructor(readonly socket: string) {}

  async run(...args: string[]): Promise<string> {
    const { stdout } = await execFileP('tmux', ['-S', this.socket, ...args]);
    return stdout;
  }

  /**
   * Runs `command` (a shell command line) in a new 100x30 session; once it
   * exits the pane shows EXIT=<code> and stays open for capture.
   */
  async start(session: string, command: string): Promise<void> {
    await this.run('new-session', '-d', '-s', session, '-x', '100', '-y', '30', `${command}; echo EXIT=$?; sleep 600`);
  }

  /** Polls the pane until `re` matches its text; returns the text. */
  async waitFor(session: string, re: RegExp, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let text = '';
    while (Date.now() < deadline) {
      text = await this.run('capture-pane', '-p', '-t', session);
      if (re.test(text)) return text;
      await sleep(100);
    }
    throw new Error(`pane ${session} never matched ${re}:\n${text}`);
  }

  async typeLine(session: string, line: string): Promise<void> {
    await this.run('send-keys', '-t', session, '-l', line);
    await this.run('send-keys', '-t', session, 'Enter');
  }

  /** Sends keys one by one (tmux key names such as C-p), as separate keystrokes. */
  async keys(session: string, ...keys: string[]): Promise<void> {
    for (const k of keys) {
      await this.run('send-keys', '-t', session, k);
      await sleep(50);
    }
  }

  async killSession(session: string): Promise<void> {
    await this.run('kill-session', '-t', session).catch(() => undefined);
  }

  async kill(): Promise<void> {
    await this.run('kill-server').catch(() => undefined);
  }
}
