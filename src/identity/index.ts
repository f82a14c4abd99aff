// Public face of the identity module: OIDC login and token verification on the control plane,
// client credentials on the CLI, claims-to-identity mapping, CI workload tokens from listed issuers, and the
// built-in development IdP.
export { IdentityError } from './errors.js';
export { resolveIdentity, type Identity, type IdentityKind, type IdentityMapping, type RoleBinding } from './mapping.js';
export { OidcLogin, type DeviceLogin, type OidcProviderSettings } from './oidc-login.js';
export { clientCredentialsToken, type ClientCredentialsOptions } from './client-credentials.js';
export { isLoopbackHost } from './transport.js';
export { unverifiedIssuer } from './jwt.js';
export { WorkloadIssuers } from './workload.js';
export { identifyWorkload, templateClaims, type WorkloadEntry } from './workload-rules.js';
export { startDevIdp, type DevIdp, type DevIdpOptions } from './dev-idp/start.js';
export type { DevIdpClient, DevIdpUser } from './dev-idp/directory.js';
