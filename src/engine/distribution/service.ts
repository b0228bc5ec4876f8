/**
 * @module engine/distribution/service
 * The registry client as the engine offers it: pull, push, login (checking
 * credentials), search and the distribution inspect, for both front ends.
 * It picks endpoints (mirrors, insecure, certs.d), falls back from one to
 * the next where dockerd does (a mirror that fails, an endpoint that cannot
 * be reached before anything was pulled), and turns registry errors into
 * dockerd's messages and error kinds.
 */
import path from 'node:path';
import type { Digest } from '../../common/reference/digest.js';
import {
  familiarName,
  familiarString,
  InvalidReferenceError,
  parseNormalizedNamed,
  referenceString,
  withTag,
  type Reference,
} from '../../common/reference/reference.js';
import type { Platform } from '../../common/oci.js';
import type { ContentStore } from '../content/content.js';
import { EngineError, errorMessage, invalid } from '../errors.js';
import type { ImageService } from '../image/service.js';
import { AuthError, Authorizer, type AuthConfig } from './auth.js';
import { DEFAULT_REGISTRY, endpointsFor, INDEX_SERVER, type Endpoint, type RegistryOptions } from './hosts.js';
import { resolveImage, platformString, sha256Digest, type ResolvedImage } from './manifest.js';
import { DistributionMetadata } from './metadata.js';
import { message, type ProgressSink } from './progress.js';
import { pullResolved, type PullContext } from './pull.js';
import { pushImage } from './push.js';
import { ping, RegistryError, RepositoryClient, TransportError } from './registry.js';
import { readBody } from './transport.js';
import { searchRegistry, type SearchResult } from './search.js';

export const DEFAULT_REGISTRY_OPTIONS: Omit<RegistryOptions, 'certsDir'> = {
  mirrors: [],
  insecure: [],
  maxConcurrentDownloads: 3,
  maxConcurrentUploads: 5,
  maxDownloadAttempts: 5,
};

export interface PullOptions {
  /** A tag or digest; empty with allTags pulls every tag. */
  tag?: string;
  platform?: Platform;
  auth?: AuthConfig;
}

/** Parses a name the way the API's fromImage / push name is parsed; malformed → 400 "invalid reference format". */
export function parseRemoteName(s: string): Reference {
  try {
    return parseNormalizedNamed(s);
  } catch (err) {
    if (err instanceof InvalidReferenceError) throw invalid(err.message);
    throw err;
  }
}

function translatePullError(err: unknown, ref: Reference): unknown {
  if (err instanceof RegistryError) {
    switch (err.code) {
      case 'DENIED':
        return new EngineError('notfound', `pull access denied for ${familiarName(ref)}, repository does not exist or may require 'docker login': ${err.message}`);
      case 'MANIFEST_UNKNOWN':
        return new EngineError('notfound', `manifest for ${familiarString(ref)} not found: ${err.message}`);
      case 'NAME_UNKNOWN':
        return new EngineError('notfound', `repository ${familiarName(ref)} not found: ${err.message}`);
      case 'UNAUTHORIZED':
        return new EngineError('unauthorized', err.message);
    }
    if (err.code) return new EngineError(err.status === 404 ? 'notfound' : 'system', err.message);
    if (err.status === 404 && err.message.includes('/manifests/')) return new EngineError('notfound', `manifest for ${familiarString(ref)} not found: manifest unknown`);
    return new EngineError('system', err.message);
  }
  if (err instanceof AuthError) return new EngineError(err.status === 401 ? 'unauthorized' : 'system', err.message);
  if (err instanceof TransportError) return new EngineError('system', err.message);
  return err;
}

export class DistributionService {
  readonly ctx: PullContext;
  /** Per registry, the endpoint URL that last answered. */
  private readonly preferred = new Map<string, string>();

