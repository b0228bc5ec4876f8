/**
 * @module engine/build/steps
 * One stage, step by step, with dockerd's legacy builder's rules and
 * texts. Every step that changes the state goes through `commitStep`:
 * the cache is asked first (key: the state the step starts from, the step
 * as it runs, its sources' checksum), else the step runs — RUN as a task on
 * a snapshot, COPY/ADD/WORKDIR as file work on a mounted snapshot, the
 * metadata instructions without any file system — and its result is
 * recorded in the cache. History entries carry Docker's created-by text
 * (`/bin/sh -c #(nop)  CMD ["sh"]`), steps without a layer are marked
 * empty_layer.
 *
 * Why one file of ~700 lines: it is one class, StepRunner, whose methods
 * all share the stage state, the cache step (commitStep) and the writer;
 * the file work of each instruction lives in its own module (copy.ts,
 * add.ts, rootfs.ts, etc-files.ts). RUN's mounts and network are the part
 * to move out first if it grows.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { Digest } from '../../common/reference/digest.js';
import { childImageConfig, fullRunConfig } from '../image/service.js';
import type { ImageConfigBlob, ImageRunConfig } from '../image/types.js';
import { EngineError, invalid } from '../errors.js';
import { buildSpec, DEFAULT_PATH_ENV, SpecError } from '../runtime/spec/build.js';
import { resolveUser } from '../runtime/spec/user.js';
import { chainIds } from '../snapshot/layers.js';
import { envOf, expandWord, expandWords, ExpansionError, type Env } from './lex.js';
import { BUILTIN_ARGS, type BuildArgs } from './args.js';
import { cacheKey, stateIdOf, type BuildCache } from './cache.js';
import type { BuildContext } from './context.js';
import type { BuildRequest } from './builder.js';
import { parseDockerfile } from './parser.js';
import { toInstruction, type Instruction, type Stage } from './instructions.js';
import type { StageWriter } from './output.js';
import { withStepRootfs, openStateView, type StepFs, type UpperTidy } from './rootfs.js';
import { stepEtcFiles } from './etc-files.js';
import { span } from '../trace.js';
import { copyInto, parseChmod, resolveSources, scopedPath } from './copy.js';
import { addSource, unpackArchive } from './add.js';
import type { BaseImages } from './base-image.js';
import type { CacheFromSources } from './cache-from.js';
import type { NetworkedContainer, NetworkService } from '../network/service.js';
import type { ImageService } from '../image/service.js';
import type { TaskRunner } from '../runtime/task.js';
import type { Lease } from '../gc.js';

/** The state a stage is in after a step: an image config (not necessarily an image). */
export interface StageState {
  config: ImageConfigBlob;
  id: Digest;
  /** ARGs this stage declared, with their values. */
  declared: Map<string, string | undefined>;
  maintainer?: string;
  /** A CMD was set in this stage (ENTRYPOINT then keeps it; else it clears the base image's). */
  cmdSet?: boolean;
}

/** A RUN that exited non-zero: dockerd's message and the exit code (errorDetail.code). */
export class StepFailedError extends EngineError {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super('system', message);
  }
}

export interface StepRunnerDeps {
  images: ImageService;
  tasks: TaskRunner;
  cache: BuildCache;
  tmp: string;
  seccompProfile?: string;
  lease: Lease;
  workKeys: string[];
  context: BuildContext;
  req: BuildRequest;
  base: BaseImages;
  /** `--cache-from` images, when any resolved. */
  cacheFrom?: CacheFromSources;
  /** RUN steps join networks through it (the default bridge); absent: host and none only. */
  networks?: NetworkService;
  args: BuildArgs;
  escape: string;
  total: number;
}

export interface StageHooks {
  stageResult(name: string): Promise<StageState> | undefined;
  aborted(): boolean;
}

const DEFAULT_SHELL = ['/bin/sh', '-c'];

function runConfigOf(s: StageState): ImageRunConfig {
  return s.config.config ?? {};
}

