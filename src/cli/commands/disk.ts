/**
 * `berth system df [-v]` and `berth system prune`: docker v28's
 * (cli/command/system/df.go, prune.go, formatter/disk_usage.go). The
 * summary is computed from GET /system/df as docker computes it; prune runs
 * the per-resource prunes one after another and adds up what each freed.
 */
import type { Command } from 'commander';
import type { BuildCache, ContainerPruneResponse, Filters, ImagePruneResponse, NetworkPruneResponse, SystemDataUsageResponse, VolumePruneResponse } from '../../common/api/index.js';
import { humanDuration, humanSize, humanSizeWithPrecision } from '../../common/units.js';
import type { Cli } from '../cli.js';
import { defineCommand, defineGroup } from '../command.js';
import { StatusError } from '../errors.js';
import { formatWithTemplate } from '../format/template.js';
import { parseFilter } from '../opts.js';
import { containerHeaders, containerRow, imageHeaders, imageRows, rowTemplateFuncs } from '../rows.js';

/** POST /build/prune's answer. */
interface BuildCachePruneResponse {
  CachesDeleted: string[] | null;
  SpaceReclaimed: number;
}

const pct = (part: number, total: number) => (total > 0 ? `${humanSize(part)} (${Math.floor((part * 100) / total)}%)` : humanSize(part));

/** docker's BuilderSize: the cache records not shared with images. */
function builderSize(cache: BuildCache[]): number {
  return cache.filter((c) => !c.Shared).reduce((n, c) => n + c.Size, 0);
}

/** The four summary rows (formatter.DiskUsageContext.Write). */
function summaryRows(du: SystemDataUsageResponse): Record<string, string>[] {
  let usedByContainers = 0;
  for (const i of du.Images) if (i.Containers !== 0 && i.SharedSize !== -1) usedByContainers += i.Size - i.SharedSize;
  const ctrSize = du.Containers.reduce((n, c) => n + (c.SizeRw ?? 0), 0);
  const ctrReclaimable = du.Containers.filter((c) => c.State !== 'running' && c.State !== 'paused' && c.State !== 'restarting').reduce((n, c) => n + (c.SizeRw ?? 0), 0);
  const vols = du.Volumes.filter((v) => (v.UsageData?.Size ?? -1) !== -1);
  const volSize = vols.reduce((n, v) => n + v.UsageData!.Size, 0);
  const volReclaimable = vols.filter((v) => v.UsageData!.RefCount === 0).reduce((n, v) => n + v.UsageData!.Size, 0);
  const cache = du.BuildCache;
  const bsz = builderSize(cache);
  const cacheInUse = cache.filter((c) => c.InUse && !c.Shared).reduce((n, c) => n + c.Size, 0);
  return [
    { Type: 'Images', TotalCount: String(du.Images.length), Active: String(du.Images.filter((i) => i.Containers > 0).length), Size: humanSize(du.LayersSize), Reclaimable: pct(du.LayersSize - usedByContainers, du.LayersSize) },
    { Type: 'Containers', TotalCount: String(du.Containers.length), Active: String(du.Containers.filter((c) => c.State === 'running' || c.State === 'paused').length), Size: humanSize(ctrSize), Reclaimable: ctrSize > 0 ? pct(ctrReclaimable, ctrSize) : humanSize(ctrReclaimable) },
    { Type: 'Local Volumes', TotalCount: String(du.Volumes.length), Active: String(du.Volumes.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length), Size: humanSize(volSize), Reclaimable: pct(volReclaimable, volSize) },
    { Type: 'Build Cache', TotalCount: String(cache.length), Active: String(cache.filter((c) => c.InUse).length), Size: humanSize(bsz), Reclaimable: humanSize(bsz - cacheInUse) },
  ];
}

const since = (iso: string | undefined, now: Date) => (iso ? `${humanDuration(now.getTime() - Date.parse(iso))} ago` : '');

