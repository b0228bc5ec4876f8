// Image reference grammar and Docker Hub normalisation, ported from
// github.com/distribution/reference (regexp.go, reference.go, normalize.go,
// helpers.go) so that names are accepted, rejected and rendered exactly as
// Docker does, down to the error messages.
import { InvalidDigestError, validateDigest } from './digest.js';

/**
 * A parsed image reference. Go models the tagged/digested/both variants as
 * distinct types; here absence of `tag`/`digest` plays that role.
 */
export interface Reference {
  /** "docker.io", "127.0.0.1:5000", "localhost"; "" only from the un-normalised parse(). */
  domain: string;
  /** Remote name, e.g. "library/busybox". */
  path: string;
  tag?: string;
  /** e.g. "sha256:…"; any algorithm go-digest accepts (sha256/sha384/sha512). */
  digest?: string;
}

export class InvalidReferenceError extends Error {
  override name = 'InvalidReferenceError';
}

// ---------------------------------------------------------------------------
// Grammar (regexp.go). Built from the same pieces, in the same order, so the
// patterns can be diffed against upstream. JS backtracking and Go's RE2 both
// use leftmost-first semantics, so the capture groups come out the same.
// ---------------------------------------------------------------------------

/** RepositoryNameTotalLengthMax: limit on the path (not the domain). */
export const REPOSITORY_NAME_TOTAL_LENGTH_MAX = 255;

const ERR_REFERENCE_INVALID_FORMAT = 'invalid reference format';
const ERR_TAG_INVALID_FORMAT = 'invalid tag format';
const ERR_NAME_CONTAINS_UPPERCASE = 'repository name must be lowercase';
const ERR_NAME_EMPTY = 'repository name must have at least one component';
const ERR_NAME_TOO_LONG = `repository name must not be more than ${REPOSITORY_NAME_TOTAL_LENGTH_MAX} characters`;

const optional = (...res: string[]): string => `(?:${res.join('')})?`;
const anyTimes = (...res: string[]): string => `(?:${res.join('')})*`;
const capture = (...res: string[]): string => `(${res.join('')})`;
const anchored = (...res: string[]): string => `^${res.join('')}$`;

const alphanumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const localhost = 'localhost';
const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const optionalPort = '(?::[0-9]+)?';
const tag = '[\\w][\\w.-]{0,127}';
// [[:xdigit:]] is spelled out: JS has no POSIX classes.
const digestPat = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9A-Fa-f]{32,}';
const identifier = '([a-f0-9]{64})';
const ipv6address = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainName = domainNameComponent + anyTimes('\\.', domainNameComponent);
const host = `(?:${domainName}|${ipv6address})`;
const domainAndPort = host + optionalPort;

const pathComponent = alphanumeric + anyTimes(separator + alphanumeric);
const remoteName = pathComponent + anyTimes('/' + pathComponent);
const namePat = optional(domainAndPort + '/') + remoteName;
const anchoredNamePat = anchored(optional(capture(domainAndPort), '/'), capture(remoteName));
const referencePat = anchored(capture(namePat), optional(':', capture(tag)), optional('@', capture(digestPat)));

const referenceRegexp = new RegExp(referencePat);
const anchoredTagRegexp = new RegExp(anchored(tag));
const anchoredDigestRegexp = new RegExp(anchored(digestPat));
const anchoredNameRegexp = new RegExp(anchoredNamePat);
const anchoredIdentifierRegexp = new RegExp(anchored(identifier));

// Image IDs and their unambiguous prefixes, as accepted by `docker image
// inspect 3f5e` or `sha256:3f5e…`. Not part of distribution/reference.
const fullOrShortIdRegexp = /^(?:sha256:)?[a-f0-9]{1,64}$/;

// ---------------------------------------------------------------------------
// Parsing (reference.go)
// ---------------------------------------------------------------------------

/**
 * Port of Go's Parse: validates `s` against the full grammar without any
 * Docker Hub normalisation, so "busybox" stays domain "" / path "busybox".
 * Most callers want parseNormalizedNamed() or parseDockerRef() instead.
 */
