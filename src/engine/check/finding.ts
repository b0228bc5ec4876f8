/**
 * @module engine/check/finding
 * A finding of the store check: what is wrong, and how to fix it. Each store
 * finds its own (it knows its layout); the check (./check.ts) gathers them
 * and, when asked to repair, runs their fixes in the order found — which is
 * also how every store repairs itself at open, so the daemon's start-up
 * reconciliation and `berth system check --repair` are one code path.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { CheckFinding, CheckFindingKind } from '../../common/api/check.js';

export interface Finding {
  kind: CheckFindingKind;
  subject: string;
  message: string;
  /** What `fix` does, said to the user (present whenever `fix` is). */
  action?: string;
  fix?: () => Promise<void>;
}

/** Runs the fixes of `findings` (when `repair`), one at a time, and says how each went. */
export async function settle(findings: Finding[], repair: boolean): Promise<CheckFinding[]> {
  const out: CheckFinding[] = [];
  for (const f of findings) {
    const c: CheckFinding = { Kind: f.kind, Subject: f.subject, Message: f.message, ...(f.action ? { Action: f.action } : {}) };
    if (repair && f.fix) {
      try {
        await f.fix();
        c.Repaired = true;
      } catch (err) {
        c.Repaired = false;
        c.Error = (err as Error).message;
      }
    }
    out.push(c);
  }
  return out;
}

/** Fixes every finding at once (a store's open), throwing the first failure. */
export async function fixAll(findings: Finding[]): Promise<void> {
  for (const f of findings) await f.fix?.();
}

/**
 * Moves `file` into the quarantine directory `dir` (kept, never deleted: a
 * corrupt blob or an unreadable record may still be worth reading), under
 * its own name and the time it was moved.
 */
export async function quarantine(file: string, dir: string): Promise<string> {
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const to = path.join(dir, `${path.basename(file)}.${new Date().toISOString().replace(/[:.]/g, '-')}`);
  await fsp.rename(file, to);
  return to;
}

/** Online, what changed this recently is taken for work in progress, not a leftover. */
export const IN_PROGRESS_MS = 60_000;

/**
 * Whether `p` may be work in progress of a running daemon: changed since
 * `since` (the daemon's start; undefined offline) and within IN_PROGRESS_MS.
 * What a crashed daemon left is older than its successor.
 */
export async function inProgress(p: string, since: number | undefined): Promise<boolean> {
  if (since === undefined) return false;
  const st = await fsp.lstat(p).catch(() => undefined);
  return !!st && st.mtimeMs >= since && Date.now() - st.mtimeMs < IN_PROGRESS_MS;
}

/** How a store's leftovers() is asked: `live` when a daemon runs on the store (work may be in progress). */
export interface LeftoverScope {
  /** The running daemon's start (ms): files changed since may be its work in progress. Undefined offline. */
  liveSince?: number;
}
