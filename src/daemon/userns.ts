/**
 * `--userns-remap`: which host user's subordinate ID ranges (/etc/subuid,
 * /etc/subgid) containers' IDs are mapped onto, resolved as dockerd's
 * parseRemappedRoot and setupRemappedRoot do. "default" means the user
 * `dockremap`, created (with fresh subordinate ranges) when it is missing.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { IdentityMapping, type Identity } from '../engine/idmap.js';
import { run } from '../util/exec.js';

export const DEFAULT_REMAP_USER = 'dockremap';
/** dockerd's defaults for ranges it creates itself. */
const RANGE_START = 100000;
const RANGE_LENGTH = 65536;

export interface RemappedRoot {
  user: string;
  group: string;
  idMap: IdentityMapping;
}

export interface SubordinateFiles {
  subuid: string;
  subgid: string;
}

const SYSTEM_FILES: SubordinateFiles = { subuid: '/etc/subuid', subgid: '/etc/subgid' };

export class RemapError extends Error {}

interface Entry {
  name: string;
  id: number;
}

/** getent, so that users from any NSS source count, as Go's user lookup falls back to. */
async function getent(db: 'passwd' | 'group', key: string): Promise<Entry | null> {
  const r = await run('getent', [db, key], { allowFailure: true });
  if (r.code !== 0) return null;
  const f = r.stdout.split('\n')[0]!.split(':');
  return { name: f[0]!, id: Number(f[2]) };
}

const isNumeric = (s: string) => /^\d+$/.test(s) && Number(s) <= 0x7fffffff;

/** dockerd's parseRemappedRoot: the user and group names the option stands for. */
async function parseRemappedRoot(spec: string, files: SubordinateFiles): Promise<{ user: string; group: string }> {
  const parts = spec.split(':');
  if (parts.length > 2) throw new RemapError(`Invalid user/group specification in --userns-remap: "${spec}"`);
  const [userPart = '', groupPart] = parts;
  let user: string;
  let group: string | undefined;
  if (isNumeric(userPart)) {
    const u = await getent('passwd', userPart);
    if (!u) throw new RemapError(`Uid ${userPart} has no entry in /etc/passwd`);
    user = u.name;
    if (groupPart === undefined) {
      const g = await getent('group', userPart);
      if (!g) throw new RemapError(`Gid ${userPart} has no entry in /etc/group`);
      group = g.name;
    }
  } else {
    const lookup = userPart === 'default' ? DEFAULT_REMAP_USER : userPart;
    const u = await getent('passwd', lookup);
    if (!u) {
      if (userPart !== 'default') throw new RemapError(`Error during uid lookup for "${lookup}": user: unknown user ${lookup}`);
      await addRemapUser(DEFAULT_REMAP_USER, files);
      return { user: DEFAULT_REMAP_USER, group: DEFAULT_REMAP_USER };
    }
    user = u.name;
    if (groupPart === undefined) {
      const g = await getent('group', lookup);
      if (!g) throw new RemapError(`Error during gid lookup for "${lookup}": group: unknown group ${lookup}`);
      group = g.name;
    }
  }
  if (groupPart !== undefined) {
    const g = await getent('group', groupPart);
    if (!g) {
      throw new RemapError(
        isNumeric(groupPart) ? `Gid ${groupPart} has no entry in /etc/passwd` : `Error during groupname lookup for "${groupPart}": group: unknown group ${groupPart}`,
      );
    }
    group = g.name;
  }
  return { user, group: group! };
}

interface SubRange {
  name: string;
  start: number;
  length: number;
}

async function readSubordinate(file: string): Promise<SubRange[]> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: SubRange[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    const [name, start, length] = t.split(':');
    if (name === undefined || !isNumeric(start ?? '') || !isNumeric(length ?? '')) {
      throw new RemapError(`cannot parse ${file}: invalid line "${t}"`);
    }
    out.push({ name, start: Number(start), length: Number(length) });
  }
  return out;
}

/** Ranges of `user` (by name or uid, as /etc/subuid allows), in file order. */
async function rangesOf(file: string, user: string, uid: number): Promise<{ start: number; length: number }[]> {
  return (await readSubordinate(file)).filter((r) => r.name === user || r.name === String(uid)).map(({ start, length }) => ({ start, length }));
}

