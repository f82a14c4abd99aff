// Public face of the identity module: OIDC login and token verification on the control plane,
// client credentials on the CLI, claims-to-identity mapping, CI workload tokens from listed issuers. The built-in
// development IdP has its own face, ./dev-idp/index.ts, so that only the code that starts it loads oidc-provider.
export { IdentityError, IdentityErrorCode } from './errors.js';
export { resolveIdentity, type Identity, type IdentityKind, type IdentityMapping, type RoleBinding } from './mapping.js';
export { OidcLogin, type BrowserLoginChecks, type DeviceLogin, type OidcProviderSettings } from './oidc-login.js';
export { clientCredentialsToken, type ClientCredentialsOptions } from './client-credentials.js';
export { isLoopbackHost } from './transport.js';
export { unverifiedIssuer } from './jwt.js';
export { WorkloadIssuers } from './workload.js';
export { identifyWorkload, templateClaims, type WorkloadEntry } from './workload-rules.js';
