/** The berth Engine API client: everything the CLI (or another Node program) needs to talk to berthd. */
export * from './archive.js';
export * from './client.js';
export * from './containers.js';
export * from './errors.js';
export * from './exec.js';
export * from './host.js';
export * from './images.js';
export * from './streams.js';
export * from './system.js';
export * from '../common/api/index.js';
