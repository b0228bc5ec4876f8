/**
 * The rows `ps` and `images` render through --format templates: docker's
 * ContainerContext and ImageContext fields (formatter/container.go,
 * formatter/image.go) computed from the API's summaries, plus their column
 * headers and default formats.
 */
import type { ContainerSummary, ImageSummary } from '../common/api/index.js';
import { humanSize, imageSize } from '../common/units.js';
import { familiarName, familiarString, parseNormalizedNamed, type Reference } from '../common/reference/reference.js';
import { createdAgo, ellipsis, formatPorts, shortId, truncateCommand } from './format/container.js';
import type { TemplateFunc } from './format/template.js';
import { goTimeString } from './gotime.js';

export const containerHeaders: Record<string, string> = {
  ID: 'CONTAINER ID',
  Names: 'NAMES',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Ports: 'PORTS',
  State: 'STATE',
  Status: 'STATUS',
  Size: 'SIZE',
  Labels: 'LABELS',
  Mounts: 'MOUNTS',
  LocalVolumes: 'LOCAL VOLUMES',
  Networks: 'NETWORKS',
  Platform: 'PLATFORM',
};

export const defaultContainerTableFormat = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';

const rawContainerFormat = `container_id: {{.ID}}
image: {{.Image}}
command: {{.Command}}
created_at: {{.CreatedAt}}
state: {{- pad .State 1 0}}
status: {{- pad .Status 1 0}}
names: {{.Names}}
labels: {{- pad .Labels 1 0}}
ports: {{- pad .Ports 1 0}}
`;

/** formatter.NewContainerFormat. */
export function containerFormat(source: string, quiet: boolean, size: boolean): string {
  if (source === 'table' || source === '') {
    if (quiet) return '{{.ID}}';
    return defaultContainerTableFormat + (size ? '\t{{.Size}}' : '');
  }
  if (source === 'raw') {
    if (quiet) return 'container_id: {{.ID}}';
    return rawContainerFormat + (size ? 'size: {{.Size}}\n' : '');
  }
  return quiet ? '{{.ID}}' : source;
}

function tryParse(s: string): Reference | undefined {
  try {
    return parseNormalizedNamed(s);
  } catch {
    return undefined;
  }
}

/** ContainerContext.Image: short ID for ID-only images, else the familiar name without digest. */
function containerImage(c: ContainerSummary, trunc: boolean): string {
  const image = c.Image ?? '';
  if (image === '') return '<no image>';
  if (!trunc) return image;
  const short = shortId(c.ImageID ?? '');
  if (short === shortId(image)) return short;
  const ref = tryParse(image);
  if (!ref) return image;
  return familiarString({ domain: ref.domain, path: ref.path, tag: ref.tag });
}

