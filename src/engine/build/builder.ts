/**
 * @module engine/build/builder
 * The builder behind `POST /build` and `berth build`: a Dockerfile in a
 * context becomes an image. It reads and checks the whole Dockerfile first
 * (so a bad one fails before any step runs), then builds the stages the
 * target needs — the others are skipped — each as soon as the stages it
 * depends on are done, so independent stages build in parallel; their
 * output is printed in stage order as dockerd's legacy builder prints it
 * ("Step n/m : …", " ---> Using cache", " ---> <id>"). Steps are ./steps.ts's.
 *
 * Each step's result is an image config whose digest is what `---> <id>`
 * shows; as dockerd's classic builder commits every step, each becomes an
 * untagged image whose parent is the step before's (`history` shows their
 * IDs, `images -a` lists them, `rmi` of the final image prunes them), and
 * the cache (./cache.ts) records it by step. The target's final image is
 * tagged with every `-t`.
 * A build holds one lease for everything it makes until the image or the
 * cache records it; whatever a failed build made goes to the collector.
 * No container record is ever made: steps are tasks, so nothing shows in
 * `ps -a`, during the build or after.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { Digest } from '../../common/reference/digest.js';
import { parseTagReference } from '../image/store.js';
import { referenceString } from '../../common/reference/reference.js';
import type { ImageService } from '../image/service.js';
import type { TaskRunner } from '../runtime/task.js';
import { invalid } from '../errors.js';
import { DockerfileParseError, parseDockerfile } from './parser.js';
import { toDockerfile, type Dockerfile, type Instruction, type Stage } from './instructions.js';
import { envOf, expandWord, ExpansionError } from './lex.js';
import { BuildArgs } from './args.js';
import type { BuildCache } from './cache.js';
import type { BuildContext } from './context.js';
import { scopedPath } from './copy.js';
import { OrderedOutput } from './output.js';
import { span } from '../trace.js';
import { StepRunner, type StageState } from './steps.js';
import { BaseImages, type ImagePuller } from './base-image.js';
import { CacheFromSources } from './cache-from.js';
import type { ImageRecord } from '../image/types.js';
import type { AuthConfig } from '../distribution/auth.js';
import type { NetworkService } from '../network/service.js';
import type { ProgressMessage } from '../distribution/progress.js';

export interface BuildRequest {
  /** The Dockerfile's path in the context (default "Dockerfile"). */
  dockerfile?: string;
  tags: string[];
  buildArgs: Record<string, string | null>;
  labels: Record<string, string>;
  target?: string;
  noCache: boolean;
  /** --rm (default) and --force-rm: steps are tasks either way; kept for the messages. */
  rm: boolean;
  forceRm: boolean;
  /** "default", "none", "host" (a RUN's --network overrides it). */
  network?: string;
  platform?: string;
  cacheFrom: string[];
  /** --pull: base images are pulled even when present. */
  pull: boolean;
  /** Credentials by registry (`X-Registry-Config`), for the images a build pulls. */
  authConfigs?: Record<string, AuthConfig>;
}

/** Where a build writes: dockerd's legacy stream messages. */
export interface BuildSink {
  stream(text: string): void;
  aux(value: unknown): void;
  /** A pull's progress message, as it goes into dockerd's build stream. */
  progress(m: ProgressMessage): void;
}

export interface BuildDeps {
  images: ImageService;
  tasks: TaskRunner;
  cache: BuildCache;
  /** Work directory for contexts and views (emptied at start). */
  tmp: string;
  seccompProfile?: string;
  /** Pulls the base images that are not here (the registry client). */
  pull?: ImagePuller;
  /** Networks for RUN steps (the default bridge, as dockerd's step containers get). */
  networks?: NetworkService;
}

export class BuildService {
  constructor(private readonly deps: BuildDeps) {}

  get cache(): BuildCache {
    return this.deps.cache;
  }

  /** Removes what an interrupted build left in the work directory. */
  async init(): Promise<void> {
    await fsp.rm(this.deps.tmp, { recursive: true, force: true });
    await fsp.mkdir(this.deps.tmp, { recursive: true, mode: 0o700 });
  }