function short(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

export class StepRunner {
  private readonly fs: StepFs;

  constructor(private readonly d: StepRunnerDeps) {
    this.fs = { images: d.images, lease: d.lease, workKeys: d.workKeys, tmp: d.tmp };
  }

  async runStage(stage: Stage, fromName: string, firstStep: number, w: StageWriter, hooks: StageHooks): Promise<StageState> {
    let n = firstStep;
    w.stream(`Step ${n++}/${this.d.total} : ${stage.from.original}\n`);
    let state = await span('build-from', () => this.baseState(fromName, hooks, w));
    w.stream(` ---> ${short(state.id)}\n`);
    // Every step's result is an image whose parent is the step before's, as the classic builder commits them.
    let parent = this.d.images.store.get(state.id) ? state.id : undefined;
    const commit = async (next: StageState) => {
      if (next.id === state.id) return;
      await this.storeImage(next, parent);
      parent = next.id;
    };
    const triggers = runConfigOf(state).OnBuild ?? [];
    if (triggers.length) {
      w.stream(`# Executing ${triggers.length} build trigger${triggers.length > 1 ? 's' : ''}\n`);
      // Triggers are consumed: the stage's image does not pass them on.
      state = this.withConfig(state, { ...runConfigOf(state), OnBuild: null });
      for (const t of triggers) {
        const nodes = parseDockerfile(t).nodes;
        if (nodes.length !== 1) throw invalid('onbuild trigger should be a single expression');
        const next = await this.dispatch(state, toInstruction(nodes[0]!, this.d.escape), w, hooks);
        await commit(next);
        state = next;
      }
    }
    for (const c of stage.commands) {
      if (hooks.aborted()) throw new EngineError('system', 'Build cancelled');
      w.stream(`Step ${n++}/${this.d.total} : ${c.original}\n`);
      const next = await this.dispatch(state, c, w, hooks);
      await span('build-store-image', () => commit(next));
      state = next;
      w.stream(` ---> ${short(state.id)}\n`);
    }
    return state;
  }

  /**
   * A state as an image record (the layers are the state's; nothing is
   * copied), unless it is one already: the intermediate images `history`
   * and `images -a` show, and the final one.
   */
  async storeImage(st: StageState, parent?: Digest): Promise<Digest> {
    if (this.d.images.store.get(st.id)) return st.id;
    const img = await this.d.images.lock.run(() =>
      this.d.images.store.put(st.config, {
        ...(parent && parent !== st.id ? { parent } : {}),
        layers: st.config.rootfs.diff_ids.map((diffId) => ({ diffId })),
      }),
    );
    if (img.id !== st.id) throw new Error(`build: image ID ${img.id} is not the state's ${st.id}`);
    return img.id;
  }

  private withConfig(state: StageState, config: ImageRunConfig): StageState {
    const c: ImageConfigBlob = { ...state.config, config: fullRunConfig(config) };
    return { ...state, config: c, id: stateIdOf(c) };
  }

  private async baseState(name: string, hooks: StageHooks, w: StageWriter): Promise<StageState> {
    const stage = hooks.stageResult(name);
    if (stage) {
      const s = await stage;
      return { ...s, declared: new Map(), maintainer: undefined, cmdSet: false };
    }
    if (name.toLowerCase() === 'scratch') {
      const config: ImageConfigBlob = {
        architecture: 'amd64',
        config: fullRunConfig({ Env: [`PATH=${DEFAULT_PATH_ENV}`] }),
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: [] },
      };
      return { config, id: stateIdOf(config), declared: new Map() };
    }
    if (!name) throw invalid('base name should not be blank');
    const img = await this.d.base.get(name, (m) => w.progress(m));
    // The base image's layers are held for the build even if it is removed meanwhile.
    const top = chainIds(img.config.rootfs.diff_ids).at(-1);
    if (top) this.d.lease.addSnapshot(top);
    return { config: img.config, id: img.id, declared: new Map() };
  }

  /** What a stage's instructions expand variables with: ENV, then the visible ARGs. */
  private envFor(state: StageState): Env {
    const env = runConfigOf(state).Env ?? [];
    return envOf([...this.d.args.visible(state.declared, env), ...env]);
  }

  private expand(word: string, env: Env, line: number): string {
    try {
      return expandWord(word, env, this.d.escape);
    } catch (err) {
      if (err instanceof ExpansionError) throw invalid(`dockerfile parse error on line ${line}: ${err.message}`);
      throw err;
    }
  }

  private expandList(words: string[], env: Env, line: number): string[] {
    try {
      return words.flatMap((w) => expandWords(w, env, this.d.escape));
    } catch (err) {
      if (err instanceof ExpansionError) throw invalid(`dockerfile parse error on line ${line}: ${err.message}`);
      throw err;
    }
  }

  private shellOf(state: StageState): string[] {
    const s = runConfigOf(state).Shell;
    return s && s.length ? [...s] : [...DEFAULT_SHELL];
  }

  /** `/bin/sh -c #(nop)  <comment>`: the legacy builder's Cmd for a metadata step, joined. */
  private nop(state: StageState, comment: string): string {
    return [...this.shellOf(state), '#(nop) ', comment].join(' ');
  }

  private async dispatch(state: StageState, c: Instruction, w: StageWriter, hooks: StageHooks): Promise<StageState> {
    const rc = runConfigOf(state);
    const env = this.envFor(state);
    const meta = (comment: string, config: ImageRunConfig, extra: Partial<StageState> = {}) =>
      this.commitStep({ ...state, ...extra }, w, { key: ['meta', comment], createdBy: this.nop(state, comment), config });
    switch (c.kind) {
      case 'from':
        throw invalid('FROM inside a stage');
      case 'env': {
        const list = [...(rc.Env ?? [])];
        const parts: string[] = [];
        for (const p of c.pairs) {
          const v = this.expand(p.value ?? '', env, c.line);
          const k = this.expand(p.key, env, c.line);
          parts.push(`${k}=${v}`);
          const i = list.findIndex((e) => e.split('=')[0] === k);
          if (i >= 0) list[i] = `${k}=${v}`;
          else list.push(`${k}=${v}`);
          env.set(k, v);
        }
        return meta(`ENV ${parts.join(' ')}`, { ...rc, Env: list });
      }
      case 'label': {
        const labels = { ...(rc.Labels ?? {}) };
        const parts: string[] = [];
        for (const p of c.pairs) {
          const k = this.expand(p.key, env, c.line);
          const v = this.expand(p.value ?? '', env, c.line);
          labels[k] = v;
          parts.push(`${k}=${v}`);
        }
        return meta(`LABEL ${parts.join(' ')}`, { ...rc, Labels: labels });
      }
      case 'maintainer':
        return this.commitStep({ ...state, maintainer: c.value }, w, { key: ['meta', c.value], createdBy: this.nop(state, `MAINTAINER ${c.value}`), config: rc });
      case 'arg': {
        const declared = new Map(state.declared);
        const parts: string[] = [];
        for (const a of c.args) {
          const dflt = a.value === undefined ? undefined : this.expand(a.value, env, c.line);
          declared.set(a.key, this.d.args.declare(a.key, dflt));
          parts.push(dflt === undefined ? a.key : `${a.key}=${dflt}`);
        }
        return meta(`ARG ${parts.join(' ')}`, rc, { declared });
      }
      case 'cmd':
      case 'entrypoint': {
        const value = c.json ?? [...this.shellOf(state), c.shellCmd!];
        if (c.kind === 'cmd') return meta(`CMD ${goQuoteList(value)}`, { ...rc, Cmd: value }, { cmdSet: true });
        // An ENTRYPOINT drops the base image's CMD, not one this stage set.
        return meta(`ENTRYPOINT ${goQuoteList(value)}`, { ...rc, Entrypoint: value, Cmd: state.cmdSet ? rc.Cmd : null });
      }
      case 'expose': {
        const ports = this.expandList(c.values, env, c.line);
        const exposed = { ...(rc.ExposedPorts ?? {}) };
        for (const p of ports) {
          const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(p);
          if (!m) throw invalid(`invalid containerPort: ${p}`);
          const proto = (m[3] ?? 'tcp').toLowerCase();
          const lo = Number(m[1]);
          const hi = m[2] ? Number(m[2]) : lo;
          for (let k = lo; k <= hi; k++) exposed[`${k}/${proto}`] = {};
        }
        return meta(`EXPOSE ${ports.join(' ')}`, { ...rc, ExposedPorts: exposed });
      }
      case 'volume': {
        const vols = this.expandList(c.values, env, c.line);
        const volumes = { ...(rc.Volumes ?? {}) };
        for (const v of vols) {
          if (v.trim() === '') throw invalid('VOLUME specified can not be an empty string');
          volumes[v] = {};
        }
        return meta(`VOLUME [${vols.join(' ')}]`, { ...rc, Volumes: volumes });
      }
      case 'user': {
        const u = this.expand(c.value, env, c.line);
        return meta(`USER ${u}`, { ...rc, User: u });
      }
      case 'stopsignal': {
        const s = this.expand(c.value, env, c.line);
        return meta(`STOPSIGNAL ${s}`, { ...rc, StopSignal: s });
      }
      case 'onbuild':
        return meta(`ONBUILD ${c.expression}`, { ...rc, OnBuild: [...(rc.OnBuild ?? []), c.expression] });
      case 'shell':
        return meta(`SHELL [${c.shell.join(' ')}]`, { ...rc, Shell: c.shell });
      case 'healthcheck': {
        const hc =
          c.test[0] === 'NONE'
            ? { Test: ['NONE'] }
            : {
                Test: c.test,
                ...(c.interval ? { Interval: goDuration(c.interval, 'interval') } : {}),
                ...(c.timeout ? { Timeout: goDuration(c.timeout, 'timeout') } : {}),
                ...(c.startPeriod ? { StartPeriod: goDuration(c.startPeriod, 'start-period') } : {}),
                ...(c.startInterval ? { StartInterval: goDuration(c.startInterval, 'start-interval') } : {}),
                ...(c.retries ? { Retries: retriesOf(c.retries) } : {}),
              };
        return meta(`HEALTHCHECK &{${JSON.stringify(hc)}}`, { ...rc, Healthcheck: hc });
      }
      case 'workdir': {
        const dir = this.expand(c.value, env, c.line);
        const wd = path.posix.resolve(rc.WorkingDir || '/', dir);
        return this.commitStep(state, w, {
          key: ['workdir', wd],
          createdBy: [...this.shellOf(state), `#(nop) WORKDIR ${wd}`].join(' '),
          config: { ...rc, WorkingDir: wd },
          run: async (rootfs) => {
            const abs = await scopedPath(rootfs, wd);
            await fsp.mkdir(abs, { recursive: true, mode: 0o755 });
          },
        });
      }
      case 'run':
        return this.run(state, c, env, w, hooks);
      case 'copy':
      case 'add':
        return this.copy(state, c, env, w, hooks);
    }
  }

  /**
   * A step that makes a new state: from the cache when it holds one for
   * this key (and its layers are all still here), else by running `run` on
   * a snapshot of the state (when given) and recording the result.
   */
  private async commitStep(
    state: StageState,
    w: StageWriter,
    o: {
      key: unknown[];
      createdBy: string;
      config: ImageRunConfig;
      run?: (rootfs: string, stepId: string, tidy: (t: UpperTidy) => void) => Promise<void>;
      /** dockerd runs COPY and ADD without a container, so prints no "Running in". */
      noContainer?: boolean;
    },
  ): Promise<StageState> {
    const key = cacheKey([state.id, state.maintainer ?? '', ...o.key, o.createdBy, fullRunConfig(o.config)]);
    if (!this.d.req.noCache && this.d.cacheFrom) {
      const hit = await this.fromCacheSources(state, o);
      if (hit) {
        w.stream(' ---> Using cache\n');
        return hit;
      }
    }
    if (!this.d.req.noCache) {
      const hit = await span('build-cache-probe', async () => {
        const rec = this.d.cache.get(key);
        const top = rec ? chainIds(rec.result.rootfs.diff_ids).at(-1) : undefined;
        if (!rec || (top && !(await this.d.images.snapshots.stat(top)))) return undefined;
        if (top) this.d.lease.addSnapshot(top);
        this.d.cache.touch(rec);
        return rec;
      });
      if (hit) {
        w.stream(' ---> Using cache\n');
        return { ...state, config: hit.result, id: stateIdOf(hit.result) };
      }
    }
    const stepId = randomId();
    const say = (text: string) => {
      if (!o.noContainer) w.stream(text);
    };
    say(` ---> Running in ${stepId.slice(0, 12)}\n`);
    let diffId: Digest | null = null;
    let size = 0;
    try {
      if (o.run) {
        const { layer } = await withStepRootfs(this.fs, state.config.rootfs.diff_ids, (rootfs, tidy) => o.run!(rootfs, stepId, tidy));
        if (layer) {
          diffId = layer.diffId;
          size = layer.size;
        }
      }
    } catch (err) {
      if (this.d.req.forceRm) say(` ---> Removed intermediate container ${stepId.slice(0, 12)}\n`);
      throw err;
    }
    const config = childImageConfig(state.config, diffId, {
      config: o.config,
      history: { created: new Date().toISOString(), created_by: o.createdBy },
      ...(state.maintainer ? { author: state.maintainer } : {}),
    });
    await this.d.cache.put({ id: key, parent: state.id, description: o.createdBy, result: config, size });
    if (this.d.req.rm || this.d.req.forceRm) say(` ---> Removed intermediate container ${stepId.slice(0, 12)}\n`);
    return { ...state, config, id: stateIdOf(config) };
  }

  /** A step's result from a `--cache-from` image (./cache-from.ts), when one matches and its layers are here. */
  private async fromCacheSources(state: StageState, o: { createdBy: string; config: ImageRunConfig }): Promise<StageState | undefined> {
    const hit = this.d.cacheFrom!.match(state.config, o.createdBy);
    if (!hit) return undefined;
    let result: StageState;
    if (hit.image) result = { ...state, config: hit.image.config, id: hit.image.id };
    else {
      const { empty_layer: _empty, ...history } = hit.history!;
      const config = childImageConfig(state.config, hit.diffId ?? null, { config: o.config, history, ...(state.maintainer ? { author: state.maintainer } : {}) });
      result = { ...state, config, id: stateIdOf(config) };
    }
    const top = chainIds(result.config.rootfs.diff_ids).at(-1);
    if (top && !(await this.d.images.snapshots.stat(top))) return undefined;
    if (top) this.d.lease.addSnapshot(top);
    return result;
  }

  private async run(state: StageState, c: Instruction & { kind: 'run' }, env: Env, w: StageWriter, hooks: StageHooks): Promise<StageState> {
    const rc = runConfigOf(state);
    const shell = this.shellOf(state);
    let cmd: string[];
    if (c.json) cmd = c.json;
    else if (c.heredocs.length === 1 && /^<<-?\s*["']?[A-Za-z_][A-Za-z0-9_]*["']?$/.test(c.shellCmd!.trim())) {
      // RUN <<EOF alone: the heredoc is the script.
      cmd = [...shell, c.heredocs[0]!.content];
    } else if (c.heredocs.length) {
      // The shell reads its own heredocs: the command with them as written.
      cmd = [...shell, [c.shellCmd!, ...c.heredocs.map((h) => `${h.content}${h.name}`)].join('\n')];
    } else cmd = [...shell, c.shellCmd!];
    const visible = this.d.args.visible(state.declared, rc.Env ?? []);
    const saved = visible.filter((kv) => !(BUILTIN_ARGS.has(kv.split('=')[0]!) && !state.declared.has(kv.split('=')[0]!))).sort();
    const saveCmd = saved.length ? [`|${saved.length}`, ...saved, ...cmd] : cmd;
    // RUN --network (BuildKit's) names none, host or the build's own network (default).
    const network = c.network === 'none' || c.network === 'host' ? c.network : this.buildNetwork();
    const mounts = c.mounts.map((m) => ({ ...m, source: m.source ? this.expand(m.source, env, c.line) : undefined, target: this.expand(m.target, env, c.line) }));
    // A bind mount's sources count for the cache like a COPY's.
    const bindSums = mounts.filter((m) => m.type === 'bind' && !m.from).map((m) => this.d.context.checksumOf(path.posix.normalize(m.source ?? '.')));
    // And so does the state of a stage or image a bind mount comes from.
    const fromStates = new Map<string, StageState>();
    for (const m of mounts) if (m.from && !fromStates.has(m.from)) fromStates.set(m.from, await this.fromStateFor(m.from, hooks, w));
    return this.commitStep(state, w, {
      key: ['run', mounts, network, bindSums, [...fromStates.values()].map((f) => f.id)],
      createdBy: saveCmd.join(' '),
      config: rc,
      run: async (rootfs, stepId, tidy) => {
        const cleanups: (() => Promise<void> | void)[] = [];
        try {
          const specMounts: { source: string; destination: string; type?: string; options?: string[] }[] = [];
          for (const m of mounts) {
            const target = path.posix.resolve(rc.WorkingDir || '/', m.target);
            if (m.type === 'cache') {
              const cm = await this.d.cache.acquireMount(m.id ?? target);
              cleanups.push(cm.release);
              if (m.uid !== undefined || m.gid !== undefined) await fsp.chown(cm.dir, m.uid ?? 0, m.gid ?? 0);
              if (m.mode !== undefined) await fsp.chmod(cm.dir, m.mode);
              specMounts.push({ source: cm.dir, destination: target, options: ['rbind', m.readonly ? 'ro' : 'rw'] });
            } else if (m.type === 'tmpfs') {
              specMounts.push({ source: 'tmpfs', destination: target, type: 'tmpfs', options: ['nosuid', 'nodev'] });
            } else {
              let root = this.d.context.root;
              if (m.from) {
                const src = fromStates.get(m.from)!;
                const view = await openStateView(this.fs, src.config.rootfs.diff_ids);
                cleanups.push(view.close);
                root = view.dir;
              }
              const src = await scopedPath(root, m.source ?? '.');
              if (!(await fsp.stat(src).catch(() => undefined))) throw invalid(`failed to compute cache key: "/${m.source ?? ''}" not found`);
              specMounts.push({ source: src, destination: target, options: ['rbind', 'ro'] });
            }
          }
          const attached = await span('build-run-network', () => this.attachNetwork(network, stepId, cleanups));
          const etc = await stepEtcFiles(rootfs, path.join(this.d.tmp, `etc-${stepId.slice(0, 12)}`), stepId.slice(0, 12), attached.step?.NetworkAttachment ?? { mode: network === 'host' ? 'host' : 'none' }, attached.step ? this.d.networks?.dnsServerFor(attached.step) : undefined);
          cleanups.push(etc.done);
          tidy(etc.tidyUpper);
          specMounts.push(...etc.mounts);
          const netns = attached.netns;
          let spec;
          try {
            spec = await buildSpec(
              {
                rootfs,
                args: cmd,
                env: [...(rc.Env ?? []), ...visible],
                cwd: rc.WorkingDir || '/',
                user: rc.User ?? '',
                hostname: stepId.slice(0, 12),
                tty: false,
                cgroupsPath: `/berth/build-${stepId.slice(0, 12)}`,
                namespaces: { network: netns },
                mounts: specMounts,
              },
              { seccompProfilePath: this.d.seccompProfile },
            );
          } catch (err) {
            if (err instanceof SpecError) throw invalid(err.message, err);
            throw err;
          }
          const sink = streamTo(w);
          const { exitCode } = await span('build-run-task', async () => {
            const task = await this.d.tasks.run({ id: stepId, rootfs, spec, stdout: sink, stderr: sink });
            return task.wait();
          });
          if (exitCode !== 0) throw new StepFailedError(`The command '${cmd.join(' ')}' returned a non-zero code: ${exitCode}`, exitCode);
        } finally {
          for (const f of cleanups.reverse()) await f();
        }
      },
    });
  }

  /**
   * The network mode of the build's RUN steps, as dockerd's legacy builder
   * gives its step containers `--network`: "default" (or none given) is the
   * daemon's default, the default bridge (none when the daemon has no
   * bridge); host, none and user-defined networks by name.
   */
  private buildNetwork(): string {
    const m = this.d.req.network;
    if (!m || m === 'default') return this.d.networks?.catalogue.defaultMode() ?? 'none';
    return m;
  }

  /**
   * Attaches a RUN step to `mode` the way a container is attached (the
   * network service: its own namespace on the bridge, an address, the
   * bridge's rules); the release goes into `cleanups`. Returns what the spec
   * joins: a namespace path, "host", or undefined for a new empty one.
   */
  private async attachNetwork(mode: string, stepId: string, cleanups: (() => Promise<void> | void)[]): Promise<{ netns: string | undefined; step?: NetworkedContainer }> {
    if (mode === 'none') return { netns: undefined };
    if (mode === 'host') return { netns: 'host' };
    const networks = this.d.networks;
    if (!networks) throw invalid(`network mode "${mode}" not supported by this builder`);
    if (mode.startsWith('container:')) throw invalid(`network mode "${mode}" is not supported for a build`);
    const step: NetworkedContainer = { Id: stepId, Name: `/build-${stepId.slice(0, 12)}`, HostConfig: { NetworkMode: mode }, Config: {} };
    const noContainers = () => {
      throw invalid('a build step cannot join another container\'s network');
    };
    try {
      const netns = await networks.attach(step, noContainers);
      cleanups.push(() => networks.release(step));
      await networks.ready(step, 0);
      networks.started(step);
      return { netns, step };
    } catch (err) {
      await networks.release(step).catch(() => undefined);
      throw err;
    }
  }

  private async copy(state: StageState, c: Instruction & { kind: 'copy' | 'add' }, env: Env, w: StageWriter, hooks: StageHooks): Promise<StageState> {
    const rc = runConfigOf(state);
    const what = c.kind.toUpperCase();
    const sources = this.expandList(c.sources, env, c.line);
    let dest = this.expand(c.dest, env, c.line);
    const destDir = dest.endsWith('/') || dest === '.' || dest.endsWith('/.');
    dest = path.posix.resolve(rc.WorkingDir || '/', dest);
    const chown = c.chown ? this.expand(c.chown, env, c.line) : undefined;
    const mode = parseChmod(c.chmod);
    const fromState = c.from ? await this.fromStateFor(c.from, hooks, w) : undefined;
    const view = fromState ? await span('build-view', () => openStateView(this.fs, fromState.config.rootfs.diff_ids)) : undefined;
    try {
      const root = view?.dir ?? this.d.context.root;
      // Heredocs are sources of their own: `COPY <<EOF /file`.
      const heredocNames = new Set(c.heredocs.map((h) => h.name));
      const fileSources = sources.filter((s) => !/^<<-?["']?[A-Za-z_]/.test(s) || !heredocNames.has(s.replace(/^<<-?["']?|["']$/g, '')));
      const urls = c.kind === 'add' ? fileSources.filter((s) => /^https?:\/\//.test(s)) : [];
      const local = await span('build-copy-sources', () => resolveSources(root, fileSources.filter((s) => !urls.includes(s)), what));
      const many = local.length + urls.length + c.heredocs.length > 1 || sources.some((s) => /[*?[]/.test(s));
      if (many && !destDir) throw invalid(`When using ${what} with more than one source file, the destination must be a directory and end with a /`);
      const added = await Promise.all(urls.map((u) => addSource(u, this.d.tmp)));
      try {
        const sums: string[] = [];
        for (const s of local) sums.push(`${s.isDir ? 'dir' : 'file'}:${view ? await treeChecksum(s.abs) : this.d.context.checksumOf(s.rel)}`);
        for (const a of added) sums.push(`file:${a.sha256}`);
        for (const h of c.heredocs) sums.push(`file:${createHash('sha256').update(h.content).digest('hex')}`);
        const srcHash = sums.length === 1 ? sums[0]! : `multi:${createHash('sha256').update(sums.join(',')).digest('hex')}`;
        const chownComment = chown ? `--chown=${chown} ` : '';
        // The comment keeps the destination's trailing slash, as dockerd's normalized dest does.
        const destText = destDir && !dest.endsWith('/') ? `${dest}/` : dest;
        const createdBy = [...this.shellOf(state), `#(nop) ${what} ${chownComment}${srcHash} in ${destText} `].join(' ');
        return await this.commitStep(state, w, {
          key: [what, chown ?? '', mode ?? '', c.link, destDir, fromState?.id ?? ''],
          createdBy,
          config: rc,
          noContainer: true,
          run: async (rootfs) => {
            const owner = chown ? await ownerIn(rootfs, chown) : { uid: 0, gid: 0 };
            const target = async (name: string) => {
              if (!destDir) {
                const st = await fsp.stat(await scopedPath(rootfs, dest)).catch(() => undefined);
                if (!st?.isDirectory()) return dest;
              }
              return path.posix.join(dest, name);
            };
            await span('build-copy-files', async () => {
              for (const s of local) {
                if (c.kind === 'add' && !s.isDir && (await unpackArchive(s.abs, rootfs, dest, this.d.tmp, chown ? owner : undefined))) continue;
                if (s.isDir) await copyInto(rootfs, s.abs, dest, { owner, mode });
                else await copyInto(rootfs, s.abs, await target(s.name), { owner, mode });
              }
            });
            for (const a of added) await copyInto(rootfs, a.file, await target(a.name), { owner, mode: mode ?? 0o600 });
            for (const h of c.heredocs) {
              const tmpFile = path.join(this.d.tmp, `heredoc-${randomId().slice(0, 12)}`);
              await fsp.writeFile(tmpFile, h.quoted ? h.content : this.expand(h.content.replace(/"/g, '\\"'), env, c.line), { mode: 0o644 });
              try {
                await copyInto(rootfs, tmpFile, await target(h.name), { owner, mode: mode ?? 0o644 });
              } finally {
                await fsp.rm(tmpFile, { force: true });
              }
            }
          },
        });
      } finally {
        for (const a of added) await fsp.rm(a.file, { force: true });
      }
    } finally {
      await view?.close();
    }
  }

  /** The state COPY --from or RUN --mount from= names: an earlier stage, else an image (pulled when not here, as dockerd's imageSources.Get). */
  private async fromStateFor(name: string, hooks: StageHooks, w: StageWriter): Promise<StageState> {
    const st = hooks.stageResult(name);
    if (st) return st;
    if (name.toLowerCase() === 'scratch') throw invalid('invalid from flag value scratch: scratch is not a stage or an image');
    const img = await this.d.base.get(name, (m) => w.progress(m));
    const top = chainIds(img.config.rootfs.diff_ids).at(-1);
    if (top) this.d.lease.addSnapshot(top);
    return { config: img.config, id: img.id, declared: new Map() };
  }
}

function randomId(): string {
  return createHash('sha256').update(`${process.hrtime.bigint()}-${Math.random()}`).digest('hex');
}

/** A task's output as stream messages, UTF-8 sequences kept whole across chunks. */
function streamTo(w: StageWriter): Writable {
  const dec = new StringDecoder('utf8');
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      const s = dec.write(chunk);
      if (s) w.stream(s);
      cb();
    },
    final(cb) {
      const s = dec.end();
      if (s) w.stream(s);
      cb();
    },
  });
}

/** Go's %q of a []string: ["a" "b"]. */
function goQuoteList(v: string[]): string {
  return `[${v.map((s) => JSON.stringify(s)).join(' ')}]`;
}

/** HEALTHCHECK durations: Go's time.ParseDuration, in nanoseconds. */
function goDuration(s: string, flag: string): number {
  const units: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let pos = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * units[m[2]!]!;
    pos = re.lastIndex;
  }
  if (pos !== s.length || s === '') throw invalid(`time: invalid duration "${s}" for --${flag}`);
  return Math.round(total);
}

