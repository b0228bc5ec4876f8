/**
 * @module fuzz/coverage
 * Coverage feedback from V8's own block coverage (the inspector's
 * Profiler.takePreciseCoverage in binary mode, which resets after each
 * take): an input is kept when it runs a function or a block of berth's code
 * that no earlier input ran. V8 reports the blocks a run skipped; a block
 * once seen skipped and later not skipped has been reached.
 */
import inspector from 'node:inspector/promises';

interface Range {
  startOffset: number;
  endOffset: number;
  count: number;
}

export class Coverage {
  private readonly session = new inspector.Session();
  /** Function key → its blocks seen so far, and whether each has run. */
  private readonly functions = new Map<string, Map<string, boolean>>();
  /** How many functions and blocks have run. */
  features = 0;

  /** `include`: which scripts count (berth's compiled sources). Start before the target is imported. */
  constructor(private readonly include: (url: string) => boolean) {}

  async start(): Promise<void> {
    this.session.connect();
    await this.session.post('Profiler.enable');
    await this.session.post('Profiler.startPreciseCoverage', { callCount: false, detailed: true });
  }

  /** Takes (and resets) the coverage of the last run; true when it reached something new. */
  async takeNew(): Promise<boolean> {
    const { result } = await this.session.post('Profiler.takePreciseCoverage');
    let found = false;
    for (const script of result) {
      if (!this.include(script.url)) continue;
      for (const fn of script.functions) {
        const ranges = fn.ranges as Range[];
        if (ranges[0]!.count === 0) continue;
        const key = `${script.url}:${ranges[0]!.startOffset}`;
        let blocks = this.functions.get(key);
        if (!blocks) {
          blocks = new Map();
          this.functions.set(key, blocks);
          this.features++;
          found = true;
        }
        const skipped = new Set<string>();
        for (const r of ranges.slice(1)) {
          const b = `${r.startOffset}-${r.endOffset}`;
          if (r.count === 0) {
            skipped.add(b);
            if (!blocks.has(b)) blocks.set(b, false);
          } else if (!blocks.get(b)) {
            blocks.set(b, true);
            this.features++;
            found = true;
          }
        }
        for (const [b, ran] of blocks) {
          if (!ran && !skipped.has(b)) {
            blocks.set(b, true);
            this.features++;
            found = true;
          }
        }
      }
    }
    return found;
  }

  async stop(): Promise<void> {
    await this.session.post('Profiler.stopPreciseCoverage').catch(() => undefined);
    this.session.disconnect();
  }
}