  /** Builds `req` in `ctx`; resolves with the image ID. Errors before any output are plain EngineErrors. */
  async build(ctx: BuildContext, req: BuildRequest, sink: BuildSink): Promise<Digest> {
    const df = await span('build-parse', () => this.readDockerfile(ctx, req.dockerfile || 'Dockerfile'));
    await ctx.dropIgnoredDockerfile(req.dockerfile || 'Dockerfile');
    for (const t of req.tags) parseTagReference(t);
    let stages = df.stages;
    if (stages.length === 0) throw invalid('No image was generated. Is your Dockerfile empty?');
    let targetIx = stages.length - 1;
    if (req.target) {
      targetIx = stages.findIndex((s) => s.name === req.target!.toLowerCase());
      if (targetIx < 0) throw invalid(`target stage "${req.target}" could not be found`);
      stages = stages.slice(0, targetIx + 1);
    }
    // --label: one LABEL step at the end of the target stage, as dockerd adds it.
    const labelKeys = Object.keys(req.labels).sort();
    if (labelKeys.length) {
      const original = 'LABEL ' + labelKeys.map((k) => `${JSON.stringify(k)}=${JSON.stringify(req.labels[k])}`).join(' ');
      const target = stages[targetIx]!;
      stages = stages.map((s) =>
        s === target ? { ...s, commands: [...s.commands, { kind: 'label' as const, line: 0, original, pairs: labelKeys.map((k) => ({ key: k, value: quoteForLex(req.labels[k]!) })) }] } : s,
      );
    }
    const args = new BuildArgs(req.buildArgs);
    const metaEnv = () => envOf(args.metaEnv());
    // Meta args first: they name base images.
    for (const a of df.metaArgs) for (const kv of a.args) args.addMeta(kv.key, kv.value === undefined ? undefined : expandOrFail(kv.value, metaEnv(), df.escape, a));
    const fromNames = stages.map((s) => expandOrFail(s.from.image, metaEnv(), df.escape, s.from));
    const needed = neededStages(stages, targetIx, fromNames);
    const order = [...needed].sort((a, b) => a - b);
    // Step numbers: meta args, then each built stage's FROM and commands.
    const total = df.metaArgs.length + order.reduce((n, i) => n + 1 + stages[i]!.commands.length, 0);
    const firstStep = new Map<number, number>();
    let next = df.metaArgs.length + 1;
    for (const i of order) {
      firstStep.set(i, next);
      next += 1 + stages[i]!.commands.length;
    }
    // Only now does output start: everything above fails as a plain error.
    df.metaArgs.forEach((a, k) => sink.stream(`Step ${k + 1}/${total} : ${a.original}\n`));

    // --cache-from: the names that are local images (others are skipped, as dockerd skips them).
    const cacheFrom = new CacheFromSources(req.cacheFrom.map((n) => this.deps.images.store.find(n)).filter((i): i is ImageRecord => !!i));
    const lease = this.deps.images.gc.lease('build');
    const workKeys: string[] = [];
    const out = new OrderedOutput(sink, order);
    const runner = new StepRunner({
      ...this.deps,
      lease,
      workKeys,
      context: ctx,
      req,
      args,
      escape: df.escape,
      total,
      base: new BaseImages(this.deps.images, this.deps.pull, { forcePull: req.pull, authConfigs: req.authConfigs ?? {} }),
      cacheFrom: cacheFrom.empty ? undefined : cacheFrom,
    });
    const results = new Map<number, Promise<StageState>>();
    let failed = false;
    const stageOf = (name: string): number | undefined => {
      const byName = stages.findIndex((s) => s.name === name.toLowerCase());
      if (byName >= 0) return byName;
      return /^\d+$/.test(name) && Number(name) < stages.length ? Number(name) : undefined;
    };
    const resultOf = (name: string, before: number): Promise<StageState> | undefined => {
      const ix = stageOf(name);
      if (ix === undefined || ix >= before) return undefined;
      return results.get(ix);
    };
    for (const i of order) {
      const stage = stages[i]!;
      const w = out.writer(i);
      results.set(
        i,
        (async () => {
          // Let the event loop start every stage before any runs.
          await Promise.resolve();
          const st = await runner.runStage(stage, fromNames[i]!, firstStep.get(i)!, w, {
            stageResult: (name) => resultOf(name, i),
            aborted: () => failed,
          });
          w.aux({ ID: st.id });
          out.done(i);
          return st;
        })(),
      );
    }
    let final: StageState;
    try {
      const all = await Promise.allSettled(order.map((i) => results.get(i)!));
      const rejected = all.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (rejected) {
        failed = true;
        throw rejected.reason;
      }
      final = (all[all.length - 1] as PromiseFulfilledResult<StageState>).value;
      const unused = args.unused();
      if (unused.length) sink.stream(`[Warning] One or more build-args [${unused.join(' ')}] were not consumed\n`);
      const img = await span('build-store-image', () => runner.storeImage(final));
      sink.stream(`Successfully built ${img.slice(7, 19)}\n`);
      for (const t of req.tags) {
        await span('build-tag', () => this.deps.images.tag(img, referenceString(parseTagReference(t))));
        sink.stream(`Successfully tagged ${familiar(t)}\n`);
      }
      return img;
    } catch (err) {
      failed = true;
      out.flushAll();
      throw err;
    } finally {
      // Steps still running in other stages end before the lease goes.
      await Promise.allSettled([...results.values()]);
      lease.release();
      await span('build-collect', () => this.deps.images.gc.collectSnapshots(workKeys).catch(() => undefined));
    }
  }