function retriesOf(s: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0) throw invalid(`invalid argument "${s}" for --retries`);
  return n;
}

/** `--chown` in the step's root filesystem (names from its /etc/passwd and /etc/group). */
async function ownerIn(rootfs: string, chown: string): Promise<{ uid: number; gid: number }> {
  try {
    const u = await resolveUser(rootfs, chown.includes(':') ? chown : `${chown}:${/^\d+$/.test(chown) ? chown : ''}`.replace(/:$/, ''));
    if (!chown.includes(':')) return { uid: u.uid, gid: /^\d+$/.test(chown) ? u.uid : u.gid };
    return { uid: u.uid, gid: u.gid };
  } catch (err) {
    throw invalid(`unable to convert uid/gid chown string to host mapping: ${(err as Error).message}`);
  }
}

/** A checksum of a tree outside the context (COPY --from): paths, modes, owners, sizes, contents. */
async function treeChecksum(abs: string): Promise<string> {
  const h = createHash('sha256');
  const visit = async (p: string, rel: string): Promise<void> => {
    const st = await fsp.lstat(p);
    h.update(`${rel}\0${st.mode}\0${st.uid}:${st.gid}\0${st.size}\0`);
    if (st.isSymbolicLink()) h.update(await fsp.readlink(p));
    else if (st.isFile()) h.update(createHash('sha256').update(await fsp.readFile(p)).digest('hex'));
    else if (st.isDirectory()) for (const n of (await fsp.readdir(p)).sort()) await visit(path.join(p, n), `${rel}/${n}`);
  };
  await visit(abs, '');
  return h.digest('hex');
}

