/**
 * @module engine/build/base-image
 * The images a build starts from (FROM) or copies from (COPY --from=<image>,
 * RUN --mount from=<image>), found the way dockerd's legacy builder finds
 * them (daemon/images GetImageAndReleasableLayer + pullForBuilder):
 * - the local image when there is one, unless `--pull` asked for a fresh
 *   pull (PullOptionForcePull);
 * - else pulled through the registry client, by the name with `:latest`
 *   added when it has neither tag nor digest, with the credentials the
 *   client sent for that registry (`X-Registry-Config`); the pull's
 *   progress messages go into the build's stream as dockerd's do;
 * - a name is pulled once per build, even when parallel stages name it.
 * A name that is an image ID never pulls.
 */
import {
  referenceString,
  type Reference,
} from '../../common/reference/reference.js';
import { EngineError } from '../errors.js';
import type { ImageService } from '../image/service.js';
import type { ImageRecord } from '../image/types.js';
import type { AuthConfig } from '../distribution/auth.js';
import { DEFAULT_REGISTRY } from '../distribution/hosts.js';
import { parseRemoteName } from '../distribution/service.js';
import type { ProgressSink } from '../distribution/progress.js';

/** What the builder needs of the registry client: a pull with dockerd's progress (DistributionService.pull). */
export type ImagePuller = (name: string, o: { tag?: string; auth?: AuthConfig }, sink: ProgressSink) => Promise<void>;

/** The registry a credential key names: "https://index.docker.io/v1/" → docker.io (registry.ConvertToHostname, then the index's name). */
function registryOfKey(key: string): string {
  const host = key.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  if (host === 'index.docker.io' || host === 'registry-1.docker.io' || host === 'docker.io') return DEFAULT_REGISTRY;
  return host;
}

/** The credentials for `ref`'s registry among those the client sent (registry.ResolveAuthConfig). */
export function authFor(configs: Record<string, AuthConfig>, ref: Reference): AuthConfig | undefined {
  for (const [key, cfg] of Object.entries(configs)) if (registryOfKey(key) === ref.domain) return cfg;
  return undefined;
}

export class BaseImages {
  /** Pulls in flight or done in this build, by the reference pulled. */
  private readonly pulls = new Map<string, Promise<void>>();

  constructor(
    private readonly images: ImageService,
    private readonly pull: ImagePuller | undefined,
    private readonly o: { forcePull: boolean; authConfigs: Record<string, AuthConfig> },
  ) {}

  /** The image `name` names, pulled first when it is not here (or `--pull`); messages go to `sink`. */
  async get(name: string, sink: ProgressSink): Promise<ImageRecord> {
    // An image ID (full, or sha256:-prefixed) is never pulled: there is no name to pull.
    const isId = /^sha256:/.test(name) || /^[0-9a-f]{64}$/.test(name);
    if (!this.o.forcePull || isId) {
      const local = this.images.store.find(name);
      if (local) return local;
      if (isId) throw new EngineError('notfound', `No such image: ${name}`);
    }
    let ref: Reference = parseRemoteName(name);
    if (!ref.tag && !ref.digest) ref = { ...ref, tag: 'latest' };
    const key = referenceString(ref);
    let p = this.pulls.get(key);
    if (!p) {
      if (!this.pull) throw new EngineError('notfound', `pull access denied for ${name}, repository does not exist or may require 'docker login'`);
      p = this.pull(`${ref.domain}/${ref.path}`, { tag: ref.digest ?? ref.tag, auth: authFor(this.o.authConfigs, ref) }, sink);
      this.pulls.set(key, p);
    }
    await p;
    const img = this.images.store.find(key);
    if (!img) throw new EngineError('notfound', `No such image: ${name}`);
    return img;
  }
}
