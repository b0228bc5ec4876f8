/**
 * `berth version` and `berth info` (also `berth system info`): the client's
 * and the daemon's versions, and docker-info-style system information.
 */
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { CLIENT_API_VERSION } from '../../client/client.js';
import { serverVersion, systemInfo } from '../../client/system.js';
import type { SystemVersion, SystemInfo } from '../../common/api/index.js';
import { bytesSize } from '../../common/units.js';
import { BERTH_VERSION } from '../../common/version.js';
import { tabwrite } from '../format/table.js';
import { renderTemplate, TemplateError } from '../format/template.js';
import type { Cli } from '../cli.js';
import { defineCommand, defineGroup } from '../command.js';
import { describeError, StatusError } from '../errors.js';
import { ansic } from '../gotime.js';

interface ClientVersion {
  Version: string;
  ApiVersion: string;
  DefaultAPIVersion: string;
  GitCommit: string;
  GoVersion: string;
  Os: string;
  Arch: string;
  BuildTime: string;
  Context: string;
}

function goArch(): string {
  return process.arch === 'x64' ? 'amd64' : process.arch === 'ia32' ? '386' : process.arch;
}

/** The CLI's own build time: when this module was compiled. */
function buildTime(): string {
  try {
    return ansic(statSync(fileURLToPath(import.meta.url)).mtime);
  } catch {
    return '';
  }
}

function clientVersion(apiVersion: string): ClientVersion {
  return {
    Version: BERTH_VERSION,
    ApiVersion: apiVersion,
    DefaultAPIVersion: CLIENT_API_VERSION,
    GitCommit: `berth-${BERTH_VERSION}`,
    GoVersion: `node${process.versions.node}`,
    Os: 'linux',
    Arch: goArch(),
    BuildTime: buildTime(),
    Context: 'default',
  };
}

/** `--format` for version/info: "json" is {{json .}}; template errors exit 64 like docker's. */
function renderFormat(format: string, data: unknown, name: string): string {
  const tmpl = format === 'json' ? '{{json .}}' : format;
  try {
    return renderTemplate(tmpl, data) + '\n';
  } catch (err) {
    if (err instanceof TemplateError) {
      const msg = err.message.replace(/^template: :/, `template: ${name}:`);
      throw new StatusError(msg.includes('executing') ? 1 : 64, `template parsing error: ${msg}`);
    }
    throw err;
  }
}

/** docker's version template, laid out by a tabwriter(minwidth 20, padding 1). */
function prettyVersion(c: ClientVersion, s: SystemVersion | undefined): string {
  const downgraded = c.ApiVersion !== c.DefaultAPIVersion ? ` (downgraded from ${c.DefaultAPIVersion})` : '';
  let text =
    'Client:\n' +
    ` Version:\t${c.Version}\n` +
    ` API version:\t${c.ApiVersion}${downgraded}\n` +
    ` Go version:\t${c.GoVersion}\n` +
    ` Git commit:\t${c.GitCommit}\n` +
    ` Built:\t${c.BuildTime}\n` +
    ` OS/Arch:\t${c.Os}/${c.Arch}\n` +
    ` Context:\t${c.Context}`;
  if (s) {
    text += `\n\nServer:${s.Platform?.Name ? ` ${s.Platform.Name}` : ''}`;
    for (const comp of s.Components ?? []) {
      const d = comp.Details ?? {};
      text += `\n ${comp.Name}:`;
      if (comp.Name === 'Engine') {
        text +=
          `\n  Version:\t${comp.Version}` +
          `\n  API version:\t${d.ApiVersion ?? ''} (minimum version ${d.MinAPIVersion ?? ''})` +
          `\n  Go version:\t${d.GoVersion ?? ''}` +
          `\n  Git commit:\t${d.GitCommit ?? ''}` +
          `\n  Built:\t${d.BuildTime ?? ''}` +
          `\n  OS/Arch:\t${d.Os ?? ''}/${d.Arch ?? ''}` +
          `\n  Experimental:\t${d.Experimental ?? ''}`;
      } else {
        text += `\n  Version:\t${comp.Version}`;
        for (const key of Object.keys(d).sort()) text += `\n  ${key}:\t${d[key]}`;
      }
    }
  }
  return tabwrite(text + '\n', { minwidth: 20, tabwidth: 1, padding: 1, padchar: ' ', flags: 0 });
}

/** The Engine component's BuildTime in ANSIC, as docker's reformatDate does. */
function reformatDate(s: string | undefined): string | undefined {
  if (!s) return s;
  const t = Date.parse(s);
  return Number.isNaN(t) ? s : ansic(new Date(t));
}