/** The first start at or above 100000 whose 65536 IDs overlap no one's range (dockerd's findNextRangeStart). */
async function nextFreeStart(file: string): Promise<number> {
  const all = (await readSubordinate(file)).sort((a, b) => a.start - b.start);
  let start = RANGE_START;
  for (const r of all) {
    if (start < r.start + r.length && r.start < start + RANGE_LENGTH) start = r.start + r.length;
  }
  return start;
}

/** dockerd's AddNamespaceRangesUser: a system user, and subordinate ranges for it (system users get none by default). */
async function addRemapUser(name: string, files: SubordinateFiles): Promise<void> {
  const hasAdduser = (await run('sh', ['-c', 'command -v adduser'], { allowFailure: true })).code === 0;
  const add = hasAdduser
    ? await run('adduser', ['--system', '--shell', '/bin/false', '--no-create-home', '--disabled-login', '--disabled-password', '--group', name], { allowFailure: true })
    : await run('useradd', ['-r', '-s', '/bin/false', name], { allowFailure: true });
  if (add.code !== 0) throw new RemapError(`Error during "${name}" user creation: ${add.stderr.trim() || `exit status ${add.code}`}`);
  const u = await getent('passwd', name);
  if (!u) throw new RemapError(`Error during "${name}" user creation: the new user cannot be found`);
  for (const [file, flag] of [[files.subuid, '-v'], [files.subgid, '-w']] as const) {
    if ((await rangesOf(file, name, u.id)).length > 0) continue;
    // usermod refuses to add ranges to a file that is not there; Debian's login package creates it empty, so do we.
    await fsp.writeFile(file, '', { flag: 'a', mode: 0o644 });
    const start = await nextFreeStart(file);
    const r = await run('usermod', [flag, `${start}-${start + RANGE_LENGTH - 1}`, name], { allowFailure: true });
    if (r.code !== 0) throw new RemapError(`couldn't create subordinate ID ranges: ${r.stderr.trim()}`);
  }
}

/**
 * Resolves `--userns-remap`. Null when remapping is off: remapping root onto
 * itself is no mapping at all (dockerd warns and turns user namespaces off).
 */
export async function setupRemappedRoot(spec: string, files: SubordinateFiles = SYSTEM_FILES): Promise<RemappedRoot | null> {
  const { user, group } = await parseRemappedRoot(spec, files);
  if (user === 'root') return null;
  const u = await getent('passwd', user);
  const uidRanges = await rangesOf(files.subuid, user, u?.id ?? -1);
  if (uidRanges.length === 0) throw new RemapError(`Can't create ID mappings: no subuid ranges found for user "${user}"`);
  // As dockerd's LoadIdentityMapping: /etc/subgid is read for the user too (the group only names the remapped root's group).
  const gidRanges = await rangesOf(files.subgid, user, u?.id ?? -1);
  if (gidRanges.length === 0) throw new RemapError(`Can't create ID mappings: no subgid ranges found for user "${user}"`);
  return { user, group, idMap: IdentityMapping.fromSubordinateRanges(uidRanges, gidRanges) };
}

/**
 * dockerd's setupDaemonRoot under remapping: the data root becomes 0711 so
 * that anyone may pass through it, and everything lives in
 * `<data-root>/<uid>.<gid>` (0710, group of the remapped root). Every
 * directory above must let the remapped root pass, or containers could not
 * start: that is checked here, once, with dockerd's message.
 */
export async function remappedDataRoot(base: string, root: Identity): Promise<string> {
  await fsp.chmod(base, 0o711);
  const dir = path.join(path.resolve(base), `${root.uid}.${root.gid}`);
  await fsp.mkdir(dir, { recursive: true, mode: 0o710 });
  await fsp.chown(dir, 0, root.gid);
  await fsp.chmod(dir, 0o710);
  for (let p = path.dirname(dir); p !== '/'; p = path.dirname(p)) {
    if (!(await canPass(p, root))) {
      throw new RemapError(
        `a subdirectory in your graphroot path (${dir}) restricts access to the remapped root uid/gid; please fix by allowing 'o+x' permissions on existing directories`,
      );
    }
  }
  return dir;
}

/** dockerd's canAccess: search permission for `id` by the other, owner or group bits. */
async function canPass(dir: string, id: Identity): Promise<boolean> {
  const st = await fsp.stat(dir).catch(() => null);
  if (!st) return false;
  const perm = st.mode & 0o777;
  return (perm & 0o001) !== 0 || (st.uid === id.uid && (perm & 0o100) !== 0) || (st.gid === id.gid && (perm & 0o010) !== 0);
}
