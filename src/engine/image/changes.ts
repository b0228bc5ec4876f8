/**
 * Applying Dockerfile-style `--change` instructions (docker import/commit) to
 * an image's run config. Only the instructions Docker allows there:
 * CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR.
 */
import { invalid } from '../errors.js';
import type { ImageRunConfig } from './types.js';

const ALLOWED = new Set(['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'ONBUILD', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR']);

/** The instruction's JSON-array form (`["a", "b"]`), or undefined when it is not one (Docker then reads it as plain text). */
function jsonForm(t: string): string[] | undefined {
  if (!t.startsWith('[')) return undefined;
  try {
    const v = JSON.parse(t) as unknown;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch {
    // not JSON
  }
  return undefined;
}

/** CMD/ENTRYPOINT: the JSON form, else the shell form wrapped in `/bin/sh -c`. */
function commandForm(rest: string): string[] {
  const t = rest.trim();
  return jsonForm(t) ?? ['/bin/sh', '-c', t];
}

/** VOLUME: the JSON form, else whitespace-separated words. */
function listForm(rest: string): string[] {
  const t = rest.trim();
  return jsonForm(t) ?? splitWords(t);
}

/** Splits on whitespace, honouring double and single quotes and backslash escapes. */
export function splitWords(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  let any = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      any = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      any = true;
    } else if (/\s/.test(c)) {
      if (cur || any) out.push(cur);
      cur = '';
      any = false;
    } else {
      cur += c;
    }
  }
  if (cur || any) out.push(cur);
  return out;
}

/** `k=v k2="v 2"` pairs, or the legacy `k v` form. */
function keyValues(rest: string, legacy: boolean): [string, string][] {
  const words = splitWords(rest);
  if (words.length > 0 && !words[0]!.includes('=')) {
    if (!legacy) throw invalid(`LABEL requires key=value pairs`);
    const m = /^\s*(\S+)\s+([\s\S]*)$/.exec(rest);
    if (!m) throw invalid(`ENV must have two arguments`);
    return [[m[1]!, splitWords(m[2]!).join(' ')]];
  }
  return words.map((w) => {
    const i = w.indexOf('=');
    if (i <= 0) throw invalid(`Syntax error - can't find = in "${w}". Must be of the form: name=value`);
    return [w.slice(0, i), w.slice(i + 1)];
  });
}

export function applyChanges(config: ImageRunConfig, changes: string[]): ImageRunConfig {
  const out: ImageRunConfig = { ...config };
  for (const change of changes) {
    const m = /^\s*(\S+)\s*([\s\S]*)$/.exec(change);
    if (!m) continue;
    const keyword = m[1]!.toUpperCase();
    const rest = m[2]!;
    if (!ALLOWED.has(keyword)) throw invalid(`${keyword.toLowerCase()} is not a valid change command`);
    switch (keyword) {
      case 'CMD':
        out.Cmd = commandForm(rest);
        break;
      case 'ENTRYPOINT':
        out.Entrypoint = commandForm(rest);
        break;
      case 'ENV': {
        const env = [...(out.Env ?? [])];
        for (const [k, v] of keyValues(rest, true)) {
          const i = env.findIndex((e) => e.split('=')[0] === k);
          if (i >= 0) env[i] = `${k}=${v}`;
          else env.push(`${k}=${v}`);
        }
        out.Env = env;
        break;
      }
      case 'LABEL':
        out.Labels = { ...(out.Labels ?? {}) };
        for (const [k, v] of keyValues(rest, true)) out.Labels[k] = v;
        break;
      case 'EXPOSE':
        out.ExposedPorts = { ...(out.ExposedPorts ?? {}) };
        for (const p of splitWords(rest)) out.ExposedPorts[p.includes('/') ? p : `${p}/tcp`] = {};
        break;
      case 'VOLUME':
        out.Volumes = { ...(out.Volumes ?? {}) };
        for (const v of listForm(rest)) out.Volumes[v] = {};
        break;
      case 'ONBUILD':
        out.OnBuild = [...(out.OnBuild ?? []), rest.trim()];
        break;
      case 'USER':
        out.User = rest.trim();
        break;
      case 'WORKDIR': {
        const dir = rest.trim();
        out.WorkingDir = dir.startsWith('/') ? dir : `${out.WorkingDir || '/'}/${dir}`.replace(/\/+/g, '/');
        break;
      }
      case 'STOPSIGNAL':
        out.StopSignal = rest.trim();
        break;
    }
  }
  return out;
}