export function parse(s: string): Reference {
  if (s === '') {
    throw new InvalidReferenceError(ERR_NAME_EMPTY);
  }
  const matches = referenceRegexp.exec(s);
  if (matches === null) {
    const sl = s.toLowerCase();
    if (sl !== s && referenceRegexp.test(sl)) {
      // Succeeds when lower-casing, so input contains an invalid repository name.
      throw new InvalidReferenceError(ERR_NAME_CONTAINS_UPPERCASE);
    }
    throw new InvalidReferenceError(ERR_REFERENCE_INVALID_FORMAT);
  }
  const name = matches[1] ?? '';
  const nameMatch = anchoredNameRegexp.exec(name);
  const domain = nameMatch?.[1] ?? '';
  const path = nameMatch ? (nameMatch[2] ?? '') : name;

  if (path.length > REPOSITORY_NAME_TOTAL_LENGTH_MAX) {
    throw new InvalidReferenceError(ERR_NAME_TOO_LONG);
  }
  if (path === '') {
    // getBestReferenceType's nil case; unreachable with this grammar, kept
    // for parity.
    throw new InvalidReferenceError(ERR_NAME_EMPTY);
  }

  const ref: Reference = { domain, path };
  const tagMatch = matches[2];
  if (tagMatch !== undefined && tagMatch !== '') {
    ref.tag = tagMatch;
  }
  const digestMatch = matches[3];
  if (digestMatch !== undefined && digestMatch !== '') {
    try {
      validateDigest(digestMatch);
    } catch (err) {
      // Go surfaces go-digest's own error; we keep its message but use one
      // error class so callers have a single thing to catch.
      if (err instanceof InvalidDigestError) {
        throw new InvalidReferenceError(err.message, { cause: err });
      }
      throw err;
    }
    ref.digest = digestMatch;
  }
  return ref;
}

/**
 * WithTag: replaces the tag, keeping any digest (Go returns a reference with
 * both). The name itself is not re-validated, as in Go.
 */
export function withTag(r: Reference, tag: string): Reference {
  if (!anchoredTagRegexp.test(tag)) {
    throw new InvalidReferenceError(ERR_TAG_INVALID_FORMAT);
  }
  const out: Reference = { domain: r.domain, path: r.path, tag };
  if (r.digest !== undefined) {
    out.digest = r.digest;
  }
  return out;
}

/** Name(): domain and path joined, e.g. "docker.io/library/busybox". */
export function repositoryName(r: Reference): string {
  return r.domain === '' ? r.path : `${r.domain}/${r.path}`;
}

/** String(): the full reference, e.g. "docker.io/library/busybox:latest". */
export function referenceString(r: Reference): string {
  return withSuffixes(repositoryName(r), r);
}

function withSuffixes(name: string, r: Reference): string {
  let s = name;
  if (r.tag !== undefined) {
    s += `:${r.tag}`;
  }
  if (r.digest !== undefined) {
    s += `@${r.digest}`;
  }
  return s;
}

// ---------------------------------------------------------------------------
// Normalisation (normalize.go)
// ---------------------------------------------------------------------------

const legacyDefaultDomain = 'index.docker.io';
const defaultDomain = 'docker.io';
const officialRepoPrefix = 'library/';
const defaultTag = 'latest';

/**
 * ParseNormalizedNamed: turns a familiar name from the Docker UI into a fully
 * qualified reference ("busybox" → docker.io/library/busybox). No tag is
 * added; see parseDockerRef for that.
 */
export function parseNormalizedNamed(s: string): Reference {
  if (anchoredIdentifierRegexp.test(s)) {
    throw new InvalidReferenceError(
      `invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`,
    );
  }
  const [domain, remainder] = splitDockerDomain(s);
  // Everything up to the first ':' is the remote name. Like Go, this cut does
  // not account for "@digest", which only matters for which error is reported.
  const tagSep = remainder.indexOf(':');
  const remote = tagSep > -1 ? remainder.slice(0, tagSep) : remainder;
  if (remote.toLowerCase() !== remote) {
    throw new InvalidReferenceError(
      `invalid reference format: repository name (${remote}) must be lowercase`,
    );
  }
  // Go also rejects a result without a name ("reference %s has no name"),
  // which cannot happen once a domain has been prepended.
  return parse(`${domain}/${remainder}`);
}