  private constructor(
    private readonly images: ImageService,
    content: ContentStore,
    readonly metadata: DistributionMetadata,
    readonly opts: RegistryOptions,
  ) {
    this.ctx = {
      images,
      content,
      metadata,
      maxConcurrentDownloads: opts.maxConcurrentDownloads,
      maxDownloadAttempts: opts.maxDownloadAttempts,
      // dockerd's xfer download manager: 5 s × the number of failures so far.
      retryDelaySeconds: (n) => 5 * n,
      retryTickMs: opts.retryTickMs ?? 1000,
    };
  }

  static async open(images: ImageService, content: ContentStore, dataRoot: string, opts: RegistryOptions): Promise<DistributionService> {
    const metadata = await DistributionMetadata.open(path.join(dataRoot, 'distribution', 'v2metadata-by-diffid'));
    return new DistributionService(images, content, metadata, opts);
  }

  /** The endpoints of a registry, the one that answered last time first (an insecure registry's HTTP after HTTPS failed). */
  private async endpoints(registry: string, o: { push?: boolean } = {}): Promise<Endpoint[]> {
    const eps = await endpointsFor(registry, this.opts, o);
    const pref = this.preferred.get(registry);
    if (!pref) return eps;
    const mirrors = eps.filter((e) => e.mirror);
    const rest = eps.filter((e) => !e.mirror);
    rest.sort((a, b) => Number(b.url === pref) - Number(a.url === pref));
    return [...mirrors, ...rest];
  }

  private worked(ep: Endpoint): void {
    if (!ep.mirror) this.preferred.set(ep.registry, ep.url);
  }

  private repoOn(ep: Endpoint, ref: Reference, auth: AuthConfig | undefined, actions: ('pull' | 'push')[]): RepositoryClient {
    return new RepositoryClient(ep, ref.path, new Authorizer(auth ?? {}, ep), actions);
  }

  /** Tries each endpoint for the manifest; the first that answers is the one the pull uses. */
  private async resolve(ref: Reference, reference: string, o: PullOptions): Promise<{ repo: RepositoryClient; resolved: ResolvedImage }> {
    const eps = await this.endpoints(ref.domain);
    let last: unknown;
    for (const ep of eps) {
      const repo = this.repoOn(ep, ref, o.auth, ['pull']);
      try {
        const resolved = await resolveImage(repo, reference, o.platform);
        this.worked(ep);
        return { repo, resolved };
      } catch (err) {
        last = err;
        // dockerd's continueOnError: a mirror may fail in any way; the origin only when it could not be reached.
        if (ep.mirror || err instanceof TransportError) continue;
        throw err;
      }
    }
    throw last;
  }

  /** Tags of a repository (`pull -a`). */
  private async listTags(ref: Reference, o: PullOptions): Promise<string[]> {
    const eps = await this.endpoints(ref.domain);
    let last: unknown;
    for (const ep of eps) {
      const repo = this.repoOn(ep, ref, o.auth, ['pull']);
      try {
        const res = await repo.request('tags/list', { ok: [200] });
        this.worked(ep);
        const j = JSON.parse((await readBody(res)).toString()) as { tags?: string[] | null };
        return (j.tags ?? []).sort();
      } catch (err) {
        last = err;
        if (ep.mirror || err instanceof TransportError) continue;
        throw err;
      }
    }
    throw last;
  }

