export { startServer } from './services.js';
export type { RunningServer, ServerOptions } from './services.js';
export { loadConfig, parseConfig, ConfigError } from './config.js';
export type { Config } from './config.js';
export { parseDuration, parseTimeOrAgo, DurationError } from './duration.js';
export { startDevCluster, devDatabasePassword } from './dev/dev-cluster.js';
export type { DevCluster, DevInfo, DevClusterOptions } from './dev/dev-cluster.js';
export { startEmbeddedPostgres, freePort } from './dev/embedded-postgres.js';
export type { RunningPostgres } from './dev/embedded-postgres.js';