  private async readDockerfile(ctx: BuildContext, name: string): Promise<Dockerfile> {
    const file = await scopedPath(ctx.root, name);
    const text = await fsp.readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) throw invalid(`Cannot locate specified Dockerfile: ${name}`);
    try {
      return toDockerfile(parseDockerfile(text));
    } catch (err) {
      if (err instanceof DockerfileParseError) throw invalid(err.message, err);
      throw err;
    }
  }

  /** A random ID for a step's task ("Running in <12 hex>"). */
  static stepId(): string {
    return randomBytes(32).toString('hex');
  }

  /** `docker builder prune` (POST /build/prune): the cache's records, then the layers nothing else holds. */
  async prune(o: { all?: boolean; untilMs?: number } = {}): Promise<{ CachesDeleted: string[] | null; SpaceReclaimed: number }> {
    let pruned: { ids: string[]; mountBytes: number } = { ids: [], mountBytes: 0 };
    const layers = await this.deps.images.measureFreed(async () => {
      pruned = await this.deps.cache.prune({ untilMs: o.untilMs });
      await this.deps.images.lock.run(() => this.deps.images.gc.collect());
    });
    const { ids, mountBytes } = pruned;
    return { CachesDeleted: ids.length ? ids : null, SpaceReclaimed: mountBytes + layers };
  }
}

function expandOrFail(word: string, env: Map<string, string>, escape: string, ins: { line: number }): string {
  try {
    return expandWord(word, env, escape);
  } catch (err) {
    if (err instanceof ExpansionError) throw invalid(`dockerfile parse error on line ${ins.line}: ${err.message}`);
    throw err;
  }
}

/** A --label value as a word expansion leaves it unchanged. */
function quoteForLex(v: string): string {
  return `'${v.replace(/'/g, `'"'"'`)}'`;
}

function familiar(tag: string): string {
  const ref = parseTagReference(tag);
  const s = referenceString(ref);
  return s.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '');
}

/** The stages the target needs: itself and, transitively, every stage a FROM, COPY --from or RUN --mount from= names. */
function neededStages(stages: Stage[], target: number, fromNames: string[]): Set<number> {
  const byName = (name: string, before: number): number | undefined => {
    const ix = stages.findIndex((s, k) => k < before && s.name === name.toLowerCase());
    if (ix >= 0) return ix;
    if (/^\d+$/.test(name) && Number(name) < before) return Number(name);
    return undefined;
  };
  const needed = new Set<number>();
  const visit = (i: number) => {
    if (needed.has(i)) return;
    needed.add(i);
    const deps: (string | undefined)[] = [fromNames[i]];
    for (const c of stages[i]!.commands) deps.push(...stageRefs(c));
    for (const d of deps) {
      if (d === undefined) continue;
      const ix = byName(d, i);
      if (ix !== undefined) visit(ix);
    }
  };
  visit(target);
  return needed;
}

function stageRefs(c: Instruction): string[] {
  if ((c.kind === 'copy' || c.kind === 'add') && c.from) return [c.from];
  if (c.kind === 'run') return c.mounts.map((m) => m.from).filter((f): f is string => !!f);
  return [];
}
