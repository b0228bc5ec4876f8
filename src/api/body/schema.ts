/**
 * @module api/body/schema
 * Decoding a JSON request body the way dockerd's Go structs decode it
 * (encoding/json into moby's api/types), with the field named on error:
 *
 * - a value of the wrong type is a 400 naming its path
 *   (`HostConfig.Memory: must be an integer`), where Go says
 *   `json: cannot unmarshal string into Go struct field …Memory of type int64`;
 * - unknown fields are dropped, as Go ignores them (dockerd does not set
 *   DisallowUnknownFields), so nothing a client made up reaches a record;
 * - keys match fields exactly or else case-insensitively, and a later key
 *   wins, as in Go;
 * - `null` clears a nullable field (slice, map, pointer) and is a no-op on
 *   the others (Go leaves the field at its zero value);
 * - integers are range-checked for their Go type (uint16 rejects -1).
 *
 * A schema is data, so the Docker bodies (./docker.ts) read like the Go types
 * they mirror.
 */
import { invalid } from '../../engine/errors.js';

export type Schema =
  | { kind: 'string' }
  | { kind: 'bool' }
  | { kind: 'int'; min: number; max: number; type: string }
  | { kind: 'number' }
  | { kind: 'array'; of: Schema; length?: number }
  | { kind: 'map'; of: Schema }
  | { kind: 'object'; fields: Record<string, Schema> }
  /** moby's strslice.StrSlice: a string or an array of strings, decoded as an array. */
  | { kind: 'strslice' }
  | { kind: 'nullable'; of: Schema }
  | { kind: 'any' };

export const str: Schema = { kind: 'string' };
export const bool: Schema = { kind: 'bool' };
export const num: Schema = { kind: 'number' };
export const any: Schema = { kind: 'any' };
export const strslice: Schema = { kind: 'nullable', of: { kind: 'strslice' } };

// JavaScript numbers hold int64 and uint64 only approximately; the bounds still refuse what Go would overflow.
export const int64: Schema = { kind: 'int', min: -(2 ** 63), max: 2 ** 63, type: 'int64' };
export const uint64: Schema = { kind: 'int', min: 0, max: 2 ** 64, type: 'uint64' };
export const uint32: Schema = { kind: 'int', min: 0, max: 2 ** 32 - 1, type: 'uint32' };
export const uint16: Schema = { kind: 'int', min: 0, max: 2 ** 16 - 1, type: 'uint16' };
/** Go's int and uint on a 64-bit daemon. */
export const int = int64;
export const uint = uint64;

/** A pointer, slice or map: `null` is a value (nil). */
export const nullable = (of: Schema): Schema => ({ kind: 'nullable', of });
/** A Go slice ([]T): an array or null. */
export const slice = (of: Schema): Schema => nullable({ kind: 'array', of });
/** A Go array ([n]T): Go fills missing elements with zero values and drops extra ones. */
export const fixedArray = (of: Schema, length: number): Schema => ({ kind: 'array', of, length });
/** A Go map[string]T: an object or null. */
export const map = (of: Schema): Schema => nullable({ kind: 'map', of });
/** A Go struct value. */
export const struct = (fields: Record<string, Schema>): Schema => ({ kind: 'object', fields });
/** A pointer to a Go struct. */
export const ptr = (fields: Record<string, Schema>): Schema => nullable(struct(fields));

const NO_VALUE = Symbol('no value');

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'boolean') return 'a boolean';
  return `the number ${String(v)}`;
}