/** One `ps` row; `trunc` is !--no-trunc. */
export function containerRow(c: ContainerSummary, trunc: boolean, now = new Date()): Record<string, unknown> {
  const names = (c.Names ?? []).map((n) => n.replace(/^\//, ''));
  const labels = c.Labels ?? {};
  const mounts = (c.Mounts ?? []).map((m) => {
    const name = m.Name || m.Source || '';
    return trunc ? ellipsis(name, 15) : name;
  });
  const size = (() => {
    const srw = imageSize(c.SizeRw ?? 0);
    return (c.SizeRootFs ?? 0) > 0 ? `${srw} (virtual ${imageSize(c.SizeRootFs!)})` : srw;
  })();
  return {
    ID: trunc ? shortId(c.Id) : c.Id,
    // Truncated output shows one name: the first that is not a legacy link ("/other/alias").
    Names: trunc ? (names.find((n) => !n.includes('/')) ?? '') : names.join(','),
    Image: containerImage(c, trunc),
    Command: truncateCommand(c.Command ?? '', trunc ? 20 : Infinity),
    CreatedAt: goTimeString(c.Created),
    RunningFor: createdAgo(c.Created, now),
    Ports: formatPorts(c.Ports ?? []),
    State: c.State ?? '',
    Status: c.Status ?? '',
    Size: size,
    Labels: Object.entries(labels).map(([k, v]) => `${k}=${v}`).sort().join(','),
    Mounts: mounts.join(','),
    LocalVolumes: String((c.Mounts ?? []).filter((m) => m.Driver === 'local').length),
    Networks: Object.keys(c.NetworkSettings?.Networks ?? {}).join(','),
    Platform: null,
    Label: (name: string) => labels[name] ?? '',
  };
}

export const imageHeaders: Record<string, string> = {
  ID: 'IMAGE ID',
  Repository: 'REPOSITORY',
  Tag: 'TAG',
  Digest: 'DIGEST',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  Size: 'SIZE',
  Containers: 'CONTAINERS',
  VirtualSize: 'SIZE',
  SharedSize: 'SHARED SIZE',
  UniqueSize: 'UNIQUE SIZE',
};

const defaultImageTableFormat = 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}';
const defaultImageTableFormatWithDigest =
  'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}';

/** formatter.NewImageFormat. */
export function imageFormat(source: string, quiet: boolean, digest: boolean): string {
  if (source === 'table') return quiet ? '{{.ID}}' : digest ? defaultImageTableFormatWithDigest : defaultImageTableFormat;
  if (source === 'raw') {
    if (quiet) return 'image_id: {{.ID}}';
    return digest
      ? 'repository: {{ .Repository }}\ntag: {{.Tag}}\ndigest: {{.Digest}}\nimage_id: {{.ID}}\ncreated_at: {{.CreatedAt}}\nvirtual_size: {{.Size}}\n'
      : 'repository: {{ .Repository }}\ntag: {{.Tag}}\nimage_id: {{.ID}}\ncreated_at: {{.CreatedAt}}\nvirtual_size: {{.Size}}\n';
  }
  if (source.startsWith('table') && digest && !source.includes('{{.Digest}}')) return `${source}\t{{.Digest}}`;
  return source;
}

function isDangling(img: ImageSummary): boolean {
  const tags = img.RepoTags ?? [];
  const digests = img.RepoDigests ?? [];
  if (!tags.length && !digests.length) return true;
  return tags.length === 1 && tags[0] === '<none>:<none>' && digests.length === 1 && digests[0] === '<none>@<none>';
}

function imageRow(img: ImageSummary, trunc: boolean, repo: string, tag: string, digest: string, now: Date): Record<string, unknown> {
  const size = img.Size ?? 0;
  const shared = img.SharedSize ?? 0;
  const containers = img.Containers ?? 0;
  return {
    ID: trunc ? shortId(img.Id) : img.Id,
    Repository: repo,
    Tag: tag,
    Digest: digest,
    CreatedSince: createdAgo(img.Created, now),
    CreatedAt: goTimeString(img.Created),
    Size: imageSize(size),
    Containers: containers === -1 ? 'N/A' : String(containers),
    VirtualSize: humanSize(size),
    SharedSize: shared === -1 ? 'N/A' : humanSize(shared),
    UniqueSize: size === -1 || shared === -1 ? 'N/A' : humanSize(size - shared),
  };
}

/**
 * The rows of one image (formatter.imageFormat): one per repository:tag, or
 * per digest when digests are shown; dangling images are <none> <none>.
 */
export function imageRows(img: ImageSummary, o: { trunc: boolean; showDigests: boolean; needDigest: boolean }, now = new Date()): Record<string, unknown>[] {
  if (isDangling(img)) return [imageRow(img, o.trunc, '<none>', '<none>', '<none>', now)];
  const repoTags = new Map<string, string[]>();
  const repoDigests = new Map<string, string[]>();
  for (const s of img.RepoTags ?? []) {
    const ref = tryParse(s);
    if (ref?.tag === undefined) continue;
    const name = familiarName(ref);
    repoTags.set(name, [...(repoTags.get(name) ?? []), ref.tag]);
  }
  for (const s of img.RepoDigests ?? []) {
    const ref = tryParse(s);
    if (ref?.digest === undefined) continue;
    const name = familiarName(ref);
    repoDigests.set(name, [...(repoDigests.get(name) ?? []), ref.digest]);
  }
  const rows: Record<string, unknown>[] = [];
  for (const [repo, tags] of repoTags) {
    const digests = o.needDigest ? (repoDigests.get(repo) ?? []) : [];
    repoDigests.delete(repo);
    for (const tag of tags) {
      if (!digests.length) rows.push(imageRow(img, o.trunc, repo, tag, '<none>', now));
      for (const d of digests) rows.push(imageRow(img, o.trunc, repo, tag, d, now));
    }
  }
  for (const [repo, digests] of repoDigests) {
    if (o.showDigests) for (const d of digests) rows.push(imageRow(img, o.trunc, repo, '<none>', d, now));
    else rows.push(imageRow(img, o.trunc, repo, '<none>', '', now));
  }
  return rows;
}

/**
 * {{json .}} over a whole row goes through Go's json.Marshal in docker,
 * which escapes <, > and &; a field on its own does not.
 */
export const rowTemplateFuncs: Record<string, TemplateFunc> = {
  json: ((v: unknown) => {
    const s = JSON.stringify(v) ?? 'null';
    const escaped = v !== null && typeof v === 'object' && !Array.isArray(v) ? s.replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`) : s;
    return escaped.replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  }) as TemplateFunc,
};