/**
 * ParseDockerRef: normalises, then adds "latest" when there is neither tag
 * nor digest. With both a tag and a digest the tag is dropped, since the
 * digest is what gets pulled.
 */
export function parseDockerRef(s: string): Reference {
  const named = parseNormalizedNamed(s);
  if (named.tag !== undefined && named.digest !== undefined) {
    return { domain: named.domain, path: named.path, digest: named.digest };
  }
  return tagNameOnly(named);
}

/** TagNameOnly: adds the default tag to a name-only reference. */
function tagNameOnly(r: Reference): Reference {
  if (r.tag === undefined && r.digest === undefined) {
    return withTag(r, defaultTag);
  }
  return r;
}

/**
 * splitDockerDomain: decides whether the first path element is a registry.
 * Only "localhost", something with '.' or ':', or something with uppercase
 * counts; anything else is a Docker Hub namespace.
 */
function splitDockerDomain(name: string): [domain: string, remoteName: string] {
  const slash = name.indexOf('/');
  if (slash === -1) {
    // Single element ("ubuntu", "ubuntu:latest"): must not be mistaken for
    // "host:port". Upstream notes bare "localhost"/"example.com" land here
    // too and become library images; kept for compatibility.
    return [defaultDomain, officialRepoPrefix + name];
  }
  const maybeDomain = name.slice(0, slash);
  const maybeRemoteName = name.slice(slash + 1);

  let domain: string;
  let remoteName: string;
  if (maybeDomain === localhost) {
    domain = maybeDomain;
    remoteName = maybeRemoteName;
  } else if (maybeDomain === legacyDefaultDomain) {
    domain = defaultDomain;
    remoteName = maybeRemoteName;
  } else if (maybeDomain.includes('.') || maybeDomain.includes(':')) {
    domain = maybeDomain;
    remoteName = maybeRemoteName;
  } else if (maybeDomain.toLowerCase() !== maybeDomain) {
    // Uppercase namespaces are not allowed, so assume a domain name.
    domain = maybeDomain;
    remoteName = maybeRemoteName;
  } else {
    domain = defaultDomain;
    remoteName = name;
  }

  if (domain === defaultDomain && !remoteName.includes('/')) {
    // "docker.io/ubuntu" → "docker.io/library/ubuntu", on Docker Hub only.
    remoteName = officialRepoPrefix + remoteName;
  }
  return [domain, remoteName];
}

/** familiarizeName: drops "docker.io/" and, for official images, "library/". */
function familiarize(r: Reference): Reference {
  const out: Reference = { ...r };
  if (out.domain === defaultDomain) {
    out.domain = '';
    if (out.path.startsWith(officialRepoPrefix)) {
      const remainder = out.path.slice(officialRepoPrefix.length);
      // Nested names under library/ keep the prefix, as upstream does.
      if (!remainder.includes('/')) {
        out.path = remainder;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Helpers (helpers.go)
// ---------------------------------------------------------------------------

/** FamiliarName: "busybox", "myuser/app", "127.0.0.1:5000/x". */
export function familiarName(r: Reference): string {
  return repositoryName(familiarize(r));
}

/** FamiliarString: "busybox:latest", "busybox@sha256:…". */
export function familiarString(r: Reference): string {
  return withSuffixes(familiarName(r), r);
}

/** Whether `s` matches the reference grammar's digest production (any algorithm, ≥32 hex). */
export function isDigest(s: string): boolean {
  return anchoredDigestRegexp.test(s);
}

/** 1..64 lowercase hex, optionally "sha256:"-prefixed: an image ID or ID prefix. */
export function isFullOrShortId(s: string): boolean {
  return fullOrShortIdRegexp.test(s);
}

/**
 * A repository path as the distribution spec's `<name>` (no domain, no tag):
 * the registry server's NAME_INVALID check.
 */
export function isRepositoryPath(s: string): boolean {
  return s.length > 0 && s.length <= REPOSITORY_NAME_TOTAL_LENGTH_MAX && remoteNameRegexp.test(s);
}

/** A tag as the distribution spec allows it (`[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`). */
export function isTag(s: string): boolean {
  return anchoredTagRegexp.test(s);
}

const remoteNameRegexp = new RegExp(anchored(remoteName));