/** `df -v`'s four tables (verboseWriteTable). */
function verboseTables(du: SystemDataUsageResponse): string {
  const now = new Date();
  const images = du.Images.flatMap((img) => {
    // Only the first tag, as docker shows it.
    const first = img.RepoTags?.[0];
    let rows = imageRows({ ...img, RepoTags: first && first !== '<none>:<none>' ? [first] : [], RepoDigests: [] }, { trunc: true, showDigests: false, needDigest: false }, now);
    if (first && !rows.length) rows = imageRows({ ...img, RepoTags: [], RepoDigests: [] }, { trunc: true, showDigests: false, needDigest: false }, now);
    return rows.map((r) => ({ ...r, Size: humanSizeWithPrecision(img.Size, 3) }));
  });
  const containers = du.Containers.map((c) => containerRow({ ...c, SizeRootFs: 0 }, true, now));
  const volumes = du.Volumes.map((v) => ({ Name: v.Name, Links: String(v.UsageData?.RefCount ?? 'N/A'), Size: v.UsageData && v.UsageData.Size !== -1 ? humanSize(v.UsageData.Size) : 'N/A' }));
  // buildCacheSort: in use first, then by last use, newest first.
  const cache = [...(du.BuildCache)].sort((a, b) => (a.InUse !== b.InUse ? (a.InUse ? -1 : 1) : Date.parse(b.LastUsedAt ?? '') - Date.parse(a.LastUsedAt ?? '') || (a.ID < b.ID ? -1 : 1)));
  const cacheRows = cache.map((c) => ({
    ID: c.InUse ? `${c.ID}*` : c.ID,
    CacheType: c.Type,
    Size: humanSizeWithPrecision(c.Size, 3),
    CreatedSince: since(c.CreatedAt, now),
    LastUsedSince: since(c.LastUsedAt, now),
    UsageCount: String(c.UsageCount),
    Shared: String(c.Shared),
  }));
  const opts = { funcs: rowTemplateFuncs };
  return [
    'Images space usage:\n\n',
    formatWithTemplate('table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}', images, imageHeaders, opts),
    '\nContainers space usage:\n\n',
    formatWithTemplate('table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}', containers, containerHeaders, opts),
    '\nLocal Volumes space usage:\n\n',
    formatWithTemplate('table {{.Name}}\t{{.Links}}\t{{.Size}}', volumes, { Name: 'VOLUME NAME', Links: 'LINKS', Size: 'SIZE' }),
    `\nBuild cache usage: ${humanSize(builderSize(du.BuildCache))}\n\n`,
    formatWithTemplate('table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}', cacheRows, {
      ID: 'CACHE ID', CacheType: 'CACHE TYPE', Size: 'SIZE', CreatedSince: 'CREATED', LastUsedSince: 'LAST USED', UsageCount: 'USAGE', Shared: 'SHARED',
    }),
  ].join('');
}