  /**
   * `POST /images/create?fromImage=`: pulls `name` (with `o.tag`: a tag or a
   * digest; none: every tag) and reports dockerd's progress to `sink`.
   * Errors before the first message are thrown (the API answers with a
   * status); later ones too (the API writes them into the stream).
   */
  async pull(name: string, o: PullOptions, sink: ProgressSink): Promise<void> {
    let ref = parseRemoteName(name);
    if (o.tag) {
      if (o.tag.includes(':')) {
        if (!/^sha256:[0-9a-f]{64}$/.test(o.tag)) throw invalid(`invalid reference format`);
        ref = { domain: ref.domain, path: ref.path, digest: o.tag };
      } else {
        try {
          ref = withTag({ domain: ref.domain, path: ref.path }, o.tag);
        } catch (err) {
          throw invalid((err as Error).message);
        }
      }
    }
    const allTags = !ref.tag && !ref.digest;
    const tags = allTags ? await this.listTags(ref, o).catch((err) => Promise.reject(translatePullError(err, ref))) : [undefined];
    let fresh = false;
    let lastDigest: Digest | undefined;
    for (const t of tags) {
      const one = t ? withTag(ref, t) : ref;
      const reference = one.digest ?? one.tag!;
      try {
        const { repo, resolved } = await this.resolve(one, reference, o);
        sink(message(`Pulling from ${familiarName({ domain: '', path: one.path })}`, reference));
        const tagRefs = [referenceString({ domain: one.domain, path: one.path, digest: resolved.index?.digest ?? resolved.digest })];
        if (one.tag) tagRefs.unshift(referenceString(one));
        const sourceRepository = `${ref.domain}/${ref.path}`;
        const pulled = await pullResolved(this.ctx, repo, sourceRepository, resolved, tagRefs, sink);
        fresh ||= pulled.fresh;
        lastDigest = resolved.index?.digest ?? resolved.digest;
        sink(message(`Digest: ${lastDigest}`));
        this.images.eventLog?.publish('image', 'pull', familiarString(one), { name: familiarString(one) });
      } catch (err) {
        throw translatePullError(err, one);
      }
      if (!allTags) {
        sink(message(pulled_(fresh, familiarString(one))));
        return;
      }
    }
    void lastDigest;
    sink(message(pulled_(fresh, familiarName(ref))));
  }

  /** `POST /images/{name}/push`. */
  async push(name: string, tag: string | undefined, auth: AuthConfig | undefined, sink: ProgressSink): Promise<void> {
    const ref = parseRemoteName(name);
    let refs: Reference[];
    const named = tag ? ((): Reference => {
      try {
        return withTag({ domain: ref.domain, path: ref.path }, tag);
      } catch (err) {
        throw invalid((err as Error).message);
      }
    })() : ref.tag ? ref : undefined;
    if (named) {
      refs = [named];
      if (!this.images.store.find(referenceString(named))) throw new EngineError('notfound', `An image does not exist locally with the tag: ${familiarName(named)}`);
    } else {
      // No tag: every tag of the repository (docker push -a).
      const prefix = `${ref.domain}/${ref.path}:`;
      refs = this.images.store
        .list()
        .flatMap((img) => this.images.store.refsOf(img.id))
        .filter((r) => r.startsWith(prefix) && !r.includes('@'))
        .map((r) => withTag({ domain: ref.domain, path: ref.path }, r.slice(prefix.length)))
        .sort((a, b) => a.tag!.localeCompare(b.tag!));
      if (!refs.length) throw new EngineError('notfound', `An image does not exist locally with the tag: ${familiarName(ref)}`);
    }
    // The endpoint is chosen before any message: a push does not start over on another endpoint halfway.
    const ep = await this.reachable(ref.domain, { push: true });
    sink(message(`The push refers to repository [${ref.domain}/${ref.path}]`));
    let last: unknown;
    try {
      const repo = this.repoOn(ep, ref, auth, ['pull', 'push']);
      for (const r of refs) await pushImage(this, repo, r, this.images.store.resolve(referenceString(r)), sink);
      for (const r of refs) this.images.eventLog?.publish('image', 'push', familiarString(r), { name: familiarString(r) });
      return;
    } catch (err) {
      last = err;
    }
    if (last instanceof RegistryError) {
      if (last.code === 'UNAUTHORIZED' || last.code === 'DENIED') throw new EngineError(last.code === 'UNAUTHORIZED' ? 'unauthorized' : 'forbidden', last.message);
      throw new EngineError('system', last.message);
    }
    if (last instanceof AuthError) throw new EngineError(last.status === 401 ? 'unauthorized' : 'system', last.message);
    throw last;
  }

