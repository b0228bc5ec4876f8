/**
 * @module engine/container/health
 * Healthchecks (HEALTHCHECK, `--health-*`), as moby's daemon/health.go runs
 * them: while a container runs, its check runs as an exec on a schedule —
 * every StartInterval (default 5 s) while the status is `starting` within
 * the StartPeriod, every Interval (default 30 s) otherwise — each bounded by
 * Timeout (default 30 s; the probe is then killed and recorded with exit
 * code -1). Exit code 0 makes the container `healthy` and clears the failing
 * streak; a failure outside the start period adds to the streak, and
 * Retries (default 3) failures in a row make it `unhealthy`. The last five
 * results are kept in State.Health.Log; each change of status is a
 * `health_status: <status>` event. A start (or the daemon's restart, for
 * containers still running) resets the status to `starting`; an exit leaves
 * it `unhealthy`, as dockerd does.
 */
import type { Health, HealthcheckResult, HealthConfig } from '../../common/api/container.js';
import type { ContainerRecord } from './types.js';

export type { Health, HealthcheckResult } from '../../common/api/container.js';

/**
 * Runs `cmd` in the running container as an exec, killed after `timeoutMs`
 * of running or when `signal` aborts; resolves with its exit code, (at most
 * 4096 bytes of) output, and whether the timeout killed it.
 */
export type ProbeRunner = (containerId: string, cmd: string[], timeoutMs: number, signal: AbortSignal) => Promise<{ exitCode: number; output: string; timedOut: boolean }>;

/** What the monitor needs of the container service. */
export interface HealthHost {
  get(id: string): ContainerRecord | undefined;
  /** Records the container's new health (persisted) and publishes the event when the status changed. */
  setHealth(c: ContainerRecord, h: Health, changed: boolean): Promise<void>;
}

const MAX_LOG_ENTRIES = 5;
const MAX_OUTPUT = 4096;
const S = 1e9;
const DEFAULTS = { interval: 30 * S, timeout: 30 * S, startPeriod: 0, startInterval: 5 * S, retries: 3 };

/** The probe's command, or undefined when there is no check (none configured, or NONE). */
export function probeCommand(hc: HealthConfig | null | undefined, shell?: string[] | null): string[] | undefined {
  const test = hc?.Test ?? [];
  if (test.length === 0) return undefined;
  switch (test[0]) {
    case 'CMD':
      return test.length > 1 ? test.slice(1) : undefined;
    case 'CMD-SHELL':
      return [...(shell?.length ? shell : ['/bin/sh', '-c']), test.slice(1).join(' ')];
    default:
      // NONE, and anything moby does not know.
      return undefined;
  }
}

/**
 * moby's merge of the create request's Healthcheck with the image's: none
 * given, the image's; a Test given, its own fields over the image's.
 */
export function mergeHealthcheck(own: HealthConfig | null | undefined, image: HealthConfig | null | undefined): HealthConfig | undefined {
  if (!own) return image ?? undefined;
  if (!image) return own;
  const out: HealthConfig = { ...own };
  if (!out.Test?.length) out.Test = image.Test;
  for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const) if (!out[k]) out[k] = image[k];
  return out;
}

const ns = (v: number | undefined, d: number) => (v && v > 0 ? v : d);

export class HealthMonitor {
  private readonly running = new Map<string, AbortController>();

  constructor(
    private readonly host: HealthHost,
    private readonly probe: ProbeRunner,
  ) {}

  /** A run began (a start, or the daemon found it running): status `starting`, probes on schedule. */
  async started(c: ContainerRecord): Promise<void> {
    this.stopped(c.Id);
    const cmd = probeCommand(c.Config.Healthcheck as HealthConfig | undefined, c.Config.Shell);
    if (!cmd) return;
    const prev = c.State.Health;
    await this.host.setHealth(c, { Status: 'starting', FailingStreak: 0, Log: prev?.Log ?? [] }, false);
    const abort = new AbortController();
    this.running.set(c.Id, abort);
    void this.loop(c.Id, cmd, abort.signal);
  }