async function runVersion(cli: Cli, opts: { format?: string }): Promise<void> {
  let apiVersion = CLIENT_API_VERSION;
  let server: SystemVersion | undefined;
  let failure: unknown;
  try {
    apiVersion = await cli.client.apiVersion();
    server = await serverVersion(cli.client);
    const engine = server.Components?.find((comp) => comp.Name === 'Engine');
    if (engine?.Details) engine.Details.BuildTime = reformatDate(engine.Details.BuildTime) ?? '';
    if (!engine) {
      server.Components = [
        ...(server.Components ?? []),
        {
          Name: 'Engine',
          Version: server.Version,
          Details: {
            ApiVersion: server.ApiVersion,
            MinAPIVersion: server.MinAPIVersion ?? '',
            GitCommit: server.GitCommit ?? '',
            GoVersion: server.GoVersion ?? '',
            Os: server.Os ?? '',
            Arch: server.Arch ?? '',
            BuildTime: reformatDate(server.BuildTime) ?? '',
            Experimental: String(!!server.Experimental),
          },
        },
      ];
    }
  } catch (err) {
    failure = err;
  }
  const client = clientVersion(apiVersion);
  if (opts.format) cli.out.write(renderFormat(opts.format, { Client: client, Server: server ?? null }, 'version'));
  else cli.out.write(prettyVersion(client, server));
  if (failure) throw new StatusError(1, describeError(failure));
}

/** fmt.Println's rendering of the values docker info prints. */
function val(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return `[${v.map(val).join(' ')}]`;
  return String(v);
}

/** docker/cli's prettyPrintServerInfo, for the fields berthd reports. */
function prettyServerInfo(info: SystemInfo, out: string[], warn: string[]): void {
  const line = (label: string, v: unknown) => out.push(`${label} ${val(v)}`);
  const nonEmpty = (label: string, v: unknown) => {
    if (v !== undefined && v !== null && v !== '') line(label, v);
  };
  line(' Containers:', info.Containers ?? 0);
  line('  Running:', info.ContainersRunning ?? 0);
  line('  Paused:', info.ContainersPaused ?? 0);
  line('  Stopped:', info.ContainersStopped ?? 0);
  line(' Images:', info.Images ?? 0);
  nonEmpty(' Server Version:', info.SystemVersion);
  nonEmpty(' Storage Driver:', info.Driver);
  for (const [k, v] of (info.DriverStatus as [string, string][] | null) ?? []) out.push(`  ${k}: ${v}`);
  for (const [k, v] of (info.SystemStatus as [string, string][] | null) ?? []) out.push(` ${k}: ${v}`);
  nonEmpty(' Logging Driver:', info.LoggingDriver);
  nonEmpty(' Cgroup Driver:', info.CgroupDriver);
  nonEmpty(' Cgroup Version:', info.CgroupVersion);
  const plugins = (info.Plugins ?? {}) as Record<string, string[] | null>;
  out.push(' Plugins:');
  line('  Volume:', (plugins.Volume ?? []).join(' '));
  line('  Network:', (plugins.Network ?? []).join(' '));
  if (plugins.Authorization?.length) line('  Authorization:', plugins.Authorization.join(' '));
  line('  Log:', (plugins.Log ?? []).join(' '));
  const cdi = (info.CDISpecDirs as string[] | null) ?? [];
  if (cdi.length) {
    out.push(' CDI spec directories:');
    for (const d of cdi) out.push(`  ${d}`);
  }
  const swarm = (info.Swarm ?? {}) as Record<string, unknown>;
  line(' Swarm:', swarm.LocalNodeState ?? '');
  const runtimes = Object.keys((info.Runtimes as Record<string, unknown> | null) ?? {});
  if (runtimes.length) {
    line(' Runtimes:', runtimes.join(' '));
    line(' Default Runtime:', info.DefaultRuntime);
  }
  if (info.OSType === 'linux') {
    line(' Init Binary:', info.InitBinary);
    line(' containerd version:', (info.ContainerdCommit as { ID?: string } | null)?.ID);
    line(' runc version:', (info.RuncCommit as { ID?: string } | null)?.ID);
    line(' init version:', (info.InitCommit as { ID?: string } | null)?.ID);
    const secOpts = (info.SecurityOptions as string[] | null) ?? [];
    if (secOpts.length) {
      out.push(' Security Options:');
      for (const so of secOpts) {
        // "name=seccomp,profile=builtin"
        const kv = Object.fromEntries(so.split(',').map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]));
        out.push(`  ${kv.name ?? so}`);
        if (kv.profile !== undefined) out.push(`   Profile: ${kv.profile}`);
      }
    }
  }
  nonEmpty(' Kernel Version:', info.KernelVersion);
  nonEmpty(' Operating System:', info.OperatingSystem);
  nonEmpty(' OSType:', info.OSType);
  nonEmpty(' Architecture:', info.Architecture);
  line(' CPUs:', info.NCPU ?? 0);
  line(' Total Memory:', bytesSize(Number(info.MemTotal ?? 0)));
  nonEmpty(' Name:', info.Name);
  nonEmpty(' ID:', info.ID);
  line(' Docker Root Dir:', info.DockerRootDir);
  line(' Debug Mode:', !!info.Debug);
  if (info.Debug) {
    line('  File Descriptors:', info.NFd);
    line('  Goroutines:', info.NGoroutines);
    line('  System Time:', info.SystemTime);
    line('  EventsListeners:', info.NEventsListener);
  }
  nonEmpty(' HTTP Proxy:', info.HttpProxy);
  nonEmpty(' HTTPS Proxy:', info.HttpsProxy);
  nonEmpty(' No Proxy:', info.NoProxy);
  const labels = (info.Labels as string[] | null) ?? [];
  if (labels.length) {
    out.push(' Labels:');
    for (const l of labels) out.push(`  ${l}`);
  }
  line(' Experimental:', !!info.ExperimentalBuild);
  const reg = info.RegistryConfig as { InsecureRegistryCIDRs?: string[] | null; IndexConfigs?: Record<string, { Name: string; Secure: boolean }> | null; Mirrors?: string[] | null } | null;
  const cidrs = reg?.InsecureRegistryCIDRs ?? [];
  const indexes = Object.values(reg?.IndexConfigs ?? {});
  if (reg && (cidrs.length || indexes.length)) {
    out.push(' Insecure Registries:');
    for (const ic of indexes) if (!ic.Secure) out.push(`  ${ic.Name}`);
    for (const c of cidrs) out.push(`  ${c}`);
  }
  if (reg?.Mirrors?.length) {
    out.push(' Registry Mirrors:');
    for (const m of reg.Mirrors) out.push(`  ${m}`);
  }
  line(' Live Restore Enabled:', !!info.LiveRestoreEnabled);
  if (info.ProductLicense) line(' Product License:', info.ProductLicense);
  out.push('');
  for (const w of (info.Warnings as string[] | null) ?? []) warn.push(w);
}

