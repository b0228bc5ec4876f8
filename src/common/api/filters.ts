/**
 * @module common/api/filters
 * The `filters` query parameter of list and prune endpoints: name → values.
 * On the wire it is JSON, `{"name":{"value":true}}` (older clients send
 * `{"name":["value"]}`); both sides hold it as this map.
 */
export type Filters = Record<string, string[]>;
