/**
 * @module common/api
 * Docker's Engine API types, one module per resource, named as the spec
 * (shared/reference/docker-engine-api.yaml) names its definitions. The only
 * vocabulary the CLI, the client and the daemon's compat layer share: the
 * engine keeps these shapes in its records, the handlers send them, the
 * client reads them and the CLI builds them.
 */
export * from './filters.js';
export * from './container.js';
export * from './image.js';
export * from './network.js';
export * from './volume.js';
export * from './exec.js';
export * from './system.js';
export type { PathStat } from '../pathstat.js';
export * from './check.js';
