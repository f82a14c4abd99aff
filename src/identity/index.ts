// Public face of the identity module: OIDC login and token verification on the control plane,
// client credentials on the CLI, claims-to-identity mapping, and the built-in development IdP.
export { IdentityError } from './errors.js';
export { resolveIdentity, type Identity, type IdentityKind, type IdentityMapping, type RoleBinding } from './mapping.js';
export { OidcLogin, type DeviceLogin, type OidcProviderSettings } from './oidc-login.js';
export { clientCredentialsToken, type ClientCredentialsOptions } from './client-credentials.js';
export { isLoopbackHost } from './transport.js';
export { startDevIdp, type DevIdp, type DevIdpOptions } from './dev-idp/start.js';
export type { DevIdpClient, DevIdpUser } from './dev-idp/directory.js';