async function runSystemDf(cli: Cli, o: { format?: string; verbose?: boolean }): Promise<void> {
  const du = await cli.client.json<SystemDataUsageResponse>('GET', '/system/df');
  if (o.verbose && !o.format) {
    cli.out.write(verboseTables(du));
    return;
  }
  const format = o.format || 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}';
  cli.out.write(formatWithTemplate(format, summaryRows(du), { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' }));
}

/** docker's confirmationTemplate. */
function pruneWarning(o: { all?: boolean; volumes?: boolean; filter?: Filters }): string {
  const warnings = ['all stopped containers', 'all networks not used by at least one container'];
  if (o.volumes) warnings.push('all anonymous volumes not used by at least one container');
  warnings.push(o.all ? 'all images without at least one container associated to them' : 'all dangling images');
  warnings.push(o.all ? 'all build cache' : 'unused build cache');
  const filters: string[] = [];
  for (const name of ['label', 'label!', 'until']) for (const v of o.filter?.[name] ?? []) filters.push(`${name}=${v}`);
  filters.sort();
  let text = `WARNING! This will remove:\n${warnings.map((w) => `  - ${w}`).join('\n')}\n`;
  if (filters.length) text += `\n  Items to be pruned will be filtered with:\n${filters.map((f) => `  - ${f}`).join('\n')}\n`;
  return `${text}\n`;
}

async function runSystemPrune(cli: Cli, o: { all?: boolean; force?: boolean; volumes?: boolean; filter?: Filters }): Promise<void> {
  const filter = o.filter ?? {};
  if (o.volumes && filter.until) throw new StatusError(1, 'ERROR: The "until" filter is not supported with "--volumes"');
  if (!o.force) {
    cli.out.write(`${pruneWarning(o)}Are you sure you want to continue? [y/N] `);
    const answer = await new Promise<string>((resolve) => {
      cli.in.once('data', (b: Buffer) => resolve(b.toString()));
      cli.in.once('end', () => resolve(''));
    });
    cli.in.pause();
    if (!/^y(es)?$/i.test(answer.trim())) return;
  }
  const q = (f: Filters) => ({ query: { filters: JSON.stringify(f) } });
  let total = 0;
  const c = await cli.client.json<ContainerPruneResponse>('POST', '/containers/prune', q(filter));
  total += c.SpaceReclaimed ?? 0;
  if (c.ContainersDeleted?.length) cli.out.write(`Deleted Containers:\n${c.ContainersDeleted.join('\n')}\n\n`);
  const n = await cli.client.json<NetworkPruneResponse>('POST', '/networks/prune', q(filter));
  if (n.NetworksDeleted?.length) cli.out.write(`Deleted Networks:\n${n.NetworksDeleted.join('\n')}\n\n`);
  if (o.volumes) {
    const v = await cli.client.json<VolumePruneResponse>('POST', '/volumes/prune', q(filter));
    total += v.SpaceReclaimed ?? 0;
    if (v.VolumesDeleted?.length) cli.out.write(`Deleted Volumes:\n${v.VolumesDeleted.join('\n')}\n\n`);
  }
  const i = await cli.client.json<ImagePruneResponse>('POST', '/images/prune', q(o.all ? { ...filter, dangling: ['false'] } : filter));
  total += i.SpaceReclaimed ?? 0;
  if (i.ImagesDeleted?.length) {
    cli.out.write(`Deleted Images:\n${i.ImagesDeleted.map((x) => (x.Untagged ? `untagged: ${x.Untagged}` : `deleted: ${x.Deleted}`)).join('\n')}\n\n`);
  }
  const b = await cli.client.json<BuildCachePruneResponse>('POST', '/build/prune', { query: { filters: JSON.stringify(filter), all: o.all ? '1' : undefined } });
  total += b.SpaceReclaimed ?? 0;
  if (b.CachesDeleted?.length) cli.out.write(`Deleted build cache objects:\n${b.CachesDeleted.join('\n')}\n\n`);
  cli.out.write(`Total reclaimed space: ${humanSize(total)}\n`);
}

export function registerDiskCommands(program: Command, cli: Cli): void {
  const system = defineGroup(program, 'system', 'Manage Docker');
  defineCommand<{ format?: string; verbose?: boolean }>(system, { name: 'df', use: 'df [OPTIONS]', description: 'Show docker disk usage', args: { max: 0 } }, (_args, o) => runSystemDf(cli, o))
    .option('--format <string>', 'Format output using a custom template')
    .option('-v, --verbose', 'Show detailed information on space usage');
  defineCommand<{ all?: boolean; force?: boolean; volumes?: boolean; filter?: Filters }>(system, { name: 'prune', use: 'prune [OPTIONS]', description: 'Remove unused data', args: { max: 0 } }, (_args, o) => runSystemPrune(cli, o))
    .option('-a, --all', 'Remove all unused images not just dangling ones')
    .option('--filter <filter>', 'Provide filter values (e.g. "label=<key>=<value>")', parseFilter)
    .option('-f, --force', 'Do not prompt for confirmation')
    .option('--volumes', 'Prune anonymous volumes');
}
