/**
 * @module engine/build/args
 * Build arguments as moby's BuildArgs keeps them: values given with
 * `--build-arg`, ARGs before the first FROM (meta args, for FROM lines and
 * as defaults of a stage's bare `ARG name`), the ARGs a stage declared (only
 * those are visible to its instructions, unless ENV shadows them), and the
 * predefined proxy args, usable undeclared and left out of the image's
 * history unless declared.
 */
export const BUILTIN_ARGS = new Set(['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy']);

export class BuildArgs {
  readonly meta = new Map<string, string | undefined>();
  /** Every name some ARG declared (for the unused warning). */
  readonly referenced = new Set<string>();

  constructor(readonly given: Record<string, string | null>) {}

  /** Meta ARG: its value, overridden by --build-arg. */
  addMeta(key: string, dflt: string | undefined): void {
    const g = this.given[key];
    this.meta.set(key, g !== undefined && g !== null ? g : dflt);
    this.referenced.add(key);
  }

  /** A stage's `ARG key[=default]`: the value it takes. */
  declare(key: string, dflt: string | undefined): string | undefined {
    this.referenced.add(key);
    const g = this.given[key];
    if (g !== undefined && g !== null) return g;
    if (dflt !== undefined) return dflt;
    return this.meta.get(key);
  }

  /** `KEY=VALUE` for the meta args (what FROM lines expand with). */
  metaEnv(): string[] {
    const out: string[] = [];
    for (const [k, v] of this.meta) if (v !== undefined) out.push(`${k}=${v}`);
    return out;
  }

  /**
   * The args a stage's instructions see as `KEY=VALUE`: those it declared
   * with a value, and the builtin proxy args given, less any ENV sets.
   */
  visible(declared: Map<string, string | undefined>, env: readonly string[]): string[] {
    const envKeys = new Set(env.map((e) => e.split('=')[0]));
    const out: string[] = [];
    for (const [k, v] of declared) if (v !== undefined && !envKeys.has(k)) out.push(`${k}=${v}`);
    for (const k of BUILTIN_ARGS) {
      const g = this.given[k];
      if (!declared.has(k) && g !== undefined && g !== null && !envKeys.has(k)) out.push(`${k}=${g}`);
    }
    return out;
  }

  /** `--build-arg`s no ARG took (dockerd warns about them at the end). */
  unused(): string[] {
    return Object.keys(this.given)
      .filter((k) => !this.referenced.has(k) && !BUILTIN_ARGS.has(k))
      .sort();
  }
}