  /**
   * The run ended: no more probes, and (dockerd's CloseMonitorChannel, "for
   * compatibility") the status becomes `unhealthy`, without an event.
   */
  stopped(id: string): void {
    const monitor = this.running.get(id);
    if (!monitor) return;
    monitor.abort();
    this.running.delete(id);
    const c = this.host.get(id);
    if (c?.State.Health) void this.host.setHealth(c, { ...c.State.Health, Status: 'unhealthy' }, false).catch(() => undefined);
  }

  /** The daemon is going: probes stop, the recorded health stays as it is (a restarted daemon resumes). */
  close(): void {
    for (const m of this.running.values()) m.abort();
    this.running.clear();
  }

  private async loop(id: string, cmd: string[], signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const c = this.host.get(id);
      if (!c) return;
      const hc = (c.Config.Healthcheck ?? {}) as HealthConfig;
      const startPeriod = ns(hc.StartPeriod, DEFAULTS.startPeriod);
      const inStart = Date.now() - Date.parse(c.State.StartedAt) < startPeriod / 1e6;
      const health = c.State.Health;
      const delay = inStart && health?.Status === 'starting' ? ns(hc.StartInterval, DEFAULTS.startInterval) : ns(hc.Interval, DEFAULTS.interval);
      if (!(await sleep(delay / 1e6, signal))) return;
      const result = await this.runProbe(id, cmd, ns(hc.Timeout, DEFAULTS.timeout), signal);
      if (signal.aborted) return;
      await this.record(id, result, ns(hc.Retries, DEFAULTS.retries), startPeriod);
    }
  }

  private async runProbe(id: string, cmd: string[], timeout: number, stop: AbortSignal): Promise<HealthcheckResult> {
    const start = new Date();
    const result = (exitCode: number, output: string): HealthcheckResult => ({ Start: start.toISOString(), End: new Date().toISOString(), ExitCode: exitCode, Output: output });
    try {
      const r = await this.probe(id, cmd, timeout / 1e6, stop);
      if (r.timedOut) {
        const took = goDuration(timeout);
        return result(-1, r.output ? `Health check exceeded timeout (${took}): ${r.output}` : `Health check exceeded timeout (${took})`);
      }
      return result(r.exitCode, r.output.slice(0, MAX_OUTPUT));
    } catch (err) {
      // As dockerd: a probe that could not run is a failure with the error as its output.
      return result(-1, (err as Error).message);
    }
  }

  /** moby handleProbeResult. */
  private async record(id: string, r: HealthcheckResult, retries: number, startPeriodNs: number): Promise<void> {
    const c = this.host.get(id);
    if (!c || !c.State.Running) return;
    const old = c.State.Health ?? { Status: 'starting', FailingStreak: 0, Log: [] };
    const h: Health = { Status: old.Status, FailingStreak: old.FailingStreak, Log: [...old.Log, r].slice(-MAX_LOG_ENTRIES) };
    if (r.ExitCode === 0) {
      h.FailingStreak = 0;
      h.Status = 'healthy';
    } else {
      // Failures while starting, within the start period, do not count.
      const counts = !(h.Status === 'starting' && Date.parse(r.Start) - Date.parse(c.State.StartedAt) < startPeriodNs / 1e6);
      if (counts) {
        h.FailingStreak++;
        if (h.FailingStreak >= retries) h.Status = 'unhealthy';
      }
    }
    await this.host.setHealth(c, h, h.Status !== old.Status);
  }
}

/** Resolves true after `ms`, false at once if `signal` aborts first. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    // Probes never keep the daemon alive on their own.
    t.unref();
    const onAbort = () => {
      clearTimeout(t);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Go's time.Duration.String() (for the timeout message): 30s, 1m30s, 1.5s, 500ms. */
export function goDuration(nsTotal: number): string {
  if (nsTotal === 0) return '0s';
  const trim = (n: number) => String(Number(n.toFixed(9)));
  if (nsTotal < 1e3) return `${nsTotal}ns`;
  if (nsTotal < 1e6) return `${trim(nsTotal / 1e3)}µs`;
  if (nsTotal < 1e9) return `${trim(nsTotal / 1e6)}ms`;
  let secs = nsTotal / 1e9;
  const h = Math.floor(secs / 3600);
  secs -= h * 3600;
  const m = Math.floor(secs / 60);
  secs -= m * 60;
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${trim(secs)}s`;
}