function fail(path: string, want: string, got: unknown): never {
  throw invalid(`invalid JSON: ${path || 'body'}: must be ${want}, not ${jsonType(got)}`);
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** Case-insensitive lookup tables are built once per struct schema. */
const folded = new WeakMap<Record<string, Schema>, Map<string, string>>();

function fieldName(fields: Record<string, Schema>, key: string): string | undefined {
  if (Object.hasOwn(fields, key)) return key;
  let table = folded.get(fields);
  if (!table) {
    table = new Map(Object.keys(fields).map((k) => [k.toLowerCase(), k]));
    folded.set(fields, table);
  }
  return table.get(key.toLowerCase());
}

function decodeValue(schema: Schema, v: unknown, path: string): unknown {
  switch (schema.kind) {
    case 'any':
      return v;
    case 'nullable':
      return v === null ? null : decodeValue(schema.of, v, path);
    case 'string':
      if (v === null) return NO_VALUE;
      if (typeof v !== 'string') fail(path, 'a string', v);
      return v;
    case 'bool':
      if (v === null) return NO_VALUE;
      if (typeof v !== 'boolean') fail(path, 'a boolean', v);
      return v;
    case 'number':
      if (v === null) return NO_VALUE;
      if (typeof v !== 'number') fail(path, 'a number', v);
      return v;
    case 'int':
      if (v === null) return NO_VALUE;
      if (typeof v !== 'number' || !Number.isInteger(v)) fail(path, 'an integer', v);
      if (v < schema.min || v > schema.max) {
        throw invalid(`invalid JSON: ${path}: ${v} is out of range for ${schema.type}`);
      }
      return v;
    case 'strslice':
      if (typeof v === 'string') return [v];
      if (!Array.isArray(v)) fail(path, 'a string or an array of strings', v);
      return v.map((e, i) => {
        if (typeof e !== 'string') fail(`${path}[${i}]`, 'a string', e);
        return e;
      });
    case 'array': {
      if (v === null) return NO_VALUE;
      if (!Array.isArray(v)) fail(path, 'an array', v);
      const n = schema.length ?? v.length;
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) {
        const e = i < v.length ? decodeValue(schema.of, v[i], `${path}[${i}]`) : 0;
        out.push(e === NO_VALUE ? zero(schema.of) : e);
      }
      return out;
    }
    case 'map': {
      if (v === null) return NO_VALUE;
      if (typeof v !== 'object' || Array.isArray(v)) fail(path, 'an object', v);
      const out: Record<string, unknown> = {};
      for (const [k, e] of Object.entries(v as Record<string, unknown>)) {
        const d = decodeValue(schema.of, e, `${path}[${JSON.stringify(k)}]`);
        // defineProperty: a key named __proto__ stays a key (an assignment would set the object's prototype).
        Object.defineProperty(out, k, { value: d === NO_VALUE ? zero(schema.of) : d, enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    case 'object': {
      if (v === null) return NO_VALUE;
      if (typeof v !== 'object' || Array.isArray(v)) fail(path, 'an object', v);
      const out: Record<string, unknown> = {};
      for (const [k, e] of Object.entries(v as Record<string, unknown>)) {
        const name = fieldName(schema.fields, k);
        if (name === undefined) continue;
        const d = decodeValue(schema.fields[name]!, e, join(path, name));
        if (d !== NO_VALUE) out[name] = d;
      }
      return out;
    }
  }
}

/** What a map entry or array element holds when the JSON said null and Go's type cannot be nil. */
function zero(s: Schema): unknown {
  switch (s.kind) {
    case 'string':
      return '';
    case 'bool':
      return false;
    case 'int':
    case 'number':
      return 0;
    case 'object':
    case 'map':
      return {};
    case 'array':
      return s.length ? new Array(s.length).fill(zero(s.of)) : [];
    default:
      return null;
  }
}

/**
 * Decodes a parsed JSON body against a struct schema: the fields the schema
 * knows, type-checked, under their canonical names. `undefined` (no body)
 * stays `undefined`; a body that is not an object is refused.
 */
export function decode<T>(schema: Schema, body: unknown): T | undefined {
  if (body === undefined) return undefined;
  const v = decodeValue(schema, body, '');
  return (v === NO_VALUE ? undefined : v) as T;
}
