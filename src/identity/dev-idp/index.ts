// Public face of the built-in development IdP (`server --dev`, `demo`, the tests). It is not re-exported from
// identity/index.ts: oidc-provider takes a fifth of a second to load, and every CLI command imports identity.
export { startDevIdp, type DevIdp, type DevIdpOptions } from './start.js';
export type { DevIdpClient, DevIdpUser } from './directory.js';