  /** The first endpoint of a registry that speaks HTTP at all (GET /v2/ answers, whatever the status). */
  private async reachable(registry: string, o: { push?: boolean } = {}): Promise<Endpoint> {
    const eps = (await this.endpoints(registry, o)).filter((e) => !e.mirror);
    let last: unknown;
    for (const ep of eps) {
      try {
        await ping(ep, new Authorizer({}, ep));
        this.worked(ep);
        return ep;
      } catch (err) {
        // A registry answers 401 to an anonymous ping; anything else (an HTTPS port's 400 to plain HTTP) is not it.
        if (err instanceof RegistryError && err.status === 401) {
          this.worked(ep);
          return ep;
        }
        last = err;
      }
    }
    throw new EngineError('system', errorMessage(last));
  }

  /** `POST /auth`: checks credentials against the registry's /v2/. */
  async login(cfg: AuthConfig): Promise<{ Status: string; IdentityToken: string }> {
    const server = cfg.serveraddress || INDEX_SERVER;
    const registry = registryOfServerAddress(server);
    const eps = await this.endpoints(registry, { push: true });
    let last: unknown;
    for (const ep of eps) {
      try {
        await ping(ep, new Authorizer(cfg, ep));
        this.worked(ep);
        return { Status: 'Login Succeeded', IdentityToken: '' };
      } catch (err) {
        last = err;
        if (err instanceof TransportError) continue;
        break;
      }
    }
    if (last instanceof RegistryError || last instanceof AuthError) {
      const status = last instanceof RegistryError ? last.status : last.status;
      throw new EngineError(status === 401 ? 'unauthorized' : 'system', last.message);
    }
    throw new EngineError('system', errorMessage(last));
  }

  /** `GET /images/search`. */
  async search(term: string, limit: number, auth: AuthConfig | undefined): Promise<SearchResult[]> {
    return searchRegistry(term, limit, auth, this.opts);
  }

  /** `GET /distribution/{name}/json`: the descriptor a name resolves to and the platforms it offers. */
  async inspect(name: string, auth: AuthConfig | undefined): Promise<{ Descriptor: { mediaType: string; digest: string; size: number }; Platforms: Platform[] }> {
    let ref = parseRemoteName(name);
    if (!ref.tag && !ref.digest) ref = withTag(ref, 'latest');
    const reference = ref.digest ?? ref.tag!;
    try {
      const { resolved } = await this.resolve(ref, reference, { auth });
      if (resolved.index) return { Descriptor: { mediaType: resolved.index.mediaType, digest: resolved.index.digest, size: resolved.index.size }, Platforms: resolved.index.platforms };
      const cfgPlatform = await this.configPlatform(ref, resolved, auth).catch(() => undefined);
      return { Descriptor: { mediaType: resolved.mediaType, digest: resolved.digest, size: resolved.size }, Platforms: cfgPlatform ? [cfgPlatform] : [] };
    } catch (err) {
      const t = translatePullError(err, ref);
      if (t instanceof EngineError && t.kind === 'notfound') throw new EngineError('unauthorized', t.message);
      throw t;
    }
  }

  private async configPlatform(ref: Reference, r: ResolvedImage, auth: AuthConfig | undefined): Promise<Platform | undefined> {
    const eps = await endpointsFor(ref.domain, this.opts);
    const repo = this.repoOn(eps[eps.length - 1]!, ref, auth, ['pull']);
    const { res } = await repo.getBlob(r.manifest.config.digest);
    const body = await readBody(res);
    if (sha256Digest(body) !== r.manifest.config.digest) return undefined;
    const c = JSON.parse(body.toString()) as Platform;
    return { architecture: c.architecture, os: c.os, ...(c.variant ? { variant: c.variant } : {}) };
  }

  /** The platform string a pull was asked for, for messages. */
  static describe(p: Platform): string {
    return platformString(p);
  }
}

function pulled_(fresh: boolean, name: string): string {
  return fresh ? `Status: Downloaded newer image for ${name}` : `Status: Image is up to date for ${name}`;
}

/** The registry a login's server address names: "https://index.docker.io/v1/" → docker.io, "localhost:5000" → itself. */
export function registryOfServerAddress(server: string): string {
  const s = server.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  if (s === 'index.docker.io' || s === 'registry-1.docker.io' || s === 'docker.io' || s === '') return DEFAULT_REGISTRY;
  return s;
}
