// Resolves `docker run -u` against the image's own /etc/passwd and /etc/group,
// reproducing runc's libcontainer/user GetExecUser (which moby's getUser
// calls) down to its error messages and its odd corners.
import { lstat, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { SpecError } from './errors.js';
import type { User } from './types.js';

const MAX_ID = 2147483647; // runc: ids must fit in int32

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/**
 * Join `unsafePath` onto `root`, resolving symlinks as if `root` were "/":
 * an image whose /etc/passwd is a symlink (to ../usr/lib/passwd, or to
 * /etc/passwd of the host) must never make us read outside the rootfs.
 * Missing components are kept lexically, like filepath-securejoin.
 */
export async function resolveInRoot(root: string, unsafePath: string): Promise<string> {
  let pending = unsafePath.split('/').filter((p) => p !== '');
  let done: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const full = path.join(root, ...done, part);
    let isLink = false;
    try {
      isLink = (await lstat(full)).isSymbolicLink();
    } catch {
      // Does not exist (yet): nothing to resolve.
    }
    if (!isLink) {
      done.push(part);
      continue;
    }
    if (++links > 255) throw new SpecError('invalid', `too many levels of symbolic links: ${unsafePath}`);
    const target = await readlink(full);
    if (target.startsWith('/')) done = [];
    pending = [...target.split('/').filter((p) => p !== ''), ...pending];
  }
  return path.join(root, ...done);
}

/** File contents, or null when it cannot be read: runc treats an unopenable file as "no entries". */
async function readOptional(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return null;
  }
}

/** Go's strconv.Atoi, or NaN. parseLine ignores Atoi errors, leaving 0; callers decide. */
function atoi(s: string): number {
  if (!/^[+-]?\d+$/.test(s)) return NaN;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : NaN;
}

function lines(text: string): string[][] {
  return text
    .split('\n')
    .map((l) => l.trim())
    // runc parses comment lines as entries named "#…" with uid 0; skipping them avoids
    // a comment above root shadowing it for the default (uid 0) lookup.
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

function parsePasswd(text: string): PasswdEntry[] {
  return lines(text).map((f) => ({
    name: f[0] ?? '',
    uid: atoi(f[2] ?? '') || 0,
    gid: atoi(f[3] ?? '') || 0,
  }));
}

function parseGroup(text: string): GroupEntry[] {
  return lines(text).map((f) => ({
    name: f[0] ?? '',
    gid: atoi(f[2] ?? '') || 0,
    members: f[3] ? f[3].split(',') : [],
  }));
}

function checkRange(id: number): void {
  if (id < 0 || id > MAX_ID) throw new SpecError('invalid', `uids and gids must be in range 0-${MAX_ID}`);
}

/**
 * Resolve `userSpec` ("", "name", "uid", "name:group", "uid:gid", …) inside
 * `rootfs`. As in moby getUser, additionalGids = [gid, ...supplementary groups],
 * and supplementary groups are only looked up when no group was given.
 */
export async function resolveUser(rootfs: string, userSpec: string): Promise<User> {
  const passwdText = await readOptional(await resolveInRoot(rootfs, '/etc/passwd'));
  const groupText = await readOptional(await resolveInRoot(rootfs, '/etc/group'));

  // Go's parseLine splits on every ':' and keeps the first two fields.
  const [userArg = '', groupArg = ''] = userSpec.split(':');
  const uidArg = atoi(userArg);
  const gidArg = atoi(groupArg);

  let uid = 0;
  let gid = 0;
  let sgids: number[] = [];

  const users = parsePasswd(passwdText ?? '').filter((u) => {
    if (userArg === '') return u.uid === 0; // default user: uid 0
    if (!Number.isNaN(uidArg)) return u.uid === uidArg; // numeric is always a uid
    return u.name === userArg;
  });

  let matchedName = '';
  if (users.length > 0) {
    matchedName = users[0].name; // first match wins
    uid = users[0].uid;
    gid = users[0].gid;
  } else if (userArg !== '') {
    if (Number.isNaN(uidArg)) {
      throw new SpecError('notfound', `unable to find user ${userArg}: no matching entries in passwd file`);
    }
    uid = uidArg;
    checkRange(uid);
  }

  if (groupArg !== '' || matchedName !== '') {
    const groups = parseGroup(groupText ?? '').filter((g) => {
      if (groupArg === '') return g.members.includes(matchedName);
      if (!Number.isNaN(gidArg)) return g.gid === gidArg;
      return g.name === groupArg;
    });
    if (groupArg !== '') {
      if (groups.length > 0) {
        gid = groups[0].gid;
      } else {
        if (Number.isNaN(gidArg)) {
          throw new SpecError('notfound', `unable to find group ${groupArg}: no matching entries in group file`);
        }
        gid = gidArg;
        checkRange(gid);
      }
    } else {
      sgids = groups.map((g) => g.gid);
    }
  }

  return { uid, gid, additionalGids: [gid, ...sgids] };
}