async function runInfo(cli: Cli, opts: { format?: string }): Promise<void> {
  const clientInfo = { Debug: false, ...clientVersion(CLIENT_API_VERSION), Plugins: [], Warnings: null };
  let info: SystemInfo | undefined;
  let failure: unknown;
  try {
    info = await systemInfo(cli.client);
    clientInfo.ApiVersion = await cli.client.apiVersion();
  } catch (err) {
    failure = err;
  }
  if (opts.format) {
    if (failure) cli.err.write(`${describeError(failure)}\n`);
    cli.out.write(renderFormat(opts.format, { ...(info ?? {}), ClientInfo: clientInfo }, 'info'));
    return;
  }
  const out = ['Client:', ` Version:    ${clientInfo.Version}`, ` Context:    ${clientInfo.Context}`, ` Debug Mode: ${clientInfo.Debug}`, '', 'Server:'];
  const warnings: string[] = [];
  if (info) prettyServerInfo(info, out, warnings);
  cli.out.write(out.join('\n') + '\n');
  for (const w of warnings) cli.err.write(`${w}\n`);
  if (failure) throw new StatusError(1, describeError(failure));
}

export function registerSystemCommands(program: Command, cli: Cli): void {
  defineCommand<{ format?: string }>(
    program,
    { name: 'version', use: 'version [OPTIONS]', description: 'Show the berth version information', args: 'none' },
    (_args, opts) => runVersion(cli, opts),
  ).option('-f, --format <string>', 'Format output using a custom template');

  const info = (parent: Command) =>
    defineCommand<{ format?: string }>(
      parent,
      { name: 'info', use: 'info [OPTIONS]', description: 'Display system-wide information', args: 'none' },
      (_args, opts) => runInfo(cli, opts),
    ).option('-f, --format <string>', 'Format output using a custom template');
  info(program);
  info(defineGroup(program, 'system', 'Manage berth'));
}
